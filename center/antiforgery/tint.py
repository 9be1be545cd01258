"""The copy-deterrent tint (けん制文字 / 地紋): an even tone on the original, 「複写」 on a copy.

The page is tiled with cells of 20 × 20 printer dots at 600 dpi (0.85 mm). A
background cell holds fine dots (twenty of 2 × 2 printer dots and ten single ones); a
cell inside the word holds one coarse dot of 10 × 9. Both ink exactly 90 of the 400
dots, so the tone is the same to the eye (``optics.eye_view``). A copier's optics blur
the fine dots into a light grey that its threshold drops, and keep the coarse dots: the
word appears (``optics.photocopy``).

The tint is the same on every certificate, so it is built once per process: one
1-bit tile of ``TILE_CELLS`` cells, embedded once per PDF as a stencil mask and drawn
in a staggered grid by a Form XObject that both pages use, under everything else.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from konbini.fonts import font_path

DPI = 600
CELL = 20  # printer dots per cell side
WORD = "複写"
INK_GREY = 0.0  # DeviceGray of the dots; see the module docstring of optics for why black
# Fine dots: twenty of 2 × 2 on a 5 (across) × 4 (down) lattice and ten single dots
# between them → 90 of 400 dots inked, all smaller than a copier's 300 dpi pixel.
FINE_DOT = 2
FINE_PITCH = (5, 4)
SINGLE_DOTS = tuple((y, x) for y in range(3, CELL, 4) for x in (4, 14))
# Coarse dot: one 10 × 9 block in the middle of the cell → also 90 of 400.
COARSE_DOT = (10, 9)
TILE_CELLS = (120, 60)  # 101.6 mm × 50.8 mm
WORD_HEIGHT_CELLS = 30  # about 25 mm: large enough to read on a copy from arm's length
WORD_DILATE_CELLS = 0  # the Mincho outline at cell resolution is bold enough
POINTS_PER_DOT = 72.0 / DPI


def _fine_cell() -> np.ndarray:
    cell = np.zeros((CELL, CELL), dtype=bool)
    px, py = FINE_PITCH
    for y in range(0, CELL, py):
        for x in range(0, CELL, px):
            cell[y + 1:y + 1 + FINE_DOT, x + 1:x + 1 + FINE_DOT] = True
    for y, x in SINGLE_DOTS:
        cell[y, x] = True
    return cell


def _coarse_cell() -> np.ndarray:
    cell = np.zeros((CELL, CELL), dtype=bool)
    w, h = COARSE_DOT
    x0, y0 = (CELL - w) // 2, (CELL - h) // 2
    cell[y0:y0 + h, x0:x0 + w] = True
    return cell


FINE_CELL = _fine_cell()
COARSE_CELL = _coarse_cell()
COVERAGE = float(FINE_CELL.mean())  # the tint's tone: 0.225 of the paper inked


@functools.lru_cache(maxsize=1)
def word_cells() -> np.ndarray:
    """Which cells of one tile draw the word: boolean ``(rows, cols)``."""
    cols, rows = TILE_CELLS
    oversample = 8
    size = WORD_HEIGHT_CELLS * oversample
    font = ImageFont.truetype(str(font_path()), size)
    left, top, right, bottom = font.getbbox(WORD)
    canvas = Image.new("L", (cols * oversample, rows * oversample), 0)
    x = (cols * oversample - (right - left)) // 2 - left
    y = (rows * oversample - (bottom - top)) // 2 - top
    ImageDraw.Draw(canvas).text((x, y), WORD, font=font, fill=255)
    coverage = np.asarray(canvas, dtype=np.float32).reshape(
        rows, oversample, cols, oversample).mean(axis=(1, 3)) / 255.0
    cells = Image.fromarray(((coverage > 0.2) * 255).astype(np.uint8))
    for _ in range(WORD_DILATE_CELLS):
        cells = cells.filter(ImageFilter.MaxFilter(3))
    return np.asarray(cells) > 127


@functools.lru_cache(maxsize=1)
def tile_dots() -> np.ndarray:
    """The tile at 600 dpi: boolean ``(rows·CELL, cols·CELL)``, True = inked dot."""
    word = word_cells()
    rows, cols = word.shape
    fine = np.tile(FINE_CELL, (rows, cols))
    coarse = np.tile(COARSE_CELL, (rows, cols))
    in_word = np.repeat(np.repeat(word, CELL, axis=0), CELL, axis=1)
    return np.where(in_word, coarse, fine)


@dataclass(frozen=True)
class TintPlacement:
    """Where the tiles go on a page, in points; rows alternate by half a tile."""

    x: float
    y: float


def placements(page_w: float, page_h: float) -> list[TintPlacement]:
    """Tile origins covering the page; every origin falls on the 600 dpi dot grid, so a
    printer (and PDFium at 600 dpi) puts every dot exactly where it was designed."""
    cols, rows = TILE_CELLS
    tile_w, tile_h = cols * CELL * POINTS_PER_DOT, rows * CELL * POINTS_PER_DOT
    out: list[TintPlacement] = []
    row = 0
    y = 0.0
    while y < page_h:
        shift = (tile_w / 2) if row % 2 else 0.0
        x = -shift
        while x < page_w:
            out.append(TintPlacement(round(x, 4), round(y, 4)))
            x += tile_w
        y += tile_h
        row += 1
    return out


def tile_size_points() -> tuple[float, float]:
    cols, rows = TILE_CELLS
    return cols * CELL * POINTS_PER_DOT, rows * CELL * POINTS_PER_DOT


@functools.lru_cache(maxsize=1)
def tile_stencil_flate() -> tuple[int, int, bytes]:
    """``(width, height, Flate data)`` of the tile as a 1-bit stencil (1 = ink)."""
    dots = tile_dots()
    packed = np.packbits(dots, axis=1)
    return dots.shape[1], dots.shape[0], zlib.compress(packed.tobytes(), 9)


def form_content(page_w: float, page_h: float, image_name: str) -> bytes:
    """The content stream of the Form XObject that tints one page."""
    tile_w, tile_h = tile_size_points()
    parts = [f"q {INK_GREY:g} g"]
    for p in placements(page_w, page_h):
        parts.append(f"q {tile_w:.4f} 0 0 {tile_h:.4f} {p.x:.4f} {p.y:.4f} cm /{image_name} Do Q")
    parts.append("Q")
    return "\n".join(parts).encode("ascii")


def word_mask(dpi: float, region: tuple[float, float, float, float],
              shape: tuple[int, int]) -> np.ndarray:
    """Where the word lies in a region of the page rendered at ``dpi``: boolean image.

    ``region`` is ``(x, y, w, h)`` in points (``y`` the bottom edge), row 0 at its top;
    ``shape`` the ``(rows, cols)`` of the rendered image. For measurements: which
    pixels should show 「複写」 on a copy."""
    x0, y0, _, h = region
    rows_px, cols_px = shape
    # The page coordinate (points) of each pixel centre.
    xs = x0 + (np.arange(cols_px) + 0.5) * 72.0 / dpi
    ys = y0 + h - (np.arange(rows_px) + 0.5) * 72.0 / dpi
    word = word_cells()
    rows, cols = word.shape
    tile_w, tile_h = tile_size_points()
    cell_pt = CELL * POINTS_PER_DOT
    tile_row = np.floor(ys / tile_h).astype(int)
    shift = np.where(tile_row % 2 == 1, tile_w / 2, 0.0)
    # Within the tile: row 0 of the tile image is its top edge.
    in_tile_y = ys - tile_row * tile_h
    cell_r = (rows - 1 - np.floor(in_tile_y / cell_pt).astype(int)).clip(0, rows - 1)
    in_tile_x = (xs[None, :] + shift[:, None]) % tile_w
    cell_c = np.floor(in_tile_x / cell_pt).astype(int).clip(0, cols - 1)
    return word[cell_r[:, None], cell_c]
