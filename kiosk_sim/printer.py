"""The kiosk's printer, simulated: the PDF the center sent becomes the images
that would come out of the machine (front and back of one A4 sheet), and a
paper jam the tester injected stops it part-way."""

from __future__ import annotations

import io
from dataclasses import dataclass

from konbini.pdfium import pdf_document

# Enough to read the certificate on screen; the PDF stays the real output.
SCREEN_DPI = 110


def render_pages(pdf: bytes, dpi: int = SCREEN_DPI) -> list[bytes]:
    """Every page of ``pdf`` as PNG bytes (front, back). Thread-safe: many kiosks print
    at once, and PDFium is used under its process-wide lock."""
    with pdf_document(pdf) as document:
        images = [page.render(scale=dpi / 72).to_pil() for page in document]
    pages = []
    for image in images:  # PNG encoding needs no PDFium: outside the lock
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
        pages.append(out.getvalue())
    return pages


@dataclass(frozen=True)
class PaperJam:
    """Jam at copy ``at`` (1-based); that copy and every later one fail,
    because a jammed printer stops. ``at`` None: no jam."""

    at: int | None = None

    def fails(self, copy_number: int) -> bool:
        return self.at is not None and copy_number >= self.at
