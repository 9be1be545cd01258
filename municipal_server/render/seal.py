"""Generated seal images (印影) as transparent PNGs.

A reference deployment has no scanned seals, so we draw them: the 職印 (the
mayor's square official seal, 角印) that authenticates every certificate, and
personal round seals (丸印) standing in for registered 印影. Output is
deterministic for the same input so rendered certificates are reproducible.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from municipal_server.render.fonts import font_path

SEAL_RED = (200, 16, 46)  # 朱肉 red, #c8102e
# Real 朱肉 is slightly translucent: text under the 職印 stays legible through it.
INK_ALPHA = 0.88
# Draw at 3x and scale down: PIL does not antialias shapes, only text.
SUPERSAMPLE = 3
# Cells in the glyph layout: (left, top, width, height), in supersampled pixels.
Cell = tuple[float, float, float, float]


def official_seal_png(text: str, size_px: int = 360) -> bytes:
    """職印 (角印): ``text`` such as 「千代田区長之印」 in columns from the right, framed."""
    return _official_seal_png(text, size_px)


def personal_seal_png(surname: str, size_px: int = 240) -> bytes:
    """A resident's round 印影 with the surname written vertically.

    Made for 1–3 characters; up to 6 (a foreign resident's カタカナ name) take two columns."""
    return _personal_seal_png(surname, size_px)


@lru_cache(maxsize=64)
def _official_seal_png(text: str, size_px: int) -> bytes:
    chars = _seal_chars(text)
    side = size_px * SUPERSAMPLE
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    border = round(side * 0.055)
    draw.rectangle((0, 0, side - 1, side - 1), outline=255, width=border)
    inset = border + side * 0.045
    _draw_glyphs(mask, chars, _column_cells(len(chars), inset, inset, side - 2 * inset))
    return _to_png(mask, size_px)


@lru_cache(maxsize=256)
def _personal_seal_png(surname: str, size_px: int) -> bytes:
    chars = _seal_chars(surname)
    if len(chars) > 6:
        raise ValueError(f"a personal seal holds at most 6 characters, got {surname!r}")
    side = size_px * SUPERSAMPLE
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    ring = round(side * 0.05)
    draw.ellipse((0, 0, side - 1, side - 1), outline=255, width=ring)
    inner = side - 2 * ring - side * 0.06
    if len(chars) > 3:
        # Two columns, read from the right, in the square that fits inside the ring.
        square = inner * 0.72
        corner = (side - square) / 2
        _draw_glyphs(mask, chars, _column_cells(len(chars), corner, corner, square), 1.9)
        return _to_png(mask, size_px)
    # One character gets a near-square cell; two or three share a tall column that still
    # clears the ring at its corners.
    width = inner * (0.66 if len(chars) == 1 else 0.54)
    height = inner * (0.66 if len(chars) == 1 else 0.84)
    step = height / len(chars)
    left, top = (side - width) / 2, (side - height) / 2
    cells = [(left, top + i * step, width, step) for i in range(len(chars))]
    # Three-character surnames are carved squat, as wide as the column allows.
    _draw_glyphs(mask, chars, cells, max_stretch=1.9)
    return _to_png(mask, size_px)


def _seal_chars(text: str) -> list[str]:
    # Spaces in a name (霞 太郎) mean nothing on a seal.
    chars = [c for c in text if not c.isspace()]
    if not chars:
        raise ValueError("seal text is empty")
    return chars


def _column_cells(count: int, left: float, top: float, size: float) -> list[Cell]:
    """Cells for ``count`` glyphs in a square: columns right to left, each read top to bottom.

    Like a real 角印, a column with fewer glyphs stretches them to the full height,
    and the rightmost columns take the extra glyphs (「千代田／区長／之印」)."""
    columns = max(1, round(math.sqrt(count)))
    base, extra = divmod(count, columns)
    width = size / columns
    cells: list[Cell] = []
    for col in range(columns):
        rows = base + (1 if col < extra else 0)
        x = left + size - (col + 1) * width
        cells.extend((x, top + row * size / rows, width, size / rows) for row in range(rows))
    return cells


def _draw_glyphs(
    mask: Image.Image, chars: list[str], cells: list[Cell], max_stretch: float = 1.4
) -> None:
    """Draw each glyph filling its cell, with thickened strokes like carved 印篆.

    ``max_stretch`` bounds how far a glyph is pulled out of its proportions."""
    em = max(round(max(max(w, h) for _, _, w, h in cells)), 8)
    font = ImageFont.truetype(str(font_path()), em)
    # Mincho hairlines vanish in red at seal size; a stroke gives even, carved-looking lines.
    stroke = max(1, round(em * 0.03))
    for char, (x, y, w, h) in zip(chars, cells, strict=True):
        glyph = Image.new("L", (2 * em, 2 * em), 0)
        ImageDraw.Draw(glyph).text(
            (em // 2, em // 2), char, font=font, fill=255, stroke_width=stroke, stroke_fill=255
        )
        ink = glyph.getbbox()
        if ink is None:  # a glyph without ink (unknown to the font): leave the cell empty
            continue
        glyph = glyph.crop(ink)
        # Seal glyphs fill their cell, as carved ones do, but a flat glyph (一, ノ) may only
        # stretch so far before it stops looking like itself.
        pad = 0.04
        room_w, room_h = w * (1 - 2 * pad), h * (1 - 2 * pad)
        fit = min(room_w / glyph.width, room_h / glyph.height)
        scale_w = min(room_w / glyph.width, fit * max_stretch)
        scale_h = min(room_h / glyph.height, fit * max_stretch)
        target = (max(1, round(glyph.width * scale_w)), max(1, round(glyph.height * scale_h)))
        glyph = glyph.resize(target, Image.Resampling.LANCZOS)
        left = round(x + (w - glyph.width) / 2)
        top = round(y + (h - glyph.height) / 2)
        mask.paste(255, (left, top), glyph)


def _to_png(mask: Image.Image, size_px: int) -> bytes:
    """Scale the supersampled ink mask down and colour it seal red on transparency."""
    alpha = mask.resize((size_px, size_px), Image.Resampling.LANCZOS)
    alpha = alpha.point(lambda v: round(v * INK_ALPHA))
    image = Image.new("RGBA", (size_px, size_px), (*SEAL_RED, 0))
    image.putalpha(alpha)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
