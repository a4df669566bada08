"""Reading a row's image from storage, decoded by Pillow."""

from __future__ import annotations

from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from apps.training.errors import RunFailure
from apps.training.targets import Sample


class MediaUnreadable(Exception):
    """A row's image could not be read: the run fails saying which row and why."""

    def __init__(self, sample: Sample, reason: str):
        super().__init__(
            f"{RunFailure.MEDIA_UNREADABLE}: row {sample.row_id}'s image "
            f"{sample.media_name!r} could not be read ({reason})"
        )


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
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise MediaUnreadable(sample, f"{type(exc).__name__}: {exc}") from exc
    return image if image.mode == mode else image.convert(mode)
