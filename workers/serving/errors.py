"""Why a predict call was refused: stable codes, and the exception that carries one.

Codes the rest of the API already uses keep their names here (a model or version unknown to
the registry, a version with no model to run), so a client matches one code wherever it
meets the case.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from apps.predictions.errors import PredictionErrorCode


class PredictErrorCode(StrEnum):
    UNKNOWN_MODEL = PredictionErrorCode.UNKNOWN_MODEL.value  # 404
    UNKNOWN_MODEL_VERSION = PredictionErrorCode.UNKNOWN_MODEL_VERSION.value  # 404
    NOT_RUNNABLE = PredictionErrorCode.NOT_RUNNABLE.value  # 409: imported predictions only
    IMAGE_OR_ROW = "image_or_row_required"  # 400: neither or both
    NOT_AN_IMAGE = "not_an_image"  # 400
    UNKNOWN_ROW = "unknown_row"  # 400
    MEDIA_UNREADABLE = "media_unreadable"  # 400: the row's stored image
    INVALID = "invalid"  # 400: a field of the wrong type, as the API's validation says
    PARSE_ERROR = "parse_error"  # 400: a body that is not the JSON or multipart it claims
    IMAGE_TOO_LARGE = "image_too_large"  # 413
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415
    ARTIFACT_UNLOADABLE = "artifact_unloadable"  # 500: the stored model would not load


class PredictError(Exception):
    """A refusal with its HTTP status, rendered as the platform's one error body."""

    def __init__(
        self,
        status: int,
        code: Enum | str,
        detail: str,
        *,
        fields: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.fields = fields
        self.headers = headers or {}
