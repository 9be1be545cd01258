"""The detection image (偽造防止検出画像): a latent 「証」 that only infrared reveals.

The character is printed in carbon black (K) alone; around it, a mix of cyan, magenta
and yellow chosen to look the same grey. To the eye (and to a colour scanner) the
square is even. Carbon black absorbs infrared and the CMY inks do not, so an
infrared camera (``optics.ir_view``) sees the character. A colour copier sees only
visible light and separates it again (``optics.colour_copy_plates``): the copy's K
plate is even, and the character is gone.

The mix was matched to K = 110/255 through PDFium's CMYK conversion (the renderer
every model here uses): within 1/255 in each of R, G and B. The image is the same on
every certificate, so it is built and compressed once per process.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from konbini.fonts import font_path

DPI = 150
SIDE_MM = 40.0
LATENT = "証"
LATENT_K = 110
# C, M, Y that PDFium renders as the same sRGB grey as K = LATENT_K alone.
MATCHING_CMY = (99, 78, 75)
LATENT_HEIGHT = 0.72  # of the side


def side_px() -> int:
    return round(SIDE_MM / 25.4 * DPI)


@functools.lru_cache(maxsize=1)
def latent_mask() -> np.ndarray:
    """Where the latent character is: boolean ``(side, side)``, row 0 at the top."""
    side = side_px()
    font = ImageFont.truetype(str(font_path()), round(side * LATENT_HEIGHT))
    left, top, right, bottom = font.getbbox(LATENT)
    canvas = Image.new("L", (side, side), 0)
    x = (side - (right - left)) // 2 - left
    y = (side - (bottom - top)) // 2 - top
    # A stroke makes the Mincho strokes bold enough for an infrared camera to resolve.
    ImageDraw.Draw(canvas).text((x, y), LATENT, font=font, fill=255, stroke_width=2,
                                stroke_fill=255)
    return np.asarray(canvas) > 127


@functools.lru_cache(maxsize=1)
def plates() -> np.ndarray:
    """The four plates the printer receives: ``(side, side, 4)`` uint8 C, M, Y, K."""
    mask = latent_mask()
    out = np.zeros((*mask.shape, 4), dtype=np.uint8)
    out[~mask, :3] = MATCHING_CMY
    out[mask, 3] = LATENT_K
    return out


@functools.lru_cache(maxsize=1)
def image_flate() -> tuple[int, int, bytes]:
    """``(width, height, Flate data)`` of the DeviceCMYK image."""
    data = plates()
    return data.shape[1], data.shape[0], zlib.compress(data.tobytes(), 9)
