"""What the tests look at, the way a user would: the PDF's text and its QR code."""

from __future__ import annotations

import asyncio
import inspect
import io
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import zxingcpp

from konbini.pdfium import pdf_document

A4_POINTS = (595.28, 841.89)
T = TypeVar("T")


def pdf_pages_text(pdf: bytes) -> list[str]:
    with pdf_document(pdf) as document:
        return [page.get_textpage().get_text_range() for page in document]


def pdf_page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    with pdf_document(pdf) as document:
        return [(page.get_width(), page.get_height()) for page in document]


def pdf_qr_codes(pdf: bytes, page_index: int = 1, dpi: int = 200) -> list[str]:
    """Rasterise a page as a scanner would and read every QR code on it."""
    with pdf_document(pdf) as document:
        image = document[page_index].render(scale=dpi / 72).to_pil()
    return [r.text for r in zxingcpp.read_barcodes(image)
            if r.format == zxingcpp.BarcodeFormat.QRCode]


def embedded_font_files(pdf: bytes) -> int:
    import pikepdf

    count = 0
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary) and "/FontFile2" in obj:
                count += 1
    return count


def table_count(database: Path, table: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def database_dump(database: Path) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return "\n".join(db.iterdump())


def query_one(database: Path, sql: str, *params: object) -> object:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        row = db.execute(sql, params).fetchone()
    return None if row is None else row[0]


# Waiting for something another process does (the center's upkeep, a server
# coming back) takes what the machine takes: poll for the condition, with a
# bound far beyond any machine's time, never a fixed sleep or a tight timeout.
PATIENCE_SECONDS = 180.0


async def eventually(condition: Callable[[], Awaitable[T | None] | T | None], *,
                     within: float = PATIENCE_SECONDS, every: float = 0.2) -> T:
    """The first truthy value of ``condition()`` (sync or async), polled every
    ``every`` seconds; AssertionError with the last value after ``within``."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {within:.0f} s")
        await asyncio.sleep(every)
