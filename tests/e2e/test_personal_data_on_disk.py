"""Personal data on disk: after settlement or void, no file under var/ holds
any part of the certificate's PDF (not the database, not its WAL, not free
pages); the databases are 0600 in 0700 directories; the municipal 交付履歴
keeps numbers and digests, never the PDF; a municipal claim's answer loses its
PDFs after its 60 seconds. On PostgreSQL the server's data directory (its WAL,
heap and TOAST files; ``var/postgres`` in ``make demo-cluster``) is searched
as well as var/."""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
import time
from pathlib import Path

import pytest

from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from municipal_server.storage import Register
from tests.conftest import TEST_DATABASE, CenterClock, System
from tests.support import eventually, query_one, query_rows

WINDOW = 32
WINDOWS = 64


def _unique_windows(pdf: bytes, *others: bytes, density: int = 4) -> list[bytes]:
    """Byte windows spread over ``pdf`` that no other certificate ``others``
    shares (fonts and boilerplate are left out); ``density`` candidates per
    window kept."""
    step = max(1, (len(pdf) - WINDOW) // (WINDOWS * density))
    windows = [pdf[i:i + WINDOW] for i in range(0, len(pdf) - WINDOW, step)]
    unique = [w for w in windows
              if len(set(w)) > 8 and not any(w in other for other in others)]
    return unique[::max(1, len(unique) // WINDOWS)]


def _held_elsewhere(database: object, sql: str, *params: object) -> list[bytes]:
    """What other rows hold (``sql``): in a session's shared system, earlier
    tests' orders of the same resident may still hold PDFs that share a window
    with this one, rightly on disk."""
    values = (next(iter(r.values())) for r in query_rows(database, sql, *params))  # type: ignore[arg-type]
    return [v if isinstance(v, bytes) else str(v).encode() for v in values if v is not None]


def _roots(system: System) -> list[Path]:
    """Where the services keep files: var/, and PostgreSQL's data directory."""
    return [system.var] + ([system.postgres.data_dir] if system.postgres else [])


class _Search:
    """Which files under ``roots`` hold windows of a PDF. PostgreSQL's data
    directory is tens of megabytes (WAL segments of 16 MB): a file not changed
    since it was read (same inode, size and modification time, and that time
    more than a second before the read) is not read again."""

    def __init__(self, roots: list[Path], windows: list[bytes]) -> None:
        self.roots, self.windows = roots, windows
        self.known: dict[Path, tuple[tuple[int, int, int], int]] = {}

    def __call__(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for root in self.roots:
            for path in root.rglob("*"):
                try:
                    status = path.stat()
                    if not stat.S_ISREG(status.st_mode) or path.suffix == ".pdf":
                        continue  # (a .pdf is test output, not the services' state)
                    key = (status.st_ino, status.st_size, status.st_mtime_ns)
                    known = self.known.get(path)
                    if known is not None and known[0] == key:
                        hits = known[1]
                    else:
                        read_at = time.time_ns()
                        data = path.read_bytes()
                        hits = sum(1 for w in self.windows if w in data)
                        if status.st_mtime_ns < read_at - 1_000_000_000:
                            self.known[path] = (key, hits)
                except FileNotFoundError:  # unlinked meanwhile (a rewritten table)
                    continue
                if hits:
                    found[str(path)] = hits
        return found


def _files_holding(roots: list[Path], windows: list[bytes]) -> dict[str, int]:
    return _Search(roots, windows)()


async def _until_no_file_holds(roots: list[Path], windows: list[bytes]) -> dict[str, int]:
    """At once, normally; a settlement's own WAL truncation may have met a
    reader, and the upkeep (every second in the tests) then finishes it (on
    PostgreSQL: rewrites the table of PDFs)."""
    search = _Search(roots, windows)
    found = search()
    if found:
        with contextlib.suppress(AssertionError):  # the caller's assert shows what is left
            await eventually(lambda: not search())
        found = search()
    return found


def _held(system: System, roots: list[Path], windows: list[bytes], database: object,
          sql: str, *params: object) -> None:
    """While the PDF may be downloaded (or a retry answered), it is held: on
    SQLite its bytes are in the files (so the search works); on PostgreSQL the
    row holds them, in an unlogged table whose pages may still be only in the
    server's memory (never in the WAL)."""
    if system.on_postgres:
        held = query_one(database, sql, *params)  # type: ignore[arg-type]
        data = held if isinstance(held, bytes) else str(held).encode()
        assert sum(1 for w in windows if w in data) == len(windows)
    else:
        assert _files_holding(roots, windows)


ORDER_PDF = "SELECT pdf FROM order_pdfs WHERE certificate_id = ?"
OTHER_PDFS = "SELECT pdf FROM order_pdfs WHERE certificate_id <> ?"


async def _to_disk(system: System) -> None:
    """PostgreSQL: restart the server. The pages of an unlogged table may live
    in its memory only until a clean shutdown writes them (a plain CHECKPOINT
    does not), deleted rows included: only the rewrite then takes them off
    disk, and the search must see what a stopped server leaves behind."""
    if system.postgres is not None:
        await asyncio.to_thread(system.postgres.stop)
        await asyncio.to_thread(system.postgres.start)

# PostgreSQL's files are the server's: initdb makes its directory 0700, its files 0600.
ON_SQLITE_ONLY = pytest.mark.skipif(
    TEST_DATABASE == "postgresql", reason="the databases are not files under var/")


async def _order_and_download(kiosk: KioskClient, wallet: Wallet) -> tuple[dict, bytes]:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    menu = await kiosk.menu(session["session_id"])
    fee = next(i["fee_yen"] for i in menu["items"] if i["type"] == "juminhyo")
    order = await kiosk.order(session["session_id"], "juminhyo", 1,
                              {"members": "household"}, fee)
    return order, await kiosk.download(order["certificates"][0])


async def test_no_file_under_var_keeps_the_pdf_after_settlement(
        system: System, kiosk: KioskClient, wallet: Wallet) -> None:
    order, pdf = await _order_and_download(kiosk, wallet)
    _, other = await _order_and_download(kiosk, wallet)
    certificate_id = order["certificates"][0]["certificate_id"]
    windows = _unique_windows(pdf, other,
                              *_held_elsewhere(system.center_db, OTHER_PDFS, certificate_id))
    assert len(windows) >= 32
    roots = _roots(system)
    # While the order may be downloaded, the center does hold it.
    _held(system, roots, windows, system.center_db, ORDER_PDF, certificate_id)
    await kiosk.report_result(order["order_id"], [certificate_id])
    await _to_disk(system)
    assert await _until_no_file_holds(roots, windows) == {}


async def test_no_file_under_var_keeps_the_pdf_after_a_void(
        system: System, kiosk: KioskClient, wallet: Wallet,
        center_clock: CenterClock) -> None:
    order, pdf = await _order_and_download(kiosk, wallet)
    _, other = await _order_and_download(kiosk, wallet)
    windows = _unique_windows(pdf, other, *_held_elsewhere(
        system.center_db, OTHER_PDFS, order["certificates"][0]["certificate_id"]))
    roots = _roots(system)
    _held(system, roots, windows, system.center_db, ORDER_PDF,
          order["certificates"][0]["certificate_id"])
    await center_clock.advance(11 * 60)  # no result: the upkeep voids it after 10 minutes
    for _ in range(200):
        status = query_one(system.center_db, "SELECT status FROM orders WHERE order_id = ?",
                           order["order_id"])
        if status == "voided":
            break
        await asyncio.sleep(0.2)
    assert status == "voided"
    await _to_disk(system)
    assert await _until_no_file_holds(roots, windows) == {}


CLAIM_ANSWER = "SELECT response FROM issuance_claims WHERE request_id = ?"
OTHER_ANSWERS = "SELECT response FROM issuance_claims WHERE request_id <> ?"


def _claim_pdf(system: System, order_id: str) -> tuple[str, str]:
    """The request id the center gave the municipal server for an order (the
    order's id) and the first PDF of the answer kept for a retry of it (base64
    in JSON, as the claim holds it)."""
    request_id = order_id
    answer = query_one(system.municipal_db("131016"), CLAIM_ANSWER, request_id)
    assert answer is not None
    return request_id, json.loads(str(answer))["certificates"][0]["pdf"]


async def test_a_claims_answer_leaves_no_file_after_its_60_seconds(
        system: System, kiosk: KioskClient, wallet: Wallet) -> None:
    order, _ = await _order_and_download(kiosk, wallet)
    other, _ = await _order_and_download(kiosk, wallet)
    request_id, pdf = _claim_pdf(system, order["order_id"])
    # The municipal PDFs of two orders differ in a few places only (the number, the
    # marks of issue 14): candidates every few bytes find them.
    windows = _unique_windows(
        pdf.encode(), _claim_pdf(system, other["order_id"])[1].encode(),
        *_held_elsewhere(system.municipal_db("131016"), OTHER_ANSWERS, request_id), density=256)
    assert len(windows) >= 32
    roots = _roots(system)
    _held(system, roots, windows, system.municipal_db("131016"), CLAIM_ANSWER, request_id)
    # 61 seconds later, as any worker sees it (the forgetting takes its instant).
    register = await Register.open(system.municipal_db("131016"))
    try:
        await register.claims.forget_delivered(now=time.time() + 61)
    finally:
        await register.close()
    assert query_one(system.municipal_db("131016"), CLAIM_ANSWER, request_id) is None
    await _to_disk(system)
    assert await _until_no_file_holds(roots, windows) == {}


@ON_SQLITE_ONLY
def test_databases_are_private(system: System) -> None:
    for database in (system.center_db, system.municipal_db("131016"),
                     system.municipal_db("452017")):
        for path in (database, database.with_name(database.name + "-wal")):
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700, database.parent


async def test_the_issuance_history_keeps_numbers_and_digests_not_pdfs(
        system: System, kiosk: KioskClient, wallet: Wallet) -> None:
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo", copies=2,
                               options={"members": "household"})
    numbers = [c["certificate_number"] for c in result.order["certificates"]]
    rows = query_rows(system.municipal_db("131016"),
                      "SELECT certificate_numbers, response FROM issuance_history "
                      "WHERE certificate_numbers = ?", json.dumps(numbers))
    assert len(rows) == 1
    response = rows[0]["response"]
    certificates = json.loads(response)["certificates"]
    assert [c["certificate_number"] for c in certificates] == numbers
    for certificate in certificates:
        assert "pdf" not in certificate and len(certificate["sha256"]) == 64
        assert "JVBERi0" not in json.dumps(certificate)  # no base64 PDF in any field
