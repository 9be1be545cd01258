"""The tester panel's municipal-server faults (issue 14, item 3) in Chromium: a
tester makes 千代田区's server print another person's certificate, and the kiosk
shows the resident the refusal and gives all the money back; then the tester
clears the fault."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import CenterDev
from tests.browser.test_browser_kiosk import order_juminhyo, take_card

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
