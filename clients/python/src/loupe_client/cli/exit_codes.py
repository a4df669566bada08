"""What the command line's exit status says, so a script can tell a typo from an outage."""

from __future__ import annotations

from enum import IntEnum

from loupe_client.errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailed,
    LoupeError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    WaitTimeout,
)


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1  # a bug: the traceback says where
    USAGE = 2  # a bad option or argument, before anything was sent
    AUTH = 3  # not signed in, credentials refused (401), or the role forbids it (403)
    NOT_FOUND = 4  # no such thing in this tenant (404)
    INVALID = 5  # the platform refused the input (400, 409 and other 4xx)
    JOB_FAILED = 6  # the job ended but did not succeed: failed, cancelled, partially failed
    UNAVAILABLE = 7  # the platform could not be reached, failed (5xx) or asks to wait (429)


def exit_code_for(error: LoupeError) -> ExitCode:
    if isinstance(error, AuthenticationError | PermissionDenied):
        return ExitCode.AUTH
    if isinstance(error, NotFound):
        return ExitCode.NOT_FOUND
    if isinstance(error, ServerError | RateLimited | ConnectionFailed | WaitTimeout):
        return ExitCode.UNAVAILABLE
    if isinstance(error, ApiError):
        return ExitCode.INVALID
    return ExitCode.UNEXPECTED
