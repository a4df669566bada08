"""`make run` as a user runs it (scripts/run.sh): it keeps serving when one of its workers
dies, and starts another in its place, as a container's restart policy would."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ROOT, free_port, kill_process_group, process_env


def _celery(run: subprocess.Popen, command: str) -> list[int]:
    """The main processes of `run`'s Celery processes whose command line goes on with
    `command` (`worker -n default@`, `beat`): those of its session, not the test run's own."""
    found = subprocess.run(
        ["pgrep", "-s", str(run.pid), "-f", f"celery -A loupe.celery {command}"],
        capture_output=True,
        text=True,
    )
    ours = {int(pid) for pid in found.stdout.split()}
    # Not its pool's processes, which the main one forked (same command line).
    return sorted(pid for pid in ours if _parent(pid) not in ours)


def _read(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_text(errors="replace")
    except OSError:
        return ""


def _parent(pid: int) -> int:
    stat = _read(pid, "stat")
    return int(stat.rsplit(")", 1)[1].split()[1]) if stat else 0


def _wait(predicate, what: str, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s")


@pytest.fixture
def make_run(live_db, tmp_path):
    port, serving_port = free_port(), free_port()
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 (the process writes it to the end)
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "run.sh")],
        cwd=ROOT,
        env=process_env() | {"PORT": str(port), "SERVING_PORT": str(serving_port)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait(lambda: b"Loupe is running" in (tmp_path / "run.log").read_bytes(), "started")
        yield process, f"http://127.0.0.1:{port}", tmp_path / "run.log"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_process_group(process)
        log.close()


def test_make_run_keeps_serving_when_its_worker_dies_and_starts_another(make_run):
    run, url, log = make_run
    (worker,) = _wait(lambda: _celery(run, "worker -n default@"), "the default worker started")
    os.kill(worker, signal.SIGKILL)

    _wait(lambda: b"default worker exited; restarting" in log.read_bytes(), "noticed")
    (heir,) = _wait(
        lambda: [pid for pid in _celery(run, "worker -n default@") if pid != worker], "a new worker"
    )
    assert heir != worker
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    assert len(_celery(run, "beat")) == 1  # nothing the killed worker ran is left behind
