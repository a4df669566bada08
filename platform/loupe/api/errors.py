"""One error body for the whole platform: {"code", "detail", "fields"?, "error_id"}.

`code` is stable and machine-readable; `detail` says what to fix; `fields` maps offending
input fields to their problems; `error_id` is the request id, also on every log line of the
request, so a report can be found in the logs and in Sentry.
"""

from __future__ import annotations

from enum import Enum

from django.db.models import ProtectedError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from loupe import log_context


class ApiError(exceptions.APIException):
    """An error a service raises with its own stable code and HTTP status."""

    def __init__(
        self,
        *,
        status: int,
        code: Enum | str,
        detail: str,
        fields: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail=detail, code=_code(code))
        self.status_code = status
        self.code = _code(code)
        self.fields = fields
        # Keys beside the standard ones, e.g. the line and column of a query error.
        self.extra = extra or {}


def error_body(code: Enum | str, detail: str, fields: dict | None = None) -> dict:
    body = {"code": _code(code), "detail": detail}
    if fields:
        body["fields"] = fields
    request_id = log_context.request_id.get()
    if request_id:
        body["error_id"] = request_id
    return body


def error_response(
    status: int, code: Enum | str, detail: str, fields: dict | None = None
) -> JsonResponse:
    """The error body as a plain Django response, for middleware and non-DRF views."""
    return JsonResponse(error_body(code, detail, fields), status=status)


def api_error_body(exc: ApiError) -> dict:
    return error_body(exc.code, str(exc.detail), exc.fields) | exc.extra


def exception_handler(exc, context):
    """DRF's handler, reshaped into the one error body. Errors that are not API errors
    (database failures among them) are left to Django, so middleware can act on them."""
    if isinstance(exc, ApiError):
        return Response(api_error_body(exc), status=exc.status_code)
    if isinstance(exc, ProtectedError):
        return Response(error_body("in_use", _in_use(exc)), status=409)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "The request has invalid fields.", fields)
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = error_body(code if isinstance(code, str) else "error", _detail(exc))
    return response


def _in_use(exc: ProtectedError) -> str:
    """What still refers to the thing a client tried to delete (nothing was deleted)."""
    names = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
    return f"It is still used by {', '.join(names)}; delete those first. Nothing was deleted."


def _detail(exc) -> str:
    detail = getattr(exc, "detail", None)
    return str(detail) if detail is not None else str(exc)


def _code(code: Enum | str) -> str:
    return code.value if isinstance(code, Enum) else str(code)


def not_found(request, exception=None) -> JsonResponse:
    """handler404: unknown routes answer in the one error shape too."""
    return error_response(404, "not_found", f"No endpoint at {request.path}.")


def server_error(request) -> JsonResponse:
    """handler500: the error id finds the traceback in the logs and in Sentry."""
    return error_response(
        500, "internal_error", "Something went wrong on our side; quote the error_id."
    )
