"""The test run's own corner of the services, fixed before Django reads its settings.

Loaded as a pytest plugin (`-p tests.environment` in pyproject.toml) so that it runs before
pytest-django imports the settings. Tests use their own database (`<name>_test`, created
afresh on the primary and seen on the replica through replication), their own Redis database
and key prefix, and their own Elasticsearch index prefix; the servers and workers the tests
start inherit this environment.
"""

import fcntl
import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PRIMARY = "postgres://loupe@127.0.0.1:55432/loupe"
DEFAULT_REPLICA = "postgres://loupe@127.0.0.1:55433/loupe"
DEFAULT_REDIS = "redis://127.0.0.1:56379/0"
SLOTS = 10
_held_slot = []


def _claim(slot: int) -> bool:
    """Take the slot's lock, held as long as the run; False when another run holds it."""
    path = os.path.join(tempfile.gettempdir(), f"loupe-test-slot-{slot}.lock")
    handle = open(path, "w")  # noqa: SIM115 (held open, and locked, as long as the run)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    _held_slot.append(handle)
    return True


def _slot() -> int:
    """Test runs sharing one set of services each take a slot of their own: its database,
    its Redis database (the broker's queues with it), its key and index prefixes. A run takes
    the first slot no other run holds, or the one LOUPE_TEST_SLOT names if no other run holds
    it (two runs in one slot would drop each other's database); the servers and workers it
    starts inherit it. pytest-xdist's workers inherit the slot of the run that starts them,
    so each takes a free one of its own."""
    if "LOUPE_TEST_SLOT" in os.environ and "PYTEST_XDIST_WORKER" not in os.environ:
        slot = int(os.environ["LOUPE_TEST_SLOT"])
        if not 0 <= slot < SLOTS:
            raise ValueError(f"LOUPE_TEST_SLOT must be 0 to {SLOTS - 1}, got {slot}")
        if not _claim(slot):
            raise RuntimeError(
                f"test slot {slot} is held by another test run: set LOUPE_TEST_SLOT to "
                f"another (0 to {SLOTS - 1}), or leave it unset to take a free one"
            )
        return slot
    for slot in range(SLOTS):
        if _claim(slot):
            os.environ["LOUPE_TEST_SLOT"] = str(slot)
            return slot
    raise RuntimeError(f"{SLOTS} test runs share these services already")


SLOT = _slot()
SUFFIX = str(SLOT) if SLOT else ""
TEST_REDIS_DB = str(1 + SLOT)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def _given(name: str, default: str) -> str:
    """The service URL the run was given. The first process keeps it as LOUPE_GIVEN_<name>:
    pytest-xdist's workers inherit the test URL it made, and make theirs from the given one."""
    return os.environ.setdefault(f"LOUPE_GIVEN_{name}", os.environ.get(name, default))


def _test_database(url: str) -> str:
    name = urlsplit(url).path.lstrip("/") or "loupe"
    return _with_path(url, f"/{name}_test{SUFFIX}")


os.environ["DATABASE_URL"] = _test_database(_given("DATABASE_URL", DEFAULT_PRIMARY))
os.environ["DATABASE_REPLICA_URL"] = _test_database(_given("DATABASE_REPLICA_URL", DEFAULT_REPLICA))
os.environ["REDIS_URL"] = _with_path(_given("REDIS_URL", DEFAULT_REDIS), f"/{TEST_REDIS_DB}")
os.environ["REDIS_KEY_PREFIX"] = f"loupe-test{SUFFIX}"
os.environ["ELASTICSEARCH_INDEX_PREFIX"] = f"loupe-test{SUFFIX}"
# Checked often, so tests about lag and failover need not wait long.
os.environ.setdefault("REPLICA_CHECK_INTERVAL_SECONDS", "0.2")
os.environ.setdefault("REPLICA_RETRY_SECONDS", "0.2")
os.environ.setdefault("DEBUG", "false")
# The suite signs its tokens with the development issuer, and runs with DEBUG off as deployed.
os.environ["DEV_ISSUER_ENABLED"] = "true"
os.environ["DEV_ISSUER_ALLOW_WITHOUT_DEBUG"] = "true"
# The servers the tests start read X-Forwarded-For as `make run` and compose do: in Loupe alone
# (TRUSTED_PROXIES), with uvicorn's own proxy headers off.
os.environ["UVICORN_PROXY_HEADERS"] = "false"
# Lost workers are noticed in seconds, not a minute; one image decoder per training run.
os.environ.setdefault("JOB_HEARTBEAT_SECONDS", "1")
os.environ.setdefault("JOB_HEARTBEAT_TIMEOUT_SECONDS", "6")
os.environ.setdefault("JOB_SWEEP_SECONDS", "2")
os.environ.setdefault("SEARCH_SWEEP_SECONDS", "2")
os.environ.setdefault("TRAINING_LOADER_WORKERS", "1")
# Checkpoints inside epochs too, so a resume after a kill starts mid-epoch.
os.environ.setdefault("TRAINING_CHECKPOINT_SECONDS", "1")
# Inference in chunks of 100 rows: the digits take 18, so a kill lands between two of them.
os.environ.setdefault("INFERENCE_CHUNK_ROWS", "100")
# Mail goes to the run's own SMTP server in the test process (tests/support/mailbox.py).
MAIL_PORT = 58025 + SLOT
os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{MAIL_PORT}"
# Webhooks may reach the tests' own receivers on loopback, and retry within seconds.
os.environ.setdefault("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
os.environ.setdefault("WEBHOOK_RETRY_SECONDS", "1")
os.environ.setdefault("WEBHOOK_MAX_ATTEMPTS", "3")
os.environ.setdefault("WEBHOOK_DISABLE_AFTER_FAILURES", "2")
os.environ.setdefault("WEBHOOK_TIMEOUT_SECONDS", "5")
os.environ.setdefault("WEBHOOK_SWEEP_SECONDS", "10")
