"""The back page (裏面) the center adds to every certificate: 偽造防止情報.

It carries the signed QR code, the certificate number (証明書番号), the type and the
issuing municipality, and reserves the places of the scrambled image (スクランブル画像)
and the detection image (偽造防止検出画像) that a later version prints. It never
carries personal data: a lost back page tells a finder nothing about the resident.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from konbini.fonts import RENDER_LOCK, register_mincho
from konbini.page import Box

from .qr import BORDER_MODULES, matrix_image, qr_matrix

# Our own registered name: the municipal renderer's font (another name) is never shared.
FONT_NAME = "KonbiniCenterMincho"

VERIFY_PATH = "/verify"

PAGE_W, PAGE_H = A4
MARGIN = 20 * mm
INK = (0.0, 0.0, 0.0)
FRAME_GREY = (0.55, 0.55, 0.55)
NOTE_GREY = (0.25, 0.25, 0.25)





# The layout, public so the later issue that fills the frames draws into the same boxes.
# The scrambled front keeps the A4 aspect ratio (1 : √2).
SCRAMBLE_BOX = Box(MARGIN, 75 * mm, 105 * mm, 105 * mm * 2**0.5)
# The visible QR symbol; its white quiet zone extends beyond the box.
QR_BOX = Box(PAGE_W - MARGIN - 40 * mm, SCRAMBLE_BOX.top - 40 * mm, 40 * mm, 40 * mm)
DETECTION_BOX = Box(QR_BOX.x, SCRAMBLE_BOX.y, 40 * mm, 40 * mm)

def _font() -> str:
    return register_mincho(FONT_NAME)


# Characters that may not start a line (行頭禁則): they hang on the line before.
_NO_LINE_START = "、。，．・：；？！）」』】〕ー"


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break Japanese text between any two characters, keeping 禁則 punctuation attached."""
    lines: list[str] = []
    line = ""
    for char in text:
        if line and stringWidth(line + char, font, size) > width and char not in _NO_LINE_START:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest size up to ``size`` at which ``text`` fits on one line of ``width``."""
    natural = stringWidth(text, font, size)
    return size if natural <= width else size * width / natural


def _paragraph(canvas: Canvas, text: str, font: str, size: float, x: float, top: float,
               width: float, leading: float) -> float:
    """Draw wrapped text from ``top`` down; return the baseline of the last line."""
    y = top
    for line in _wrap(text, font, size, width):
        y -= leading
        canvas.drawString(x, y, line)
    return y


def _frame(canvas: Canvas, box: Box, label: str, font: str) -> None:
    canvas.setFillColorRGB(*INK)
    canvas.setFont(font, 9)
    canvas.drawString(box.x, box.top + 2.5 * mm, label)
    canvas.setStrokeColorRGB(*FRAME_GREY)
    canvas.setLineWidth(0.6)
    canvas.rect(box.x, box.y, box.w, box.h, stroke=1, fill=0)


def render_back_page(*, token: str, certificate_number: str, municipality_name: str,
                     cert_label: str) -> bytes:
    """The one-page A4 back page (偽造防止情報) as PDF bytes; no personal data on it."""
    font = _font()
    # The QR code is pure-Python work that touches no shared state: outside the lock.
    matrix = qr_matrix(token)
    qr = ImageReader(matrix_image(matrix))
    quiet = QR_BOX.w * BORDER_MODULES / (len(matrix) - 2 * BORDER_MODULES)
    out = io.BytesIO()
    with RENDER_LOCK:
        # invariant: no creation date or random file id, so equal input gives equal bytes.
        canvas = Canvas(out, pagesize=A4, pageCompression=1, invariant=1, lang="ja",
                        initialFontName=font)
        canvas.setTitle("偽造防止情報")
        canvas.setSubject(f"{municipality_name} {cert_label} {certificate_number}")
        canvas.setCreator("konbini-issuance center")
        _draw(canvas, font, qr, quiet, certificate_number=certificate_number,
              municipality_name=municipality_name, cert_label=cert_label)
        canvas.showPage()
        canvas.save()
    return out.getvalue()


def _draw(canvas: Canvas, font: str, qr: ImageReader, quiet: float, *, certificate_number: str,
          municipality_name: str, cert_label: str) -> None:
    width = PAGE_W - 2 * MARGIN
    canvas.setFillColorRGB(*INK)

    # Heading and the identification of the certificate the sheet belongs to.
    heading_y = PAGE_H - 30 * mm
    canvas.setFont(font, 20)
    canvas.drawCentredString(PAGE_W / 2, heading_y, "偽造防止情報")
    canvas.setStrokeColorRGB(*INK)
    canvas.setLineWidth(0.8)
    canvas.line(MARGIN, heading_y - 5 * mm, PAGE_W - MARGIN, heading_y - 5 * mm)

    rows = (("証明書の種類", cert_label), ("発行市区町村", municipality_name),
            ("証明書番号", certificate_number))
    label_w = 32 * mm
    y = heading_y - 14 * mm
    for label, value in rows:
        canvas.setFont(font, 10)
        canvas.drawString(MARGIN + 4 * mm, y, label)
        size = _fit(value, font, 12, width - label_w - 8 * mm)
        canvas.setFont(font, size)
        canvas.drawString(MARGIN + 4 * mm + label_w, y, value)
        y -= 7.5 * mm

    # The reserved frames a later version fills, and the QR code.
    _frame(canvas, SCRAMBLE_BOX, "スクランブル画像", font)
    _frame(canvas, DETECTION_BOX, "偽造防止検出画像", font)
    canvas.drawImage(qr, QR_BOX.x - quiet, QR_BOX.y - quiet,
                     QR_BOX.w + 2 * quiet, QR_BOX.h + 2 * quiet)
    canvas.setFillColorRGB(*NOTE_GREY)
    canvas.setFont(font, 8)
    caption = (f"照会サイト（{VERIFY_PATH}）で", "読み取ると、この証明書の", "内容を確認できます。")
    for n, line in enumerate(caption):
        canvas.drawCentredString(QR_BOX.x + QR_BOX.w / 2, QR_BOX.y - 2 * mm - (n + 1) * 11,
                                  line)

    # What the features are for, in the words a relying party (銀行、公証人) needs.
    canvas.setFillColorRGB(*INK)
    canvas.setFont(font, 10)
    top = SCRAMBLE_BOX.y - 10 * mm
    canvas.drawString(MARGIN, top, "この面について")
    canvas.setFont(font, 9)
    notes = (
        "この証明書は、コンビニエンスストア等のキオスク端末から交付されたものです。",
        "QRコードは証明書交付センターの電子署名です。照会サイトにこの面の画像を送ると、"
        "交付の記録と表面の内容を照会できます。",
        "スクランブル画像は表面を暗号化した画像、偽造防止検出画像は複写すると失われる"
        "潜像を含む画像です。",
    )
    y = top - 1.5 * mm
    for note in notes:
        canvas.drawString(MARGIN + 2 * mm, y - 13, "・")
        y = _paragraph(canvas, note, font, 9, MARGIN + 6 * mm, y, width - 6 * mm, 13) - 2
