"""A job's events, followed live over its WebSocket (`ws/<kind>/<id>/?after=N`).

The socket replays the stored events after N, then sends the live ones with no gap and no
duplicate, so a follower that loses its socket opens another after the last `seq` it saw and
misses nothing. That is how the session token's expiry is crossed too: the platform closes a
socket whose session has ended (close code 4401), and the follower trades the API key again
and goes on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from loupe_client.api import Api
from loupe_client.errors import (
    AuthenticationError,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
    ValidationError,
    WaitTimeout,
)
from loupe_client.loopback import socket_address
from loupe_client.shapes import JobEvent, is_final_event

SUBPROTOCOL = "bearer"
CLOSE_BAD_REQUEST, CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND = 4400, 4401, 4403, 4404
# Sockets lost in a row, with no event between, before following gives up.
RECONNECTS = 5
OPEN_TIMEOUT = 10.0


def follow_events(
    api: Api, path: str, job_id: int, *, after: int = 0, timeout: float | None = None
) -> Iterator[JobEvent]:
    """The job's events after seq `after`, stored then live, up to and including the one
    that ends the job. Raises WaitTimeout past `timeout` seconds, NotFound for a job the
    tenant does not have, PermissionDenied, AuthenticationError, or ConnectionFailed after
    RECONNECTS sockets lost in a row."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last, lost, renew = after, 0, False
    while True:
        token = api.auth.socket_token(api.http, renew=renew)
        if token is None:
            raise AuthenticationError(
                status=401, code="socket_refused", detail="The platform refused the token."
            )
        try:
            with _open(_socket_url(api, path, job_id, last), token) as socket:
                while True:
                    event: JobEvent = json.loads(socket.recv(timeout=_left(deadline)))
                    last, lost, renew = event["seq"], 0, False
                    yield event
                    if is_final_event(event):
                        return
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            if code == CLOSE_UNAUTHENTICATED and not renew:
                renew = True  # the session ended: trade again and go on after `last`
                continue
            _raise_for_close(code, path, job_id)
            failure: Exception = closed
        except InvalidStatus as refused:
            # Refused at the handshake: the credentials (a session that just ended among
            # them: trade again once), or a host of another tenant.
            if not renew:
                renew = True
                continue
            raise AuthenticationError(
                status=refused.response.status_code,
                code="socket_refused",
                detail="The platform refused the socket's credentials for this host.",
            ) from refused
        except TimeoutError as exc:
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"{path} {job_id} did not end within {timeout:g} s") from exc
            failure = exc
        except (OSError, InvalidHandshake) as exc:
            failure = exc
        lost += 1
        if lost > RECONNECTS:
            raise ConnectionFailed(f"the events of {path} {job_id}: {failure}") from failure
        time.sleep(min(0.2 * 2**lost, 5.0))


def _open(url: httpx.URL, token: str) -> ClientConnection:
    options: dict[str, Any] = {}
    address = socket_address(url)
    if address is not None:
        options = {"address": address, "proxy": None}
    protocols = [Subprotocol(SUBPROTOCOL), Subprotocol(token)]
    socket: ClientConnection = connect(
        str(url), subprotocols=protocols, open_timeout=OPEN_TIMEOUT, **options
    )
    return socket


def _socket_url(api: Api, path: str, job_id: int, after: int) -> httpx.URL:
    scheme = "wss" if api.base_url.scheme == "https" else "ws"
    url = api.base_url.join(f"ws/{path}/{job_id}/")
    return url.copy_with(scheme=scheme, params={"after": after})


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _raise_for_close(code: int | None, path: str, job_id: int) -> None:
    """A close the platform chose ends following with its error; any other close is a lost
    socket, for the caller to open again."""
    where = f"{path} {job_id}"
    if code == CLOSE_UNAUTHENTICATED:
        raise AuthenticationError(
            status=401,
            code="session_expired",
            detail=f"The socket of {where} was closed: its credentials are no longer valid.",
        )
    if code == CLOSE_FORBIDDEN:
        raise PermissionDenied(
            status=403, code="permission_denied", detail=f"The role may not follow {where}."
        )
    if code == CLOSE_NOT_FOUND:
        raise NotFound(status=404, code="not_found", detail=f"No {where} in this tenant.")
    if code == CLOSE_BAD_REQUEST:
        raise ValidationError(
            status=400, code="invalid", detail="`after` must be a whole number of 0 or more."
        )
