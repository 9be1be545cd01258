"""Personal data on disk: after settlement or void, no file under var/ holds
any part of the certificate's PDF (not the database, not its WAL, not free
pages); the databases are 0600 in 0700 directories; the municipal 交付履歴
keeps numbers and digests, never the PDF."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from tests.conftest import TEST_DATABASE, CenterClock, System
from tests.support import query_one, query_rows

WINDOW = 32
WINDOWS = 64


def _unique_windows(pdf: bytes, other: bytes) -> list[bytes]:
    """Byte windows spread over ``pdf`` that another certificate of the same
    type does not share (fonts and boilerplate are left out)."""
    step = max(1, (len(pdf) - WINDOW) // (WINDOWS * 4))
    windows = [pdf[i:i + WINDOW] for i in range(0, len(pdf) - WINDOW, step)]
    unique = [w for w in windows if w not in other and len(set(w)) > 8]
    return unique[::max(1, len(unique) // WINDOWS)]


def _files_holding(var: Path, windows: list[bytes]) -> dict[str, int]:
    found: dict[str, int] = {}
    for path in var.rglob("*"):
        if not path.is_file() or path.suffix == ".pdf":  # test output, not var state
            continue
        data = path.read_bytes()
        hits = sum(1 for w in windows if w in data)
        if hits:
            found[str(path.relative_to(var))] = hits
    return found


async def _until_no_file_holds(var: Path, windows: list[bytes]) -> dict[str, int]:
    """At once, normally; a settlement's own WAL truncation may have met a
    reader, and the upkeep (every second in the tests) then finishes it."""
    found = _files_holding(var, windows)
    for _ in range(100):
        if not found:
            break
        await asyncio.sleep(0.3)
        found = _files_holding(var, windows)
    return found


# On PostgreSQL the databases are the server's files, not under var/ (the
# server's own directory and its WAL are the operator's to protect).
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


@ON_SQLITE_ONLY
async def test_no_file_under_var_keeps_the_pdf_after_settlement(
        system: System, kiosk: KioskClient, wallet: Wallet) -> None:
    order, pdf = await _order_and_download(kiosk, wallet)
    _, other = await _order_and_download(kiosk, wallet)
    windows = _unique_windows(pdf, other)
    assert len(windows) >= 32
    # While the order may be downloaded, the center does hold it: the search works.
    assert _files_holding(system.var, windows)
    await kiosk.report_result(order["order_id"], [order["certificates"][0]["certificate_id"]])
    assert await _until_no_file_holds(system.var, windows) == {}


@ON_SQLITE_ONLY
async def test_no_file_under_var_keeps_the_pdf_after_a_void(
        system: System, kiosk: KioskClient, wallet: Wallet,
        center_clock: CenterClock) -> None:
    order, pdf = await _order_and_download(kiosk, wallet)
    _, other = await _order_and_download(kiosk, wallet)
    windows = _unique_windows(pdf, other)
    assert _files_holding(system.var, windows)
    await center_clock.advance(11 * 60)  # no result: the upkeep voids it after 10 minutes
    for _ in range(200):
        status = query_one(system.center_db, "SELECT status FROM orders WHERE order_id = ?",
                           order["order_id"])
        if status == "voided":
            break
        await asyncio.sleep(0.2)
    assert status == "voided"
    assert await _until_no_file_holds(system.var, windows) == {}


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
