"""The errors the SDK raises. Every refusal from the API arrives in one body,
`{"code", "detail", "fields"?, "error_id"}`, and becomes an `ApiError` of the class its HTTP
status names, so callers can catch `NotFound` for any missing thing and still match on the
stable `code` (`unknown_slice`, `type_mismatch`, ...) when they need to tell cases apart.
"""

from __future__ import annotations

from typing import Any

import httpx


class LoupeError(Exception):
    """Anything the SDK raises on purpose."""


class ConnectionFailed(LoupeError):
    """The platform could not be reached, or stopped answering mid-call: nothing says whether
    a write was applied, so retry only what is safe to repeat."""


class WaitTimeout(LoupeError):
    """A wait for a job ran past its timeout; the job itself goes on."""


class ApiError(LoupeError):
    """A refusal in the API's error body. `fields` maps input fields to their problems;
    `error_id` finds the request in the platform's logs; `extra` holds any other keys of the
    body (a query error's `line` and `column`)."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        detail: str,
        fields: dict[str, Any] | None = None,
        error_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        self.status = status
        self.code = code
        self.detail = detail
        self.fields = fields or {}
        self.error_id = error_id
        self.extra = extra or {}
        super().__init__(self._message())

    def _message(self) -> str:
        message = f"{self.status} {self.code}: {self.detail}"
        if self.fields:
            problems = "; ".join(f"{name}: {_joined(text)}" for name, text in self.fields.items())
            message += f" [{problems}]"
        if self.error_id:
            message += f" (error_id {self.error_id})"
        return message

    def as_dict(self) -> dict[str, Any]:
        """The error as the API sent it, with its status: what the CLI's --json prints."""
        body: dict[str, Any] = {"status": self.status, "code": self.code, "detail": self.detail}
        if self.fields:
            body["fields"] = self.fields
        if self.error_id:
            body["error_id"] = self.error_id
        return body | self.extra


class ValidationError(ApiError):
    """400: the request's input was refused; `fields` says which and why."""


class AuthenticationError(ApiError):
    """401: no credentials, or ones the platform does not accept (expired, revoked, unknown)."""


class PermissionDenied(ApiError):
    """403: the credentials are good but their role, or their tenant, does not allow it."""


class NotFound(ApiError):
    """404: no such thing in this tenant (another tenant's things are not found either)."""


class Conflict(ApiError):
    """409: the thing is in a state that refuses the call (a finished job, a slice in use)."""


class RateLimited(ApiError):
    """429: too many calls, or a quota reached; `retry_after` is in seconds when sent."""

    retry_after: float | None = None


class ServerError(ApiError):
    """5xx: the platform failed or is unavailable; quote `error_id` when reporting it."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}
_STANDARD_KEYS = {"code", "detail", "fields", "error_id"}


def error_class(status: int) -> type[ApiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed error for an answer with an error status. A body that is not the API's
    (a proxy's HTML page) still gives a code, `http_<status>`, and its text as the detail."""
    response.read()
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "code" not in body:
        body = {"code": f"http_{response.status_code}", "detail": response.text[:500].strip()}
    error = error_class(response.status_code)(
        status=response.status_code,
        code=str(body["code"]),
        detail=str(body.get("detail", "")),
        fields=body.get("fields"),
        error_id=body.get("error_id") or response.headers.get("X-Request-ID"),
        extra={k: v for k, v in body.items() if k not in _STANDARD_KEYS},
    )
    if isinstance(error, RateLimited):
        error.retry_after = _seconds(response.headers.get("Retry-After"))
    return error


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _joined(problems: Any) -> str:
    if isinstance(problems, list):
        return ", ".join(str(p) for p in problems)
    return str(problems)
