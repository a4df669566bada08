"""A real HTTP endpoint in the test process, where the workers' webhook deliveries arrive:
it keeps every request and answers each with the next status it was told to (200 after),
holds its answer back while a test kills the worker that is waiting for it, or trickles it
out a byte a second."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival


class Receiver:
    def __init__(self):
        self._requests: list[Received] = []
        self._answers: dict[str, list[int]] = {}
        self._held: dict[str, threading.Event] = {}
        self._trickled: dict[str, int] = {}
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._arrive(
                    Received(self.path, dict(self.headers.items()), body, time.monotonic())
                )
                if held := receiver._held.get(self.path.split("?")[0]):
                    held.wait(timeout=60)
                if receiver._trickles(self.path.split("?")[0]):
                    self._trickle()
                    return
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def _trickle(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "60")
                self.end_headers()
                try:
                    for _ in range(60):
                        self.wfile.write(b".")
                        self.wfile.flush()
                        time.sleep(1)
                except OSError:  # the sender hung up
                    pass

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def answer(self, path: str, *statuses: int) -> None:
        """Answer the next requests to `path` with these statuses, in turn."""
        with self._arrived:
            self._answers.setdefault(path, []).extend(statuses)

    def trickle(self, path: str, count: int = 1) -> None:
        """Answer the next `count` requests to `path` a byte a second, for a minute."""
        with self._arrived:
            self._trickled[path] = self._trickled.get(path, 0) + count

    def _trickles(self, path: str) -> bool:
        with self._arrived:
            if self._trickled.get(path, 0) > 0:
                self._trickled[path] -= 1
                return True
            return False

    def hold(self, path: str) -> threading.Event:
        """Answer requests to `path` only once the returned event is set."""
        self._held[path] = threading.Event()
        return self._held[path]

    def stop(self) -> None:
        for held in self._held.values():
            held.set()
        self._server.shutdown()
        self._server.server_close()

    def _arrive(self, request: Received) -> int:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()
            answers = self._answers.get(request.path.split("?")[0]) or []
            return answers.pop(0) if answers else 200

    def wait_for(self, path: str, count: int = 1, timeout: float = 60.0) -> list[Received]:
        """The first `count` requests to `path`, once they have arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(got := self.received(path)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(got)} of {count} requests to {path} arrived")
                self._arrived.wait(left)
            return got[:count]

    def received(self, path: str) -> list[Received]:
        with self._arrived:
            return [r for r in self._requests if r.path.split("?")[0] == path]
