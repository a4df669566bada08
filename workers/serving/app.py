"""The predict server's ASGI application: online predict and a liveness probe, on a port of
its own, in a process that holds torch (loupe/serving_asgi.py builds it).

It is a direct ASGI handler, not Django's request stack: the path costs what it needs (the
body, the token from Redis, the host's tenant from memory, the forward) and no middleware.
It keeps the API's habits all the same: the one error body with its error id, an
X-Request-ID on every answer, one JSON log line a call carrying the tenant and user.

Calls run on a few threads, each with its own database connections (only cold calls use
them), so a version loading on one (seconds) does not hold up warm calls on the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils.datastructures import CaseInsensitiveMapping

from loupe import log_context
from loupe.api.errors import error_body
from loupe.middleware.request_context import REQUEST_ID_HEADER, request_id_from
from tenants.identity.client_address import client_address
from workers.engines.base import Prediction
from workers.serving.admission import HostTenants, admit
from workers.serving.errors import PredictError
from workers.serving.inputs import decode_image, image_too_large, parse_input
from workers.serving.predictor import Predictor, row_image

logger = logging.getLogger(__name__)
# The API's request log, so that a call's line reads the same on either port.
request_logger = logging.getLogger("loupe.request")

PREDICT_PATH = re.compile(r"/api/v1/models/(?P<name>[^/]+)/versions/(?P<number>[0-9]+)/predict/")
# What a multipart body may carry beside the image: boundaries, part headers, a row field.
BODY_OVERHEAD_BYTES = 64 * 1024
# Calls answered at once: enough that a version loading does not hold up the loaded ones;
# more would only contend for the cores with the threads torch runs each forward on.
THREADS = 4
# Under PREDICT_REPORT_QUERIES (for tests): the database queries a call made.
QUERIES_HEADER = "X-Database-Queries"

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


@dataclass
class Call:
    """One HTTP request, and what the log line says of it once answered."""

    method: str
    path: str
    headers: CaseInsensitiveMapping
    client: str
    body: bytes = b""
    tenant: str | None = None
    user: str | None = None


@dataclass
class Answer:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def refusal(error: PredictError) -> Answer:
    return Answer(error.status, error_body(error.code, error.detail, error.fields), error.headers)


class ServingApp:
    """The ASGI callable: routes, reads the body, answers a predict call on a thread."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self.hosts = HostTenants()
        self.max_image_bytes = settings.PREDICT_MAX_IMAGE_BYTES
        self.report_queries = settings.PREDICT_REPORT_QUERIES
        self.executor = ThreadPoolExecutor(THREADS, thread_name_prefix="predict")

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # WebSockets are the API's port's
        started = time.perf_counter()
        headers = CaseInsensitiveMapping(
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        )
        call = Call(
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            # As the API counts it, so a flood from one client is throttled the same there.
            client=client_address(
                peer=(scope.get("client") or ("unknown",))[0],
                forwarded_for=headers.get("X-Forwarded-For"),
            ),
        )
        # Each call is its own asyncio task, so the id stays with this call; the thread that
        # answers it runs in a copy of this context.
        request_id = request_id_from(call)
        log_context.request_id.set(request_id)
        try:
            answer = await self._answer(call, receive)
        except _Disconnected:
            return
        answer.headers[REQUEST_ID_HEADER] = request_id
        await _send(send, answer)
        line = {
            "method": call.method,
            "path": call.path,
            "status": answer.status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        # Learnt on the thread that answered, whose context this one does not see.
        line |= {
            name: value for name, value in (("tenant", call.tenant), ("user", call.user)) if value
        }
        request_logger.info("request", extra=line)

    async def _answer(self, call: Call, receive: Receive) -> Answer:
        if call.path == "/healthz":
            return Answer(200, {"status": "ok"})
        route = PREDICT_PATH.fullmatch(call.path)
        if route is None:
            return refusal(PredictError(404, "not_found", f"No endpoint at {call.path}."))
        if call.method != "POST":
            return refusal(
                PredictError(
                    405,
                    "method_not_allowed",
                    f'Method "{call.method}" not allowed.',
                    headers={"Allow": "POST"},
                )
            )
        body = await _read_body(call, receive, self.max_image_bytes + BODY_OVERHEAD_BYTES)
        if body is None:
            return refusal(image_too_large(self.max_image_bytes))
        call.body = body
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor,
            contextvars.copy_context().run,
            self._predict_answer,
            call,
            route["name"],
            int(route["number"]),
        )

    def _predict_answer(self, call: Call, model_name: str, number: int) -> Answer:
        close_old_connections()
        queries: list[str] = []
        try:
            with self._counting(queries):
                answer = self._predict(call, model_name, number)
        except PredictError as error:
            answer = refusal(error)
        except Exception:
            logger.exception("predict failed")
            answer = Answer(
                500,
                error_body(
                    "internal_error", "Something went wrong on our side; quote the error_id."
                ),
            )
        finally:
            close_old_connections()
        if self.report_queries:
            answer.headers[QUERIES_HEADER] = str(len(queries))
        return answer

    def _predict(self, call: Call, model_name: str, number: int) -> Answer:
        admitted = admit(
            host_tenant=self.hosts.get(call.headers.get("Host", "")),
            authorization=call.headers.get("Authorization", ""),
            client=call.client,
        )
        tenant, user = admitted.tenant, admitted.identity.user
        call.tenant, call.user = tenant.schema_name, str(user.pk)
        log_context.tenant.set(call.tenant)
        log_context.user.set(call.user)
        given = parse_input(
            content_type=call.headers.get("Content-Type", ""),
            body=call.body,
            max_image_bytes=self.max_image_bytes,
        )
        image = decode_image(given.image if given.row is None else row_image(tenant, given.row))
        loaded, load_ms = self.predictor.version(tenant, model_name, number)
        predictions, forward_ms = self.predictor.forward(loaded, image)
        timing = {"forward_ms": round(forward_ms, 3)}
        if load_ms:
            timing["load_ms"] = round(load_ms, 1)
        return Answer(
            200,
            {
                "predictions": [_prediction(p) for p in predictions],
                "model": loaded.model_name,
                "version": loaded.number,
                "timing": timing,
            },
        )

    @contextlib.contextmanager
    def _counting(self, queries: list[str]) -> Iterator[None]:
        """Records the statements run on this thread's connections, when asked to."""
        if not self.report_queries:
            yield
            return

        def record(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        with contextlib.ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(record))
            yield


def _prediction(prediction: Prediction) -> dict:
    found = {"class": prediction.class_name, "score": prediction.score}
    if prediction.bbox is not None:
        found["bbox"] = dict(zip("xywh", prediction.bbox, strict=True))
    return found


class _Disconnected(Exception):
    """The client went away before its body was read: there is no one to answer."""


async def _read_body(call: Call, receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it is longer than `limit` (said or sent)."""
    declared = call.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, answer: Answer) -> None:
    body = json.dumps(answer.body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers.items()
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
