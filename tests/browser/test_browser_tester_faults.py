"""Issue 14 in Chromium. The tester panel's municipal-server faults: a tester makes
千代田区's server print another person's certificate, and the kiosk shows the
resident the refusal and gives all the money back; then the tester clears the
fault. And the inquiry page showing a certificate of several sheets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from tests.browser.conftest import CenterDev, run_async
from tests.browser.test_browser_kiosk import order_juminhyo, take_card
from tests.conftest import System

WRONG_PERSON = "Municipal server prints the wrong person"


def test_wrong_person_from_the_tester_panel_is_refused_and_costs_nothing(
        page: Page, center_dev: CenterDev) -> None:
    # Every fault of the center is offered, per municipality.
    for title in ("Municipal server down", "Municipal server slow (times out)", WRONG_PERSON,
                  "Municipal server mixes in a foreign page 2"):
        expect(page.get_by_role("group", name=title).get_by_role(
            "checkbox", name="131016")).to_be_visible()
    wrong_person = page.get_by_role("group", name=WRONG_PERSON).get_by_role(
        "checkbox", name="131016")
    with page.expect_response(re.compile("/api/tester/faults")):
        wrong_person.check()
    expect(page.locator("#tester-status")).to_have_text("wrong person: 131016")

    order_juminhyo(page)  # 霞 太郎 of 千代田区, 住民票の写し, 200円
    page.locator('[data-yen="500"]').click()
    expect(page.locator("#paid")).to_have_text("500円")
    page.get_by_role("button", name="印刷する").click()

    expect(page.get_by_role("heading", name="ご利用いただけません")).to_be_visible()
    expect(page.get_by_text(re.compile("証明書の内容を確認できなかったため、印刷を中止しました"))
           ).to_be_visible()
    # No money taken: all of it back, and nothing printed.
    expect(page.get_by_text("500円をお返ししました")).to_be_visible()
    expect(page.get_by_role("heading", name="印刷が終わりました")).to_have_count(0)
    expect(page.get_by_role("img", name="1. 表面")).to_have_count(0)
    take_card(page)

    # Cleared from the panel: the center has no fault left.
    with page.expect_response(re.compile("/api/tester/faults")):
        wrong_person.uncheck()
    expect(page.locator("#tester-status")).to_have_text("")
    faults = page.request.get(page.url + "api/tester").json()["faults"]
    assert faults["municipalities_wrong_person"] == []


def test_the_inquiry_page_shows_every_sheet_of_a_large_koseki(
        browser: Any, system: System, tmp_path: Path) -> None:
    """The inquiry page (照会サイト) in Chromium: the whole 12-person 戸籍 PDF is valid,
    its sheets listed, each sheet's recovered front shown."""
    async def issue() -> bytes:
        async with KioskClient(system.terminal()) as kiosk:
            result = await kiosk.issue(Wallet(system.topology.wallet_dir).get("large-family"),
                                       "1234", "koseki_zenbu", out_dir=tmp_path)
        return result.files[0].read_bytes()

    pdf = tmp_path / "koseki.pdf"
    pdf.write_bytes(run_async(issue()))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{system.public_url}/verify")
        page.set_input_files("#file", str(pdf))
        page.get_by_role("button", name=re.compile("照会する")).click()
        expect(page.locator("#status")).to_have_text("有効 valid")
        sheets = page.get_by_role("row", name=re.compile("用紙 sheets"))
        expect(sheets).to_contain_text("complete")
        n = int(re.search(r"1/(\d+)", sheets.inner_text()).group(1))  # type: ignore[union-attr]
        assert n >= 2
        fronts = page.locator("#front img")
        expect(fronts).to_have_count(n)
        for i in range(n):
            expect(fronts.nth(i)).to_have_attribute("alt", f"recovered front, sheet {i + 1}")
            assert fronts.nth(i).evaluate("i => i.complete && i.naturalWidth > 500")
    finally:
        context.close()
