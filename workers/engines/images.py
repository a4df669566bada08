"""Reading a row's image from storage, decoded by Pillow."""

from __future__ import annotations

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from apps.training.errors import MediaUnreadable
from apps.training.targets import Sample


def _open(name: str):
    """The stored file: straight from the disk when storage is local (the hot path of a
    training epoch), through the storage API otherwise."""
    try:
        return open(default_storage.path(name), "rb")
    except NotImplementedError:
        return default_storage.open(name, "rb")


def open_image(sample: Sample, mode: str) -> Image.Image:
    """The sample's image in `mode` ("L" or "RGB"), fully decoded."""
    try:
        with _open(sample.media_name) as handle:
            image = Image.open(handle)
            image.load()
    except (
        OSError, UnidentifiedImageError, ValueError, SuspiciousFileOperation,
        Image.DecompressionBombError,
    ) as exc:  # fmt: skip
        reason = f"{type(exc).__name__}: {exc}"
        raise MediaUnreadable.of(sample.row_id, sample.media_name, reason) from exc
    return image if image.mode == mode else image.convert(mode)
