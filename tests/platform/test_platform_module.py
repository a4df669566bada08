"""platform/ holds the configuration but must never shadow the standard library's module."""

import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx

from tests.support.processes import ROOT, process_env

STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def _is_stdlib(path: str) -> bool:
    return Path(path).resolve().parent == STDLIB


def test_pytest_process_gets_the_standard_library():
    assert _is_stdlib(platform.__file__)


def test_python_from_the_repository_root_gets_the_standard_library():
    out = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.__file__)"],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert _is_stdlib(out.stdout.strip())


def test_manage_py_gets_the_standard_library():
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "import platform; print(platform.__file__)"],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert _is_stdlib(out.stdout.strip().splitlines()[-1])


def test_asgi_server_runs_with_the_standard_library(asgi_server):
    # uvicorn and sentry-sdk call platform.* while starting; a shadowing package would crash it.
    assert httpx.get(f"{asgi_server.url}/healthz").json() == {"status": "ok"}


def test_celery_worker_runs_with_the_standard_library(celery_worker, live_db):
    from loupe.celery import app

    answer = app.send_task("workers.system.ping").get(timeout=30)
    assert answer["python"] == platform.python_version()
    assert answer["node"] == platform.node()
