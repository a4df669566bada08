"""What a predict call asks about: an uploaded image (multipart field `image`) or a data row
of the tenant (field `row`, in a form or a JSON object), exactly one of the two.

Parsing is pure: bytes in, a PredictInput or a PredictError out; the image part is refused
as soon as it streams past the limit, before the rest of it is held.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.http import parse_header_parameters
from PIL import Image, UnidentifiedImageError

from workers.serving.errors import PredictError, PredictErrorCode

IMAGE_FIELD, ROW_FIELD = "image", "row"


@dataclass(frozen=True)
class PredictInput:
    image: bytes | None = None
    row: int | None = None


def image_too_large(limit: int) -> PredictError:
    return PredictError(
        413, PredictErrorCode.IMAGE_TOO_LARGE, f"The image is over the limit of {limit} bytes."
    )


def parse_input(*, content_type: str, body: bytes, max_image_bytes: int) -> PredictInput:
    """The call's one input. Raises PredictError: 400 (neither or both, a bad row id, a body
    that does not parse), 413 (an image over `max_image_bytes`), 415 (another media type)."""
    media_type, _ = parse_header_parameters(content_type)
    if media_type == "multipart/form-data":
        fields, images = _multipart(content_type, body, max_image_bytes)
    elif media_type == "application/x-www-form-urlencoded":
        fields, images = QueryDict(body).dict(), []
    elif media_type == "application/json":
        fields, images = _json_object(body), []
    elif not media_type and not body:
        fields, images = {}, []
    else:
        raise PredictError(
            415,
            PredictErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f'Unsupported media type "{content_type}" in request.',
        )
    if IMAGE_FIELD in fields:
        raise PredictError(
            400,
            PredictErrorCode.NOT_AN_IMAGE,
            f"Send the image as a file: a multipart part {IMAGE_FIELD!r} with a filename.",
        )
    if len(images) > 1:
        raise _invalid(IMAGE_FIELD, "Send one image.")
    row = fields.get(ROW_FIELD)
    if (row is None) == (not images):
        given = "both an image and a row" if images else "neither an image nor a row"
        raise PredictError(
            400,
            PredictErrorCode.IMAGE_OR_ROW,
            f"Send an image (multipart field {IMAGE_FIELD!r}) or the id of one of your data "
            f"rows (field {ROW_FIELD!r}); this request has {given}.",
        )
    if images:
        return PredictInput(image=images[0])
    return PredictInput(row=_row_id(row))


def decode_image(data: bytes) -> Image.Image:
    """The image, fully decoded. Raises PredictError: 400 for what is not an image, 413 for
    one of more pixels than Pillow will decode (a decompression bomb)."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError as exc:
        raise PredictError(413, PredictErrorCode.IMAGE_TOO_LARGE, str(exc)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise PredictError(
            400, PredictErrorCode.NOT_AN_IMAGE, "The image could not be decoded (not an image?)."
        ) from exc
    return image


def _multipart(content_type: str, body: bytes, limit: int) -> tuple[dict, list[bytes]]:
    meta = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))}
    handler = _FileInMemory(limit)
    try:
        post, files = MultiPartParser(meta, io.BytesIO(body), [handler]).parse()
    except RequestDataTooBig as exc:
        raise image_too_large(limit) from exc
    except (MultiPartParserError, SuspiciousOperation) as exc:
        raise PredictError(
            400, PredictErrorCode.PARSE_ERROR, f"Multipart form parse error - {exc}"
        ) from exc
    return post.dict(), [part.file.getvalue() for part in files.getlist(IMAGE_FIELD)]


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise PredictError(400, PredictErrorCode.PARSE_ERROR, f"JSON parse error - {exc}") from exc
    if not isinstance(data, dict):
        raise _invalid(
            "non_field_errors",
            f"Invalid data. Expected a dictionary, but got {type(data).__name__}.",
        )
    return data


def _row_id(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _invalid(ROW_FIELD, "A valid integer is required.")


def _invalid(field: str, problem: str) -> PredictError:
    return PredictError(
        400, PredictErrorCode.INVALID, "The request has invalid fields.", fields={field: [problem]}
    )


class _FileInMemory(FileUploadHandler):
    """Keeps each file part's bytes (the body is in memory already), refusing a part as
    soon as it passes `limit`."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.buffer = io.BytesIO()

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) > self.limit:
            raise image_too_large(self.limit)
        self.buffer.write(raw_data)

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        return InMemoryUploadedFile(
            self.buffer, self.field_name, self.file_name, self.content_type, file_size, self.charset
        )
