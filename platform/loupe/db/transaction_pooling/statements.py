"""What a statement asks of its database connection, read from its leading words.

Behind a transaction-pooling PgBouncer a client holds a server connection only for the length
of a transaction, so each statement falls in one of four kinds: transaction control (passed
as it is), one Postgres refuses to run in a transaction block (CREATE DATABASE, VACUUM,
CREATE INDEX CONCURRENTLY...), one that leaves state in the server session for later
transactions to find (session advisory locks, temporary tables kept past commit, a session
SET of the search path, LISTEN...), and every other, which runs in a transaction carrying the
tenant's search path.
"""

from __future__ import annotations

import re

# Comments and blank space before the first word.
_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)

_TRANSACTION_CONTROL = re.compile(
    r"(?:BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION)\b",
    re.IGNORECASE,
)
# Control that keeps what SET LOCAL set: a savepoint taken or released.
_KEEPS_LOCAL_SETTINGS = re.compile(r"(?:SAVEPOINT|RELEASE)\b", re.IGNORECASE)

# Postgres runs these only outside a transaction block.
_OUTSIDE_TRANSACTION = re.compile(
    r"""(?:
        (?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE)\b
      | ALTER\s+SYSTEM\b
      | VACUUM\b
      | CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b
      | DROP\s+INDEX\s+CONCURRENTLY\b
      | REINDEX\b.*\bCONCURRENTLY\b
      | REINDEX\s+(?:\(.*?\)\s*)?(?:SYSTEM|DATABASE)\b
      | (?:CREATE|DROP)\s+SUBSCRIPTION\b
      | DISCARD\s+ALL\b
      | CLUSTER\s*;?\s*\Z
    )""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)

# State a later transaction would look for on the same server session.
_SESSION_LOCK = re.compile(
    r"\bpg_(?:try_)?advisory_(?:lock|unlock)(?:_shared|_all)?\s*\(", re.IGNORECASE
)
_TEMPORARY_TABLE = re.compile(
    r"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?TEMP(?:ORARY)?\s+TABLE\b", re.IGNORECASE
)
# A temporary table emptied or dropped at commit leaves nothing a later transaction needs.
_ENDS_WITH_TRANSACTION = re.compile(r"\bON\s+COMMIT\s+(?:DROP|DELETE\s+ROWS)\b", re.IGNORECASE)
_SESSION_STATEMENT = re.compile(
    r"""(?:
        SET\s+(?:SESSION\s+)?(?:search_path|schema|role|session\s+authorization)\b
      | (?:LISTEN|UNLISTEN)\b
      | PREPARE\s+(?!TRANSACTION\b)
      | DECLARE\b.*\bWITH\s+HOLD\b
    )""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
_SESSION_SEARCH_PATH = re.compile(
    r"\bset_config\s*\(\s*'search_path'.*?,\s*false\s*\)", re.IGNORECASE | re.DOTALL
)


def _body(sql: str) -> str:
    return sql[_LEADING_NOISE.match(sql).end() :]


def is_transaction_control(sql: str) -> bool:
    return _TRANSACTION_CONTROL.match(_body(sql)) is not None


def keeps_local_settings(sql: str) -> bool:
    """Whether a transaction-control statement leaves SET LOCAL's value in force."""
    return _KEEPS_LOCAL_SETTINGS.match(_body(sql)) is not None


def runs_outside_transaction(sql: str) -> bool:
    return _OUTSIDE_TRANSACTION.match(_body(sql)) is not None


def keeps_session_state(sql: str) -> bool:
    """Whether the statement leaves, or reaches for, state of the server session that outlives
    its transaction: through transaction pooling a later transaction would find it on another
    client's connection, or not at all."""
    body = _body(sql)
    if _SESSION_STATEMENT.match(body):
        return True
    if _TEMPORARY_TABLE.match(body) and not _ENDS_WITH_TRANSACTION.search(body):
        return True
    return bool(_SESSION_LOCK.search(body) or _SESSION_SEARCH_PATH.search(body))
