"""Builds `images.zip`, the example ZIP import of docs/formats.md, beside this script:
`python docs/examples/formats/make_images_zip.py`.

The archive is a binary file kept in the repository, so it is built from code anyone can read
and run again: three tiny PNGs drawn with Pillow and a manifest. Every entry has a fixed date
and mode, so the same Pillow builds the same bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

# A date ZIP can hold (it starts in 1980), so no build stamps the day it ran.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
MANIFEST = [
    # Matched by media_uri: the row takes the line's external_id.
    {
        "external_id": "car-1",
        "media_uri": "cars/0001.png",
        "tags": ["parked"],
        "annotations": [{"class": "car", "bbox": [4, 8, 20, 12]}],
    },
    # Matched by external_id, the image's path without its extension: no media_uri needed.
    {"external_id": "cars/0002", "metadata": {"phone": "pixel"}},
]


def _png(size: tuple[int, int], background: str, box: tuple[int, int, int, int] | None) -> bytes:
    image = Image.new("RGB", size, background)
    if box is not None:
        ImageDraw.Draw(image).rectangle(box, fill="red")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def entries() -> dict[str, bytes]:
    """The archive's entries, by name, in the order they are written."""
    manifest = "".join(json.dumps(line) + "\n" for line in MANIFEST)
    return {
        "manifest.jsonl": manifest.encode(),
        "cars/0001.png": _png((32, 24), "gray", (4, 8, 23, 19)),
        "cars/0002.png": _png((32, 24), "white", None),
        "misc/0003.png": _png((16, 16), "black", None),
    }


def build() -> bytes:
    """The archive's bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries().items():
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, wherever it is built
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


if __name__ == "__main__":
    target = Path(__file__).with_name("images.zip")
    target.write_bytes(build())
    print(f"wrote {target} ({target.stat().st_size:,} bytes)")
