"""The kiosk's printer, simulated: the PDF the center sent becomes the images
that would come out of the machine (front and back of one A4 sheet), and a
paper jam the tester injected stops it part-way.

The images show the paper as a person sees it: the page is rendered at
``PRINT_DPI`` and each block of ``PRINT_DPI / SCREEN_DPI`` pixels averaged, a
0.25 mm square, one cell of the copy-deterrent tint. The tint's dots are far finer
than a screen pixel; a renderer scaling them down directly samples them, and the
latent 「複写」 would show in the aliasing, which the paper never shows."""

from __future__ import annotations

import io
from dataclasses import dataclass

from konbini.pdfium import pdf_document

# Enough to read the certificate on screen; the PDF stays the real output.
SCREEN_DPI = 100
# Rendered at this, then averaged down to SCREEN_DPI: 3 × 3 pixels of 300 dpi are
# one 0.254 mm cell of the tint (6 × 6 printer dots), so every block holds the
# cell's whole tone, whichever cell it is.
PRINT_DPI = 300


def render_pages(pdf: bytes, dpi: int = SCREEN_DPI, print_dpi: int = PRINT_DPI) -> list[bytes]:
    """Every page of ``pdf`` as PNG bytes (front, back), as the paper looks. Thread-safe:
    many kiosks print at once, and PDFium is used under its process-wide lock.
    ``print_dpi`` 600 renders each printer dot as a pixel: exact, and slower (the docs'
    gallery); 300 leaves faint traces where PDFium halves the dots at the word's edges."""
    factor = max(1, round(print_dpi / dpi))
    with pdf_document(pdf) as document:
        images = [page.render(scale=dpi * factor / 72).to_pil() for page in document]
    pages = []
    for image in images:  # averaging and PNG encoding need no PDFium: outside the lock
        out = io.BytesIO()
        image.reduce(factor).save(out, format="PNG", optimize=False)
        pages.append(out.getvalue())
    return pages


@dataclass(frozen=True)
class PaperJam:
    """Jam at copy ``at`` (1-based); that copy and every later one fail,
    because a jammed printer stops. ``at`` None: no jam."""

    at: int | None = None

    def fails(self, copy_number: int) -> bool:
        return self.at is not None and copy_number >= self.at
