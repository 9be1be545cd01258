"""The kiosk's printer, simulated: the PDF the center sent becomes the images
that would come out of the machine (front and back of one A4 sheet), and a
paper jam the tester injected stops it part-way."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium

# Enough to read the certificate on screen; the PDF stays the real output.
SCREEN_DPI = 110


def render_pages(pdf: bytes, dpi: int = SCREEN_DPI) -> list[bytes]:
    """Every page of ``pdf`` as PNG bytes (front, back)."""
    document = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for page in document:
            image = page.render(scale=dpi / 72).to_pil()
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=False)
            pages.append(out.getvalue())
        return pages
    finally:
        document.close()


@dataclass(frozen=True)
class PaperJam:
    """Jam at copy ``at`` (1-based); that copy and every later one fail,
    because a jammed printer stops. ``at`` None: no jam."""

    at: int | None = None

    def fails(self, copy_number: int) -> bool:
        return self.at is not None and copy_number >= self.at
