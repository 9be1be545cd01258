"""PDFium (pypdfium2), shared by every service: one lock for the whole process.

PDFium is not thread-safe, and each service calls it from threads (the center
finishes certificates and reads uploads in a pool; the kiosk simulator renders
printouts with ``asyncio.to_thread``). Every use holds ``PDFIUM_LOCK``, taken for
you by :func:`pdf_document`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pypdfium2 as pdfium

PDFIUM_LOCK = threading.Lock()


@contextlib.contextmanager
def pdf_document(pdf: bytes) -> Iterator[pdfium.PdfDocument]:
    """``pdf`` opened by PDFium, usable while the block runs and PDFIUM_LOCK is held.

    Raises ``pypdfium2.PdfiumError`` when PDFium cannot read it."""
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            yield document
        finally:
            document.close()
