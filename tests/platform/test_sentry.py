"""Sentry is initialised from SENTRY_DSN, with the Django, Celery and Redis integrations."""

import json
import subprocess
import sys

from tests.support.processes import ROOT, process_env

PROBE = (
    "import json, sentry_sdk; c = sentry_sdk.get_client(); "
    "print(json.dumps({'active': c.is_active(), 'integrations': sorted(c.integrations)}))"
)


def _sentry_state(dsn: str | None) -> dict:
    env = process_env()
    env.pop("SENTRY_DSN", None)
    if dsn:
        env["SENTRY_DSN"] = dsn
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sentry_is_off_without_a_dsn():
    assert _sentry_state(None)["active"] is False


def test_sentry_is_on_with_django_celery_and_redis_integrations_given_a_dsn():
    state = _sentry_state("http://public@127.0.0.1:9/1")
    assert state["active"] is True
    assert {"django", "celery", "redis"} <= set(state["integrations"])
