"""The 見本 (SAMPLE) mark on every page of a certificate signed with a development key.

A reference implementation must never print a document that passes for a real one:
whatever a development key signs (the demo, the tests, a center nobody has given a
production key) says 見本 on its front and its back, in words along the top edge and
in large letters: across the front in outline letters that leave the content
readable, and on the back in the free column between the QR code and the detection
image, clear of everything a scanner must read (QR code, scrambled image,
registration marks). The mark is drawn over the municipality's content, before the
front's digest (``fpd``) is taken, so the signature covers it: removing it makes the
front ``edited``.

Both marks are drawn (:func:`draw_mark`) as pages 2 and 3 of the back page's cached
text layer, in its Mincho (``back_page``), so the certificate embeds one font subset
for its words and both marks; each thread that finishes certificates keeps that
layer open with the marks already made Form XObjects, and copies them from there.
"""

from __future__ import annotations

import pikepdf
from pikepdf import Name
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .layout import DETECTION_BOX, QR_BOX

WORD = "見本"
NOTICE = "見本（SAMPLE）　開発用の鍵で署名された見本です。証明書としての効力はありません。"
# A red that prints visibly on any printer and stays readable through.
MARK_RGB = (0.85, 0.1, 0.1)
WORD_SIZE = 200.0
BACK_WORD_SIZE = 44.0
SAMPLE_XOBJECT = "/KonbiniSample"
SIDES = ("front", "back")


def draw_mark(canvas: Canvas, font: str, side: str) -> None:
    """Draw ``side``'s mark ("front" or "back") on the canvas's current page, in
    ``font`` (a registered Mincho)."""
    width, height = A4
    canvas.setFillColorRGB(*MARK_RGB)
    canvas.setStrokeColorRGB(*MARK_RGB)
    canvas.setFont(font, 9)
    canvas.drawCentredString(width / 2, height - 9 * mm, NOTICE)
    if side == "front":
        canvas.saveState()
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        canvas.setLineWidth(2.5)
        text = canvas.beginText()
        text.setTextRenderMode(1)  # outline only: what is under it stays legible
        text.setFont(font, WORD_SIZE)
        text.setTextOrigin(-WORD_SIZE, -WORD_SIZE * 0.35)
        text.textOut(WORD)
        canvas.drawText(text)
        canvas.restoreState()
    else:
        # Between the QR code's caption and the detection image's label.
        centre_x = QR_BOX.x + QR_BOX.w / 2
        middle_y = (QR_BOX.y - 20 * mm + DETECTION_BOX.top + 6 * mm) / 2
        canvas.setLineWidth(1.5)
        canvas.rect(centre_x - BACK_WORD_SIZE * 1.2, middle_y - BACK_WORD_SIZE * 0.75,
                    BACK_WORD_SIZE * 2.4, BACK_WORD_SIZE * 1.6, stroke=1, fill=0)
        canvas.setFont(font, BACK_WORD_SIZE)
        canvas.drawCentredString(centre_x, middle_y - BACK_WORD_SIZE * 0.2, WORD)
        canvas.setFont(font, 10)
        canvas.drawCentredString(centre_x, middle_y - BACK_WORD_SIZE * 0.6, "SAMPLE")


def add_sample_mark(document: pikepdf.Pdf, page: pikepdf.Page, form: pikepdf.Object) -> None:
    """Draw a mark over ``page`` of ``document``: ``form`` (a Form XObject of another
    PDF, see ``back_page.sample_mark_form``) becomes :data:`SAMPLE_XOBJECT`, drawn in a
    content stream of its own after the page's."""
    page.add_resource(document.copy_foreign(form), Name.XObject, SAMPLE_XOBJECT)
    page.contents_add(pikepdf.Stream(document, f"q {SAMPLE_XOBJECT} Do Q\n".encode()))
