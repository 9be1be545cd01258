"""Where everything sits on the back page (裏面), in PDF points (origin bottom left).

Shared by the renderer (back_page) and the reader (scramble, inquiry): the reader
finds the QR code, predicts where the registration marks must be from where the QR
code is, finds the marks, and from them knows where every pixel of the scrambled
image lies in a scan."""

from __future__ import annotations

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from konbini.page import Box

PAGE_W, PAGE_H = A4
MARGIN = 20 * mm

# The scrambled front keeps the A4 aspect ratio (1 : √2).
SCRAMBLE_BOX = Box(MARGIN, 72 * mm, 105 * mm, 105 * mm * 2**0.5)
# The visible QR symbol; its white quiet zone extends beyond the box.
QR_BOX = Box(PAGE_W - MARGIN - 40 * mm, SCRAMBLE_BOX.top - 40 * mm, 40 * mm, 40 * mm)
DETECTION_BOX = Box(QR_BOX.x, SCRAMBLE_BOX.y, 40 * mm, 40 * mm)

# Registration marks (見当): solid squares diagonally outside the scrambled image's
# corners, each in a white quiet zone that the tint does not reach.
MARK_SIZE = 4 * mm
MARK_OFFSET = 7 * mm  # from the image corner to the mark's centre, on both axes
MARK_QUIET = 11 * mm  # side of the white square around each mark
MARK_CENTRES: tuple[tuple[float, float], ...] = (
    (SCRAMBLE_BOX.x - MARK_OFFSET, SCRAMBLE_BOX.top + MARK_OFFSET),  # top left
    (SCRAMBLE_BOX.right + MARK_OFFSET, SCRAMBLE_BOX.top + MARK_OFFSET),  # top right
    (SCRAMBLE_BOX.x - MARK_OFFSET, SCRAMBLE_BOX.y - MARK_OFFSET),  # bottom left
    (SCRAMBLE_BOX.right + MARK_OFFSET, SCRAMBLE_BOX.y - MARK_OFFSET),  # bottom right
)


def mark_box(centre: tuple[float, float], side: float = MARK_SIZE) -> Box:
    return Box(centre[0] - side / 2, centre[1] - side / 2, side, side)
