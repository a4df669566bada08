"""A run's metric curves as a PNG (Pillow): one panel per metric, epochs across."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

WIDTH, PANEL_HEIGHT, MARGIN = 560, 150, 44
LINE, POINT, GRID, TEXT = (31, 119, 180), (214, 39, 40), (225, 225, 225), (40, 40, 40)


def curves_png(epochs: list[int], series: dict[str, list[float | None]]) -> bytes:
    """The PNG of each metric's series over `epochs` (a value None where an epoch lacks it),
    one panel under another, each on its own scale."""
    image = Image.new("RGB", (WIDTH, PANEL_HEIGHT * max(len(series), 1)), "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    for index, (name, values) in enumerate(sorted(series.items())):
        _panel(draw, font, index * PANEL_HEIGHT, name, epochs, values)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _panel(draw, font, top: int, name: str, epochs: list[int], values: list) -> None:
    left, right = MARGIN, WIDTH - 12
    upper, lower = top + 22, top + PANEL_HEIGHT - 24
    known = [(e, value) for e, value in zip(epochs, values, strict=True) if value is not None]
    draw.text((left, top + 4), name, fill=TEXT, font=font)
    draw.rectangle((left, upper, right, lower), outline=GRID)
    if not known:
        return
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    first, last = epochs[0], epochs[-1]

    def x(epoch: int) -> float:
        return left + (right - left) * ((epoch - first) / (last - first) if last > first else 0.5)

    def y(value: float) -> float:
        return lower - (lower - upper) * (value - low) / span

    draw.text((4, upper - 4), f"{high:.3g}", fill=TEXT, font=font)
    draw.text((4, lower - 8), f"{low:.3g}", fill=TEXT, font=font)
    draw.text((left, lower + 6), f"epoch {first}", fill=TEXT, font=font)
    draw.text((right - 60, lower + 6), f"epoch {last}", fill=TEXT, font=font)
    points = [(x(epoch), y(value)) for epoch, value in known]
    if len(points) > 1:
        draw.line(points, fill=LINE, width=2)
    for px, py in points:
        draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=POINT)
