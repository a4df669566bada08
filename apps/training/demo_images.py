"""Demo datasets made from images that need no download: scikit-learn's bundled scans of
handwritten digits, and shapes generated from a fixed seed. Pure: no database, no Django.

Everything here is deterministic (same pixels, same PNG bytes, same ZIP bytes on every run),
so importing the ZIPs twice leaves every row unchanged the second time.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

MANIFEST_NAME = "manifest.jsonl"  # as apps/datasets/importers/zip_images.py reads it
DEMO_TAG = "demo"
DIGIT_SIZE = 32
SHAPE_IMAGE_SIZE = 128
SHAPE_CLASSES = ("circle", "square", "triangle")
SHAPE_MIN_SIDE, SHAPE_MAX_SIDE = 16, 48
SHAPES_SEED = 0
# Placements tried for each shape before it is left out, rather than let it hide another.
_PLACEMENT_TRIES = 20
# A fixed timestamp for every entry: ZIP headers otherwise carry the time of the run.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class DemoImage:
    """One image and its row in the manifest (annotations in the manifest's JSON shape)."""

    external_id: str
    png: bytes
    annotations: tuple[dict, ...]
    metadata: dict = field(default_factory=dict)
    tags: tuple[str, ...] = (DEMO_TAG,)

    @property
    def entry_name(self) -> str:
        return f"{self.external_id}.png"

    def manifest_row(self) -> dict:
        return {
            "external_id": self.external_id,
            "media_uri": self.entry_name,
            "annotations": list(self.annotations),
            "metadata": self.metadata,
            "tags": list(self.tags),
        }


def digit_images(limit: int | None = None) -> Iterator[DemoImage]:
    """The first `limit` (default: all 1,797) of `sklearn.datasets.load_digits()`, each a
    32x32 grayscale PNG labelled with its digit as a whole-image class "0".."9"."""
    from sklearn.datasets import load_digits  # slow to import; only this function needs it

    digits = load_digits()
    count = len(digits.images) if limit is None else min(limit, len(digits.images))
    for index in range(count):
        # The scans count ink from 0 to 16; stretch that to the full 0..255 of a byte.
        pixels = np.rint(digits.images[index] * (255 / 16)).astype(np.uint8)
        # NEAREST keeps each of the 64 scanned values exactly, as a 4x4 block: the image
        # holds what was measured and nothing invented. BILINEAR would blur the strokes into
        # values no scan recorded, and a model trained on the demo should see the real data.
        image = Image.fromarray(pixels, mode="L").resize(
            (DIGIT_SIZE, DIGIT_SIZE), Image.Resampling.NEAREST
        )
        yield DemoImage(
            external_id=f"digit-{index:04d}",
            png=_png(image),
            annotations=({"class": str(int(digits.target[index]))},),
            metadata={"source": "sklearn.load_digits", "index": index},
        )


def shape_images(count: int, *, seed: int = SHAPES_SEED) -> Iterator[DemoImage]:
    """`count` 128x128 RGB images of 1 to 3 circles, squares and triangles on a noisy
    background, each annotated with its tight bounding box [x, y, w, h]. One generator runs
    through them in order, so the first n images are the same whatever `count` is."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        image, annotations = _shape_image(rng)
        yield DemoImage(
            external_id=f"shape-{index:04d}",
            png=_png(image),
            annotations=tuple(annotations),
            metadata={"source": "loupe.demo_shapes", "seed": seed, "index": index},
        )


def _shape_image(rng: np.random.Generator) -> tuple[Image.Image, list[dict]]:
    size = SHAPE_IMAGE_SIZE
    # A darkish background and bright shapes, so every shape stands out from the noise.
    base = rng.integers(20, 100, size=3)
    noise = rng.normal(0, 12, size=(size, size, 3))
    image = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), mode="RGB")
    taken: list[tuple[int, int, int, int]] = []
    annotations = []
    for _ in range(int(rng.integers(1, 4))):
        kind = SHAPE_CLASSES[int(rng.integers(len(SHAPE_CLASSES)))]
        colour = tuple(int(c) for c in rng.integers(140, 256, size=3))
        box = _free_box(rng, taken)
        if box is None:
            continue
        taken.append(box)
        mask = _shape_mask(kind, box)
        image.paste(colour, mask=mask)
        # Measured on the pixels drawn, so the box is tight however Pillow rasterises.
        left, top, right, bottom = mask.getbbox()
        annotations.append({"class": kind, "bbox": [left, top, right - left, bottom - top]})
    return image, annotations


def _free_box(
    rng: np.random.Generator, taken: list[tuple[int, int, int, int]]
) -> tuple[int, int, int, int] | None:
    """A square (left, top, right, bottom; right and bottom exclusive) inside the image and
    clear of the boxes taken, or None when none was found in a few tries."""
    for _ in range(_PLACEMENT_TRIES):
        side = int(rng.integers(SHAPE_MIN_SIDE, SHAPE_MAX_SIDE + 1))
        left = int(rng.integers(0, SHAPE_IMAGE_SIZE - side + 1))
        top = int(rng.integers(0, SHAPE_IMAGE_SIZE - side + 1))
        box = (left, top, left + side, top + side)
        if not any(_overlap(box, other) for other in taken):
            return box
    return None


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _shape_mask(kind: str, box: tuple[int, int, int, int]) -> Image.Image:
    mask = Image.new("L", (SHAPE_IMAGE_SIZE, SHAPE_IMAGE_SIZE), 0)
    draw = ImageDraw.Draw(mask)
    left, top, right, bottom = box[0], box[1], box[2] - 1, box[3] - 1  # Pillow's are inclusive
    if kind == "circle":
        draw.ellipse((left, top, right, bottom), fill=255)
    elif kind == "square":
        draw.rectangle((left, top, right, bottom), fill=255)
    else:
        draw.polygon([(left, bottom), (right, bottom), ((left + right) / 2, top)], fill=255)
    return mask


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def write_zip(path: str | os.PathLike[str], images: Iterable[DemoImage]) -> int:
    """Writes the images and a `manifest.jsonl` describing them into a ZIP at `path`, as the
    platform's ZIP import reads it; returns how many images it holds."""
    rows = []
    with zipfile.ZipFile(path, "w") as archive:
        for image in images:
            # PNGs are compressed already: stored as they are.
            archive.writestr(_entry(image.entry_name, zipfile.ZIP_STORED), image.png)
            rows.append(json.dumps(image.manifest_row(), sort_keys=True))
        manifest = "".join(f"{row}\n" for row in rows).encode()
        archive.writestr(_entry(MANIFEST_NAME, zipfile.ZIP_DEFLATED), manifest)
    return len(rows)


def _entry(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = compression
    info.external_attr = 0o644 << 16  # a plain file, not a link
    return info
