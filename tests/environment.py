"""The test run's own corner of the services, fixed before Django reads its settings.

Loaded as a pytest plugin (`-p tests.environment` in pyproject.toml) so that it runs before
pytest-django imports the settings. Tests use their own database (`<name>_test`, created
afresh on the primary and seen on the replica through replication), their own Redis database
and key prefix, and their own Elasticsearch index prefix; the servers and workers the tests
start inherit this environment.
"""

import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PRIMARY = "postgres://loupe@127.0.0.1:55432/loupe"
DEFAULT_REPLICA = "postgres://loupe@127.0.0.1:55433/loupe"
DEFAULT_REDIS = "redis://127.0.0.1:56379/0"
TEST_REDIS_DB = "1"


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def _test_database(url: str) -> str:
    name = urlsplit(url).path.lstrip("/") or "loupe"
    return _with_path(url, f"/{name}_test")


os.environ["DATABASE_URL"] = _test_database(os.environ.get("DATABASE_URL", DEFAULT_PRIMARY))
os.environ["DATABASE_REPLICA_URL"] = _test_database(
    os.environ.get("DATABASE_REPLICA_URL", DEFAULT_REPLICA)
)
os.environ["REDIS_URL"] = _with_path(
    os.environ.get("REDIS_URL", DEFAULT_REDIS), f"/{TEST_REDIS_DB}"
)
os.environ["REDIS_KEY_PREFIX"] = "loupe-test"
os.environ["ELASTICSEARCH_INDEX_PREFIX"] = "loupe-test"
# Checked often, so tests about lag and failover need not wait long.
os.environ.setdefault("REPLICA_CHECK_INTERVAL_SECONDS", "0.2")
os.environ.setdefault("REPLICA_RETRY_SECONDS", "0.2")
os.environ.setdefault("DEBUG", "false")
# Lost workers are noticed in seconds, not a minute; one image decoder per training run.
os.environ.setdefault("JOB_HEARTBEAT_SECONDS", "1")
os.environ.setdefault("JOB_HEARTBEAT_TIMEOUT_SECONDS", "6")
os.environ.setdefault("JOB_SWEEP_SECONDS", "2")
os.environ.setdefault("TRAINING_LOADER_WORKERS", "1")
# Checkpoints inside epochs too, so a resume after a kill starts mid-epoch.
os.environ.setdefault("TRAINING_CHECKPOINT_SECONDS", "1")
