"""One attempt of a delivery over HTTP: POST the body to the checked address, and say how
the receiver answered. No redirect is followed (a 3xx is a failed attempt), and only the
first bytes of the answer are read."""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3

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
    and, over https, in the TLS handshake and the certificate check."""
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    host_header = host if target.port == default_port else f"{host}:{target.port}"
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
    started = time.perf_counter()
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            answer = response.read(ANSWER_BYTES)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, "", _why(exc), _since(started))
    finally:
        pool.close()
    return Answer(response.status, answer.decode(errors="replace"), "", _since(started))


def _why(exc: urllib3.exceptions.HTTPError) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(reason).__name__}: {reason}"[:500]


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
