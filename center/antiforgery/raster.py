"""Rasterising PDF pages with PDFium (pypdfium2), the one renderer the center uses.

PDFium is not thread-safe: the center finishes certificates in a thread pool and the
inquiry site renders uploads in threads, so every call into PDFium holds the
process's ``konbini.pdfium.PDFIUM_LOCK``. Rendering a front at 72 dpi takes about
6 ms, most of it opening the document and its font; the lock costs no throughput on
a 2-core machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pypdfium2 as pdfium

from konbini.page import Box
from konbini.pdfium import pdf_document

POINTS_PER_INCH = 72.0


class RenderError(ValueError):
    """The bytes are not a PDF PDFium can open, or the page does not exist."""


@contextlib.contextmanager
def _opened(pdf: bytes) -> Iterator[pdfium.PdfDocument]:
    """The document, open while PDFium's lock is held; RenderError if PDFium cannot read it."""
    try:
        with pdf_document(pdf) as document:
            yield document
    except pdfium.PdfiumError as exc:
        raise RenderError("not a PDF PDFium can open") from exc


def _page_and_crop(document: pdfium.PdfDocument, page_index: int, scale: float,
                   box: Box | None, max_pixels: int,
                   ) -> tuple[pdfium.PdfPage, tuple[float, float, float, float]]:
    """The page and PDFium's crop for ``box``; refuses a raster over ``max_pixels``."""
    if not 0 <= page_index < len(document):
        raise RenderError(f"the PDF has no page {page_index + 1}")
    page = document[page_index]
    width, height = page.get_width(), page.get_height()
    crop = (0.0, 0.0, 0.0, 0.0)
    if box is not None:
        # PDFium crops (left, bottom, right, top) away from the page, in points.
        crop = (max(0.0, box.x), max(0.0, box.y), max(0.0, width - box.right),
                max(0.0, height - box.top))
    out_w = (width - crop[0] - crop[2]) * scale
    out_h = (height - crop[1] - crop[3]) * scale
    if out_w <= 0 or out_h <= 0 or out_w * out_h > max_pixels:
        raise RenderError("the page is too large to render")
    return page, crop


def render_grey(pdf: bytes, page_index: int = 0, dpi: float = 72.0,
                box: Box | None = None, max_pixels: int = 60_000_000) -> np.ndarray:
    """One page (or the part of it inside ``box``, in PDF points) as 8-bit grey.

    Row 0 is the top of the page, as on paper. ``max_pixels`` refuses a page whose
    raster would be unreasonably large (a hostile upload with a huge MediaBox)."""
    scale = dpi / POINTS_PER_INCH
    with _opened(pdf) as document:
        page, crop = _page_and_crop(document, page_index, scale, box, max_pixels)
        # No interactive form fields: a certificate has none, and they cost 0.5 ms.
        bitmap = page.render(scale=scale, crop=crop, grayscale=True, may_draw_forms=False)
        array = bitmap.to_numpy()
        return np.array(array[:, :, 0] if array.ndim == 3 else array, dtype=np.uint8)


def render_rgb(pdf: bytes, page_index: int = 0, dpi: float = 72.0,
               box: Box | None = None, max_pixels: int = 60_000_000) -> np.ndarray:
    """Like :func:`render_grey` in colour: ``(h, w, 3)`` uint8 in R, G, B order."""
    scale = dpi / POINTS_PER_INCH
    with _opened(pdf) as document:
        page, crop = _page_and_crop(document, page_index, scale, box, max_pixels)
        bitmap = page.render(scale=scale, crop=crop, rev_byteorder=True)
        return np.array(bitmap.to_numpy()[:, :, :3], dtype=np.uint8)


def page_count_and_size(pdf: bytes) -> tuple[int, float, float]:
    """``(pages, width, height of page 1 in points)``; raises :class:`RenderError`."""
    with _opened(pdf) as document:
        if len(document) == 0:
            raise RenderError("the PDF has no pages")
        page = document[0]
        return len(document), page.get_width(), page.get_height()
