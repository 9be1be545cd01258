"""The copy-deterrent tint (けん制文字 / 地紋): an even tone on the original, 「複写」 on a copy.

The page is tiled with cells of 6 × 6 printer dots at 600 dpi (0.25 mm). A background
cell holds nine single black dots (0.04 mm) on a 2-dot lattice: a 0.085 mm pattern,
far finer than the eye resolves at 30 cm (60 cycles/degree) and too fine for a
copier, whose optics blur it into an even light grey above its threshold. A cell
inside the word holds one 5 × 5 dot (0.21 mm) of a light grey ink (36 % of black): the
copier sees it darker than its threshold and prints it black. Both cells take the same
light from the paper (9 of 36 dots' worth), so the tone is the same to the eye; the
word's dots, at 20 cycles/degree where the eye is a half as sensitive as at its
peak and in an ink a third as dark, leave little texture (``optics.texture_contrast``).

Two inks, so the tile is a 2-bit indexed image (paper, black, grey). The tint is the
same on every certificate, so it is built once per process and embedded once per PDF,
drawn in a staggered grid by a Form XObject that both pages use, under everything
else.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from konbini.fonts import font_path

from .pdfparts import remember_flate

DPI = 600
CELL = 6  # printer dots per cell side (0.254 mm)
WORD = "複写"
INK_GREY = 0.0  # DeviceGray of the fine dots
# DeviceGray of the coarse dots: 1 − 9/25, so 25 dots of it darken as 9 black ones.
COARSE_GREY = 0.64
FINE_STEP = 2  # the fine dots' lattice, in printer dots
COARSE_DOT = (5, 5)
TILE_CELLS = (400, 200)  # 101.6 mm × 50.8 mm
WORD_HEIGHT_CELLS = 100  # about 25 mm: large enough to read on a copy from arm's length
WORD_DILATE_CELLS = 0  # the Mincho outline at cell resolution is bold enough
POINTS_PER_DOT = 72.0 / DPI
A4_HEIGHT = 297 * 72 / 25.4


def _fine_cell() -> np.ndarray:
    cell = np.zeros((CELL, CELL), dtype=bool)
    cell[::FINE_STEP, ::FINE_STEP] = True
    return cell


def _coarse_cell() -> np.ndarray:
    cell = np.zeros((CELL, CELL), dtype=bool)
    w, h = COARSE_DOT
    cell[:h, :w] = True
    return cell


FINE_CELL = _fine_cell()
COARSE_CELL = _coarse_cell()
COVERAGE = float(FINE_CELL.mean())  # the tint's tone: 0.25 of the paper's light taken


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
def tile_inks() -> tuple[np.ndarray, np.ndarray]:
    """The tile at 600 dpi as two boolean ``(rows·CELL, cols·CELL)`` stencils: the
    fine black dots and the coarse grey dots."""
    word = word_cells()
    rows, cols = word.shape
    in_word = np.repeat(np.repeat(word, CELL, axis=0), CELL, axis=1)
    fine = np.tile(FINE_CELL, (rows, cols)) & ~in_word
    coarse = np.tile(COARSE_CELL, (rows, cols)) & in_word
    return fine, coarse


def tile_dots() -> np.ndarray:
    """Every inked dot of the tile, of either ink (boolean)."""
    fine, coarse = tile_inks()
    return fine | coarse


def tile_reflectance() -> np.ndarray:
    """The tile as printed, as reflectance (1.0 paper): for measurements."""
    fine, coarse = tile_inks()
    out = np.ones(fine.shape, dtype=np.float32)
    out[fine] = INK_GREY
    out[coarse] = COARSE_GREY
    return out


@dataclass(frozen=True)
class TintPlacement:
    """Where the tiles go on a page, in points; rows alternate by half a tile."""

    x: float
    y: float


def placements(page_w: float, page_h: float) -> list[TintPlacement]:
    """Tile origins covering the page, rows counted down from its top edge, where a
    printer's raster (and PDFium's) begins: every dot falls on the 600 dpi grid of the
    page's top-left corner, so it prints exactly where it was designed, whatever the
    page's height in points."""
    cols, rows = TILE_CELLS
    tile_w, tile_h = cols * CELL * POINTS_PER_DOT, rows * CELL * POINTS_PER_DOT
    out: list[TintPlacement] = []
    row = 0
    top = page_h
    while top > 0:
        shift = (tile_w / 2) if row % 2 else 0.0
        x = -shift
        while x < page_w:
            out.append(TintPlacement(round(x, 4), round(top - tile_h, 4)))
            x += tile_w
        top -= tile_h
        row += 1
    return out


def tile_size_points() -> tuple[float, float]:
    cols, rows = TILE_CELLS
    return cols * CELL * POINTS_PER_DOT, rows * CELL * POINTS_PER_DOT


# The tile's palette (DeviceGray levels, 0-255) by index: paper, fine ink, coarse ink.
PALETTE = bytes((255, round(INK_GREY * 255), round(COARSE_GREY * 255)))


@functools.lru_cache(maxsize=1)
def tile_indexed_flate() -> tuple[int, int, bytes]:
    """``(width, height, Flate data)`` of the tile as a 2-bit image indexing
    :data:`PALETTE`. An image, not stencil masks: a viewer that shows the page smaller
    than printed averages its pixels (PDFium does), so the tint looks on a screen as it
    does on paper; a stencil mask is sampled instead, and the word would show in its
    aliasing. The paper-white pixels paint white over white paper: the tint is drawn
    first, under everything."""
    fine, coarse = tile_inks()
    index = fine.astype(np.uint8) + 2 * coarse.astype(np.uint8)
    quads = index.reshape(index.shape[0], -1, 4)
    packed = (quads[:, :, 0] << 6) | (quads[:, :, 1] << 4) | (quads[:, :, 2] << 2) | quads[:, :, 3]
    data = packed.astype(np.uint8).tobytes()
    flate = zlib.compress(data, 9)
    remember_flate(flate, data)  # the front's digest need not inflate it again
    return index.shape[1], index.shape[0], flate


# Each tile is drawn this much (points, half a 600 dpi dot) inside its place
# on every side. A renderer covers every device pixel an image touches; a tile edge
# that lands a hair past a pixel boundary (the page's height, 841.89 pt, is no whole
# number of dots, and PDF numbers are read as 32-bit floats) stretches the tile by a
# row over its neighbour, shifts its dots off the grid and prints a seam, which a
# copier reproduces as a line. With 0.06 pt PDFium renders every tile of an A4 page dot
# for dot at 600 dpi (0.03 pt still leaves a few seams); checked in test_tint.py.
TILE_INSET = 0.06


def form_content(page_w: float, page_h: float, image_name: str) -> bytes:
    """The content stream of the Form XObject that tints one page."""
    tile_w, tile_h = tile_size_points()
    w, h, d = tile_w - 2 * TILE_INSET, tile_h - 2 * TILE_INSET, TILE_INSET
    parts = ["q"]
    for p in placements(page_w, page_h):
        parts.append(f"q {w:.4f} 0 0 {h:.4f} {p.x + d:.4f} {p.y + d:.4f} cm /{image_name} Do Q")
    parts.append("Q")
    return "\n".join(parts).encode("ascii")


def word_mask(dpi: float, region: tuple[float, float, float, float],
              shape: tuple[int, int], page_h: float = A4_HEIGHT) -> np.ndarray:
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
    from_top = page_h - ys
    tile_row = np.floor(from_top / tile_h).astype(int)
    shift = np.where(tile_row % 2 == 1, tile_w / 2, 0.0)
    # Within the tile: row 0 of the tile image is its top edge.
    in_tile_y = from_top - tile_row * tile_h
    cell_r = np.floor(in_tile_y / cell_pt).astype(int).clip(0, rows - 1)
    in_tile_x = (xs[None, :] + shift[:, None]) % tile_w
    cell_c = np.floor(in_tile_x / cell_pt).astype(int).clip(0, cols - 1)
    return word[cell_r[:, None], cell_c]
