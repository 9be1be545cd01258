"""What the tests look at, the way a user would: the PDF's text and its QR code."""

from __future__ import annotations

import asyncio
import inspect
import io
import itertools
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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


# The databases of the system under test: a SQLite file (the default) or a
# PostgreSQL URL (KONBINI_TEST_DATABASE=postgresql), read-only from the tests.
Database = Path | str


def _on_postgres(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``work(connection)`` against PostgreSQL from synchronous test code
    (which may itself run inside pytest's event loop: a thread of its own)."""
    import asyncpg

    async def run() -> Any:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return await work(connection)
        finally:
            await connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _dollar(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2 …``."""
    numbers = itertools.count(1)
    return re.sub(r"\?", lambda _m: f"${next(numbers)}", sql)


def query_rows(database: Database, sql: str, *params: object) -> list[dict[str, Any]]:
    if isinstance(database, str):
        async def rows(connection: Any) -> list[dict[str, Any]]:
            return [dict(r) for r in await connection.fetch(_dollar(sql), *params)]
        return list(_on_postgres(database, rows))
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, params).fetchall()]


def table_count(database: Database, table: str) -> int:
    return int(query_one(database, f"SELECT COUNT(*) FROM {table}") or 0)


def database_dump(database: Database, *, without: tuple[str, ...] = ()) -> str:
    """Every row of every table, in a stable order; not the rows of the tables
    ``without`` (ones a service changes on its own schedule)."""
    if isinstance(database, str):
        async def dump(connection: Any) -> str:
            tables = [r["tablename"] for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
            lines = []
            for table in tables:
                if table in without:
                    continue
                rows = await connection.fetch(f'SELECT * FROM "{table}"')
                lines += sorted(f"{table} {tuple(r.values())!r}" for r in rows)
            return "\n".join(lines)
        return str(_on_postgres(database, dump))
    skipped = tuple(f'INSERT INTO "{table}" ' for table in without)
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return "\n".join(line for line in db.iterdump()
                         if not (skipped and line.startswith(skipped)))


def query_one(database: Database, sql: str, *params: object) -> object:
    rows = query_rows(database, sql, *params)
    return None if not rows else next(iter(rows[0].values()))


def copy_database(source: Database, target: Database) -> None:
    """Every row of ``source`` into ``target`` (made by the same migrations)."""
    if isinstance(source, Path):
        with sqlite3.connect(source) as db, sqlite3.connect(target) as copy:
            db.backup(copy)
        return
    tables = [r["tablename"] for r in query_rows(
        source, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version' ORDER BY 1")]

    async def copy(connection: Any) -> None:
        # A superuser's copy: rows in any order, foreign keys checked by the source.
        await connection.execute("SET session_replication_role = replica")
        for table in tables:
            rows = query_rows(source, f'SELECT * FROM "{table}"')
            if rows:
                await connection.copy_records_to_table(
                    table, records=[tuple(r.values()) for r in rows], columns=list(rows[0]))
        # Serial columns go on from the copied rows' greatest value.
        for table, column in await connection.fetch(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_default LIKE 'nextval%'"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f'COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)')
    _on_postgres(str(target), copy)


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


# -- a cluster's kiosks: enrolled terminals and cards of synthetic residents --------

def enrolled_terminals(topology: Any, tmp_path: Path, count: int, prefix: str,
                       chain: str) -> list[Any]:
    """``count`` new kiosk terminals of ``chain``, their TLS client certificates
    from the dev PKI, enrolled in the center's registry (tests that start their
    own system of several workers)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from kiosk_sim.client import Terminal
    from konbini.devpki import DevPki, issue_tls_client_cert

    pki = DevPki.at(topology.pki)
    terminals = []
    for i in range(count):
        subject = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, f"{prefix}-{i:02d}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, chain),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"store-{prefix}-{i:02d}")])
        cert, key = issue_tls_client_cert(pki, subject, tmp_path / f"{prefix}-{i:02d}")
        terminals.append(Terminal(topology.center_url, cert, key,
                                  topology.pki / "tls-ca.cert.pem"))
    topology.enrol_terminals([t.cert for t in terminals])
    return terminals


async def synthetic_cards(topology: Any, code: str, count: int,
                          clock_at: str) -> list[tuple[Any, str]]:
    """Fresh cards of the first member of ``count`` synthetic households of
    municipality ``code``, each with its holder's name."""
    from konbini.clock import Clock, parse_instant
    from konbini.persona_cards import issue_card
    from konbini.personas import persona_card
    from municipal_server.personas import resident_code, synthetic_household

    cards = []
    for i in range(count):
        key, resident = synthetic_household(code, "", i).members[0]
        card, _ = await issue_card(topology.center_url, topology.pki,
                                   persona_card("kasumi-taro"), Clock(parse_instant(clock_at)),
                                   resident=resident_code(code, key))
        cards.append((card, resident.name))
    return cards
