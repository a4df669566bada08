"""The OpenAPI document says what each operation answers when it fails, as well as when it
succeeds: every error is the one body (loupe.api.errors), under the statuses the operation
can answer. A generated client then has a type for each answer it can get."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable: match on it.")
    detail = serializers.CharField(help_text="What went wrong, and what to fix.")
    fields = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="The offending input fields, each with its problems (code `invalid`).",
    )
    error_id = serializers.CharField(
        required=False, help_text="The request id: quote it, and the logs hold the request."
    )

    class Meta:
        ref_name = "Error"


# Answered by every API operation, by the codes named; docs/errors.md has every code.
_ALWAYS = {
    "401": "No credentials, or ones refused: `not_authenticated`, `token_expired`, "
    "`invalid_signature`, `session_expired`, `invalid_api_key`, ... (with WWW-Authenticate).",
    "403": "Authenticated but not admitted: `permission_denied` (the role does not allow "
    "it), `not_a_member`, `tenant_mismatch`, `tenant_inactive`.",
    "429": "`too_many_authentication_failures` from this address this minute, or a quota "
    "(`training_run_limit`, `row_quota_exceeded`, ...): wait, or free one.",
    "503": "What the request needs is down: `authentication_unavailable`, "
    "`search_unavailable`, `database_unavailable`, ...; retry later.",
}
_WITH_INPUT = {
    "400": "The request breaks the schema or the rules: `invalid` with `fields`, "
    "`parse_error` (the body is not JSON), or the operation's own code (`query_syntax`, "
    "`invalid_cursor`, ...).",
}
_WITH_BODY = {
    "415": "The body is not in a media type the operation takes: `unsupported_media_type`.",
}
_WITH_PATH = {
    "404": "Nothing of that id in this tenant (another tenant's is not found either): `not_found`.",
}
_CHANGES = {
    "409": "The change conflicts with what is stored: `in_use`, `project_name_taken`, "
    "`job_finished`, ...",
}


class LoupeAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        for status, description in self._error_statuses(operation).items():
            operation["responses"].setdefault(
                status,
                {"description": description, "content": {"application/json": {"schema": error}}},
            )
        return operation

    def _error_statuses(self, operation: dict) -> dict[str, str]:
        statuses = dict(_ALWAYS)
        parameters = operation.get("parameters", [])
        if parameters or "requestBody" in operation:
            statuses |= _WITH_INPUT
        if "requestBody" in operation:
            statuses |= _WITH_BODY
        if any(parameter["in"] == "path" for parameter in parameters):
            statuses |= _WITH_PATH
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            statuses |= _CHANGES
        return statuses


WEBSOCKETS = """

## WebSockets

Jobs are followed live over WebSockets on the tenant's host, authenticated with the API's
token (`Sec-WebSocket-Protocol: bearer, <token>`, or `?token=`):

| socket | carries |
| --- | --- |
| `ws/events/` | every lifecycle event of the tenant's jobs (not the progress ones) |
| `ws/imports/<id>/?after=N` | an import's stored events after `seq` N, then the live ones |
| `ws/training-runs/<id>/?after=N` | a training run's |
| `ws/inference-runs/<id>/?after=N` | an inference run's |
| `ws/evaluations/<id>/?after=N` | an evaluation's |

Each message is one event, the shape `GET .../<id>/events/` pages (`JobEvent` here):
`{"seq", "type", "kind", "job", "time", "data"}`, with no gap and no duplicate. The event
types and their `data` are in docs/jobs.md, docs/training.md and docs/predictions.md. A
refused token is refused at the handshake (HTTP 403); an opened socket closes with 4401 (no
token, or it expired or was revoked while open), 4403 (the role does not allow it) or 4404
(no such job in this tenant).

## Errors

Every error is the `Error` body, under the statuses listed with each operation; the codes
are in docs/errors.md.
"""


def describe_websockets(result, generator, request, public):
    """POSTPROCESSING_HOOKS: the sockets beside the operations, in the document's text."""
    result["info"]["description"] += WEBSOCKETS
    return result
