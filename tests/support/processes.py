"""The real processes a user runs, started for the tests: the ASGI server and a Celery worker."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def process_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT / 'platform'}{os.pathsep}{ROOT}"
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningProcess:
    process: subprocess.Popen
    log_path: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def asgi_server(
    log_path: Path,
    *,
    app: str = "loupe.asgi:application",
    env: dict | None = None,
    port: int | None = None,
) -> Iterator[RunningProcess]:
    """uvicorn serving `app` (the API's; `loupe.serving_asgi:application`, the predict
    server's) on `port` (a free one when None), ready once its /healthz answers."""
    port = port or free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                str(BIN / "uvicorn"),
                "--app-dir",
                "platform",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=process_env() | (env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = RunningProcess(process, log_path, port)
    try:
        _wait_until(lambda: _answers(f"{running.url}/healthz"), process, log_path, "ASGI server")
        yield running
    finally:
        _stop(process)


@contextmanager
def celery_worker(
    log_path: Path,
    *,
    queues: str = "default,index,gpu",
    name: str = "celery@%h",
    env: dict | None = None,
    pool: str = "solo",
    concurrency: int = 1,
) -> Iterator[RunningProcess]:
    """A worker in a process group of its own, so a test can kill it with its pool."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "loupe.celery",
                "worker",
                "-n",
                name,
                "-Q",
                queues,
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=process_env() | (env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = RunningProcess(process, log_path)
    try:
        _wait_until(lambda: "ready." in running.log_text(), process, log_path, "Celery worker")
        yield running
    finally:
        _stop(process)


@contextmanager
def celery_beat(log_path: Path, schedule_dir: Path) -> Iterator[RunningProcess]:
    """Celery beat, as deployed beside the workers: it sends the periodic sweeps."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "loupe.celery",
                "beat",
                "--schedule",
                str(schedule_dir / "celerybeat-schedule"),
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=process_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = RunningProcess(process, log_path)
    try:
        _wait_until(lambda: "beat: Starting" in running.log_text(), process, log_path, "beat")
        yield running
    finally:
        _stop(process)


def pool_children(pid: int) -> list[int]:
    """The process ids of a prefork worker's pool processes."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def kill_process_group(process: subprocess.Popen) -> None:
    """SIGKILL a process started in a session of its own, with every child it has."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until(ready, process, log_path: Path, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(
                f"{what} did not start:\n{log_path.read_text(errors='replace')[-3000:]}"
            )
        time.sleep(0.2)


def services(command: str) -> None:
    """Run `scripts/services.sh <command>` (replica-stop, replica-start, ...)."""
    subprocess.run(
        [str(ROOT / "scripts" / "services.sh"), command],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def consume(queue: str, *, worker: str, on: bool) -> None:
    """Make a running worker start (or stop) consuming `queue`, and wait for its answer. A
    solo worker reads control messages only between tasks, and drops one whose expiry (the
    call's timeout) passed meanwhile: with a short one, a worker busy draining an outbox would
    never take its queue back, and every later test that needs it would wait in vain."""
    from loupe.celery import app

    command = app.control.add_consumer if on else app.control.cancel_consumer
    with app.connection() as connection:  # a new one: a pooled one may predate a restart
        replies = command(
            queue, destination=[worker], reply=True, timeout=120, connection=connection
        )
    assert replies, f"{worker} did not answer {command.__name__}({queue!r})"


def wait_until_answering(worker: str, timeout: float = 60.0) -> None:
    """Until a running worker answers a ping: after a broker restart, it has connected again
    (a control message sent before that would be lost)."""
    from loupe.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OperationalError, RedisError), app.connection() as connection:
            if app.control.ping(destination=[worker], timeout=1.0, connection=connection):
                return
        time.sleep(0.2)
    raise AssertionError(f"{worker} did not answer a ping within {timeout:.0f} s")
