"""A benchmark's own database (`<name>_bench`), recreated on each run, then Django."""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PRIMARY = "postgres://loupe@127.0.0.1:55432/loupe"
DEFAULT_REPLICA = "postgres://loupe@127.0.0.1:55433/loupe"
_held_lock = []


def _bench_url(url: str) -> str:
    """`<name>_bench`; a process a bench started inherits that name already."""
    parts = urlsplit(url)
    path = parts.path or "/loupe"
    return urlunsplit(parts._replace(path=path if path.endswith("_bench") else f"{path}_bench"))


def bench_django(*, recreate: bool = True) -> None:
    """Point Django at a fresh bench database (seen on the replica), migrate it, set up;
    with `recreate=False`, at the one a running bench made."""
    sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
    os.environ["DATABASE_URL"] = _bench_url(os.environ.get("DATABASE_URL", DEFAULT_PRIMARY))
    os.environ["DATABASE_REPLICA_URL"] = _bench_url(
        os.environ.get("DATABASE_REPLICA_URL", DEFAULT_REPLICA)
    )
    # Its own Redis database and index names, so no running worker picks up its tasks.
    redis = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:56379/0"))
    os.environ["REDIS_URL"] = urlunsplit(redis._replace(path="/15"))  # tests take 1 to 10
    os.environ["ELASTICSEARCH_INDEX_PREFIX"] = "loupe-bench"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupe.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Benches sign their tokens with the development issuer, as `make run` does.
    os.environ["DEV_ISSUER_ENABLED"] = "true"
    os.environ["DEV_ISSUER_ALLOW_WITHOUT_DEBUG"] = "true"
    import django

    django.setup()
    if not recreate:
        return
    _wait_for_other_benches()
    from django.conf import settings

    from tests.support import database

    name = settings.DATABASES["default"]["NAME"]
    database.recreate(name)
    from django.core.management import call_command

    call_command("bootstrap", verbosity=0)
    # The database is new; so must the bench's indexes be.
    from search.client import elasticsearch_client

    client = elasticsearch_client()
    for index in client.indices.get(index="loupe-bench-*", expand_wildcards="all"):
        client.indices.delete(index=index)


def _wait_for_other_benches() -> None:
    """One bench at a time recreates the bench database: a second would drop it under the
    first. The lock is held as long as the process."""
    handle = open(os.path.join(tempfile.gettempdir(), "loupe-bench.lock"), "w")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("[bench] waiting for another bench run to finish", file=sys.stderr, flush=True)
        fcntl.flock(handle, fcntl.LOCK_EX)
    _held_lock.append(handle)
