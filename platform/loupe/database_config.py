"""The databases' settings: the primary and the replica, straight, pooled in the web process,
or behind a transaction-pooling PgBouncer. settings.py imports them."""

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from loupe.env import env_int, env_str

# "transaction": DATABASE_URL and DATABASE_REPLICA_URL name a PgBouncer in transaction pooling
# mode, and every transaction carries the tenant's search path itself (docs/pooling.md).
# Empty: connections go straight to Postgres (or through a session-mode pool).
DB_POOLING = env_str("DB_POOLING", "")
if DB_POOLING not in ("", "transaction"):
    raise ImproperlyConfigured(f"DB_POOLING must be empty or 'transaction', got {DB_POOLING!r}")
# With DB_POOLING=transaction: host:port of the primary itself, or of a session-mode pool in
# front of it, where a connection goes for the rest of its life once it needs a session of its
# own (a job's lease, the template's migrate lock, an import's temporary table). Same database,
# user and password as DATABASE_URL. Empty: such statements are refused.
DB_SESSION_ADDRESS = env_str("DB_SESSION_ADDRESS", "")


def database(url: str, *, session_address: str = "") -> dict:
    pool_size = env_int("DB_POOL_SIZE", 0, minimum=0)
    config = dj_database_url.parse(
        url,
        conn_max_age=0 if pool_size else env_int("DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
    config["ENGINE"] = "django_tenants.postgresql_backend"
    connect_timeout = env_int("DB_CONNECT_TIMEOUT", 2)
    config["OPTIONS"] = {"connect_timeout": connect_timeout}
    if pool_size:
        # The web server runs each request's sync code on a thread of its own, so a
        # persistent connection would never serve the next request: its processes take
        # connections from a pool instead (loupe.asgi sets the size), waiting no longer for a
        # free one than for a new one.
        config["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": pool_size,
            "timeout": connect_timeout,
        }
    if DB_POOLING == "transaction":
        config["ENGINE"] = "loupe.db.transaction_pooling"
        # A named cursor lives in the server session, which transaction pooling does not keep.
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        config["SESSION_ADDRESS"] = session_address
    return config


DATABASES = {
    "default": database(
        env_str("DATABASE_URL", "postgres://loupe@127.0.0.1:55432/loupe"),
        session_address=DB_SESSION_ADDRESS,
    ),
    "replica": database(env_str("DATABASE_REPLICA_URL", "postgres://loupe@127.0.0.1:55433/loupe")),
}
