"""The life of an order: download window, print result, refunds, voiding."""

from __future__ import annotations

import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import System
from tests.support import database_dump, eventually, query_one


async def _order(kiosk: KioskClient, wallet: Wallet, copies: int = 1) -> tuple[str, dict]:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    order = await kiosk.order(session["session_id"], "juminhyo", copies,
                              {"members": "household"}, 200 * copies)
    return session["session_id"], order


async def test_a_paper_jam_is_refunded(kiosk: KioskClient, wallet: Wallet) -> None:
    session_id, order = await _order(kiosk, wallet, copies=2)
    first, second = order["certificates"]
    settlement = await kiosk.report_result(
        order["order_id"], [first["certificate_id"]],
        [{"certificate_id": second["certificate_id"], "reason": "paper-jam"}])
    assert settlement == {"charged_yen": 200, "refunded_yen": 200}
    # A retry of the same report gets the same answer.
    assert await kiosk.report_result(
        order["order_id"], [first["certificate_id"]],
        [{"certificate_id": second["certificate_id"], "reason": "paper-jam"}]) == settlement
    with pytest.raises(KioskProblem) as expired:
        await kiosk.download(first)
    assert expired.value.code == "download-expired"
    await kiosk.end_session(session_id)


async def test_every_certificate_must_be_reported(kiosk: KioskClient, wallet: Wallet) -> None:
    _, order = await _order(kiosk, wallet, copies=2)
    with pytest.raises(KioskProblem) as refused:
        await kiosk.report_result(order["order_id"],
                                  [order["certificates"][0]["certificate_id"]])
    assert refused.value.code == "invalid-request"
    with pytest.raises(KioskProblem) as refused:
        await kiosk.report_result(order["order_id"], ["not-in-this-order"])
    assert refused.value.code == "invalid-request"


async def test_download_closes_after_ten_minutes(kiosk: KioskClient, wallet: Wallet,
                                                 center_clock) -> None:
    _, order = await _order(kiosk, wallet)
    assert (await kiosk.download(order["certificates"][0])).startswith(b"%PDF-")
    await center_clock.advance(10 * 60 + 1)
    with pytest.raises(KioskProblem) as expired:
        await kiosk.download(order["certificates"][0])
    assert expired.value.code == "download-expired"


async def test_an_order_without_result_is_voided_and_its_pdf_dropped(
        system: System, kiosk: KioskClient, wallet: Wallet, center_clock) -> None:
    _, order = await _order(kiosk, wallet)
    await center_clock.advance(10 * 60 + 1)
    status_sql = "SELECT status FROM orders WHERE order_id = ?"
    # The center's upkeep runs every second in the tests, when the machine lets it.
    await eventually(lambda: query_one(system.center_db, status_sql,
                                       order["order_id"]) == "voided")
    assert query_one(system.center_db, status_sql, order["order_id"]) == "voided"
    assert query_one(system.center_db, "SELECT COUNT(*) FROM order_pdfs WHERE order_id = ?",
                     order["order_id"]) == 0
    with pytest.raises(KioskProblem) as late:
        await kiosk.report_result(order["order_id"],
                                  [order["certificates"][0]["certificate_id"]])
    assert late.value.code == "download-expired"
    assert late.value.problem["refunded_yen"] == 200


async def test_the_center_keeps_no_personal_data(system: System, kiosk: KioskClient,
                                                 wallet: Wallet, tmp_path) -> None:
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo",
                               options={"members": "household"}, out_dir=tmp_path)
    assert result.settlement["charged_yen"] == 200
    dump = database_dump(system.center_db)
    for personal in ("霞", "太郎", "千代田区霞が関", "かすみ"):
        assert personal not in dump
    # The PDF is gone once the result is reported.
    assert query_one(system.center_db, "SELECT COUNT(*) FROM order_pdfs WHERE order_id = ?",
                     result.order["order_id"]) == 0
    for service in ("center", "municipal-131016"):
        log = system.log(service)
        assert "霞" not in log and "太郎" not in log
