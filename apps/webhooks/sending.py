"""One attempt of a delivery over HTTP: POST the body to the checked address, and say how
the receiver answered. No redirect is followed (a 3xx is a failed attempt), only the first
bytes of the answer are read, and the whole attempt ends by its deadline: a receiver that
answers a byte at a time is cut off, not waited on."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from apps.webhooks.addresses import Target

ANSWER_BYTES = 1024


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer at all (refused, timed out, reset)
    body: str
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to the target's checked address, with the target's host in the Host header
    and, over https, in the TLS handshake and the certificate check; all of it within
    `timeout` seconds."""
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    host_header = host if target.port == default_port else f"{host}:{target.port}"
    if target.scheme == "https":
        connection = HTTPSConnection(
            target.address,
            target.port,
            timeout=timeout,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        connection = HTTPConnection(target.address, target.port, timeout=timeout)
    started, opened = time.perf_counter(), []
    deadline = threading.Timer(timeout, _cut, args=(opened,))
    deadline.start()
    try:
        connection.connect()
        opened.append(connection.sock)
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            preload_content=False,
        )
        response = connection.getresponse()
        answer = response.read(ANSWER_BYTES)
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        late = time.perf_counter() - started >= timeout
        error = f"no answer within {timeout:g} s" if late else _why(exc)
        return Answer(None, "", _storable(error), _since(started))
    finally:
        deadline.cancel()
        connection.close()
    return Answer(response.status, _storable(answer.decode(errors="replace")), "", _since(started))


def _cut(opened: list[socket.socket]) -> None:
    """At the deadline: end the connection's socket (once it has one: connecting has its own
    timeout), so a read blocked on it returns."""
    for sock in opened:
        with contextlib.suppress(OSError):  # closed meanwhile
            sock.shutdown(socket.SHUT_RDWR)


def _why(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(reason).__name__}: {reason}"[:500]


def _storable(text: str) -> str:
    """Postgres text holds no NUL character: a receiver's answer may."""
    return text.replace("\x00", "\ufffd")


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
