"""The kiosk screens as a resident sees them (issue 15): one Gothic face for
every character, a result screen that fits, Escape on the menu, keys typed
ahead of the PIN pad, refusals worded about the person and in Japanese, and
every time in JST."""

from __future__ import annotations

import json
import re
import ssl
import urllib.request
from datetime import datetime
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import run_async
from tests.browser.test_browser_kiosk import insert_card, order_juminhyo, take_card, type_pin
from tests.conftest import BASE_CLOCK, System

GOTHIC = {"IPAPGothic", "IPAGothic"}


def kiosk_state(page: Page) -> dict[str, Any]:
    """The kiosk's state as the page's own server holds it (GET /api/kiosks/{id})."""
    return page.evaluate("""async () => {
        const id = sessionStorage.getItem('kiosk_id');
        return (await fetch(`/api/kiosks/${id}`)).json();
    }""")


def insert_again(page: Page) -> None:
    """The card already chosen in the tester panel, inserted once more."""
    page.get_by_role("button", name="はじめる").click()
    page.get_by_role("button", name="カードを置く").click()


def platform_fonts(page: Page, selector: str) -> dict[str, int]:
    """The fonts Chromium really drew a node's text with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {f["familyName"]: f["glyphCount"] for f in fonts}


def test_latin_letters_and_digits_are_set_in_the_gothic_face(page: Page) -> None:
    # The store line mixes katakana, Latin letters and digits: "セブン-イレブン … (kiosk-0001)".
    expect(page.locator("#store-name")).to_contain_text(re.compile(r"[A-Za-z].*\d"))
    for selector in ("#store-name", "#start", "h1"):
        fonts = platform_fonts(page, selector)
        assert fonts and set(fonts) <= GOTHIC, (selector, fonts)
    insert_card(page, "kasumi-taro")
    type_pin(page, "1234")
    fee = page.locator('.item[data-type="juminhyo"] .fee')
    expect(fee).to_have_text("200円 / 1通")
    fonts = platform_fonts(page, '.item[data-type="juminhyo"] .fee')
    assert set(fonts) <= GOTHIC and "DejaVu Sans" not in fonts, fonts
    page.get_by_role("button", name="中止").click()
    page.get_by_role("button", name="カードを取る").click()


def test_two_copies_fit_the_result_screen_with_finish_in_view(browser: Any,
                                                              kiosk_url: str) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.goto(kiosk_url)
        page.get_by_role("button", name="はじめる").wait_for()
        order_juminhyo(page, copies=2)
        page.locator('[data-yen="500"]').click()
        page.get_by_role("button", name="印刷する").click()
        expect(page.get_by_role("heading", name="印刷が終わりました")).to_be_visible()
        for n in (1, 2):
            for side in ("表面", "裏面"):
                image = page.get_by_role("img", name=f"{n}. {side}")
                expect(image).to_be_in_viewport()
        # Neither the page nor the kiosk screen scrolls, and 終了 is in view.
        assert page.evaluate("() => document.documentElement.scrollHeight") <= 900
        screen = page.evaluate("() => { const s = document.getElementById('screen');"
                               " return [s.scrollHeight, s.clientHeight]; }")
        assert screen[0] <= screen[1], screen
        finish = page.get_by_role("button", name="終了")
        expect(finish).to_be_in_viewport(ratio=1)
        box = finish.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, box
        take_card(page)
    finally:
        context.close()


def test_escape_on_the_menu_cancels_and_returns_the_card(page: Page) -> None:
    insert_card(page, "kasumi-taro")
    type_pin(page, "1234")
    expect(page.get_by_role("heading", name="証明書の種類を選んでください")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", name=re.compile("カード.*お取りください"))).to_be_visible()
    page.get_by_role("button", name="カードを取る").click()


def test_a_pin_typed_while_the_card_is_read_goes_to_the_pin_pad(page: Page) -> None:
    held: list[Any] = []
    page.route(re.compile(r"/api/kiosks/[^/]+/insert$"), lambda route: held.append(route))
    with page.expect_response(re.compile("/settings")):
        page.select_option("#t-card", "kasumi-taro")
    page.get_by_role("button", name="はじめる").click()
    page.get_by_role("button", name="カードを置く").click()
    # The card is still being read: the resident types the PIN and Enter at once.
    page.keyboard.type("1234")
    page.keyboard.press("Enter")
    while not held:  # the held request reaches Python on the next round of events
        page.wait_for_timeout(50)
    expect(page.get_by_role("heading", name=re.compile("暗証番号"))).to_have_count(0)
    held[0].continue_()
    expect(page.get_by_role("heading", name="証明書の種類を選んでください")).to_be_visible()
    expect(page.get_by_text("現在この操作はできません")).to_have_count(0)
    assert len(held) == 1  # Enter did not press カードを置く a second time
    page.get_by_role("button", name="中止").click()
    page.get_by_role("button", name="カードを取る").click()


def test_a_refusal_of_the_person_speaks_of_the_person(page: Page) -> None:
    insert_card(page, "kasumi-jiro")
    type_pin(page, "1234")
    expect(page.get_by_role("heading", name="ご利用いただけません")).to_be_visible()
    lead = page.locator('#screen [role="alert"] p').first
    expect(lead).not_to_contain_text("証明書")
    expect(lead).to_contain_text("コンビニ交付をご利用いただけません")
    expect(page.get_by_text("15歳未満の方はコンビニ交付を利用できません。")).to_be_visible()
    take_card(page)


def _fresh_card_with_serial(system: System, persona: str, key: str) -> str:
    from kiosk_sim.wallet import Wallet
    from konbini.clock import Clock, parse_instant
    from konbini.persona_cards import issue_card
    from konbini.personas import persona_card

    spec = persona_card(persona)
    card, _ = run_async(issue_card(system.center_url, system.pki, spec,
                                   Clock(parse_instant(BASE_CLOCK))))
    Wallet(system.topology.wallet_dir).put(key, card, label=None,
                                           municipality_code=spec.municipality_code)
    from cryptography import x509

    return format(x509.load_der_x509_certificate(card.certificate_der()).serial_number, "x")


def _revoke(system: System, serial: str, code: str) -> None:
    context: ssl.SSLContext = system.ssl_as_municipality(code)
    request = urllib.request.Request(
        f"{system.center_url}/v1/jpki/certificates/{serial}/status",
        data=json.dumps({"status": "revoked", "reason": "test"}).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        assert response.status == 200


def test_card_refusals_are_all_in_japanese(page: Page, system: System) -> None:
    serial = _fresh_card_with_serial(system, "no-seal", "browser-revoked")
    _revoke(system, serial, "131016")
    page.reload()
    page.get_by_role("button", name="はじめる").wait_for()
    for persona, code in (("lost-card", "card-suspended"), ("expired-card", "card-expired"),
                          ("browser-revoked", "card-revoked")):
        insert_card(page, persona)
        type_pin(page, "1234")
        expect(page.get_by_role("heading", name="ご利用いただけません")).to_be_visible()
        error = kiosk_state(page)["error"]
        assert error["code"] == code
        # The center's own words (also the kiosk command line's) are Japanese too.
        assert re.search("[ぁ-んァ-ン一-龥]", error["message"]), error
        assert not re.search("[A-Za-z]", error["message"]), error
        body = page.locator('#screen [role="alert"]').inner_text()
        assert not re.search("[A-Za-z]", body), (persona, body)
        take_card(page)


def test_a_municipality_in_maintenance_opens_again_in_jst(page: Page) -> None:
    insert_card(page, "yokohama")
    type_pin(page, "1234")
    expect(page.get_by_role("heading", name="ご利用いただけません")).to_be_visible()
    opens_at = kiosk_state(page)["error"]["opens_at"]
    assert opens_at.endswith("+09:00"), opens_at
    at = datetime.fromisoformat(opens_at)
    shown = f"再開予定: {at.year}年{at.month}月{at.day}日"
    expect(page.get_by_text(re.compile(re.escape(shown) + f".*{at:%H:%M}"))).to_be_visible()
    take_card(page)


def test_a_family_register_certificate_for_another_person_of_the_register(
        page: Page) -> None:
    insert_card(page, "kasumi-taro")
    type_pin(page, "1234")
    page.locator('.item[data-type="koseki_kojin"]').click()
    expect(page.get_by_role("heading", name=re.compile("記載内容"))).to_be_visible()
    # The menu's persons: the holder (checked) and the others of the same 戸籍.
    expect(page.get_by_role("radio", name=re.compile("霞 太郎"))).to_be_checked()
    expect(page.get_by_role("radio", name="霞 次郎")).to_be_visible()
    page.get_by_role("radio", name="霞 花子").check()
    page.get_by_role("button", name="次へ").click()
    expect(page.get_by_role("heading", name="部数を選んでください")).to_be_visible()
    page.get_by_role("button", name="次へ").click()
    expect(page.get_by_role("row", name=re.compile("証明する方.*霞 花子"))).to_be_visible()
    page.get_by_role("button", name="戻る").click()
    page.get_by_role("button", name="戻る").click()
    page.get_by_role("button", name="戻る").click()
    expect(page.get_by_role("heading", name="証明書の種類を選んでください")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="カードを取る").click()


def test_a_locked_pin_is_reset_at_a_seven_eleven_after_reserving_on_the_phone(
        page: Page, system: System) -> None:
    from tests.browser.conftest import put_fresh_card
    from tests.browser.test_browser_kiosk import panel_sets

    key = put_fresh_card(system, "pin-reset", "browser-pin-reset")  # locked, knows KONBINI1
    page.reload()
    page.get_by_role("button", name="はじめる").wait_for()

    # No reservation: locked, and the screen says where it can be reset.
    insert_card(page, key)
    expect(page.get_by_text(re.compile("暗証番号がロックされています"))).to_be_visible()
    expect(page.get_by_text(re.compile("セブン-イレブンで再設定"))).to_be_visible()
    take_card(page)

    # The phone: a wrong signature PIN is refused, the right one reserves.
    page.fill("#t-signature-pin", "WRONG123")
    page.get_by_role("button", name="Reserve").click()
    expect(page.locator("#tester-status")).to_contain_text("暗証番号が違います(残り4回)")
    page.fill("#t-signature-pin", "KONBINI1")
    page.get_by_role("button", name="Reserve").click()
    expect(page.locator("#tester-status")).to_contain_text("reserved until")

    # A Lawson cannot finish it; it says where.
    panel_sets(page, "#t-store", "kiosk-0002")
    insert_again(page)
    expect(page.get_by_text(re.compile("セブン-イレブンのマルチコピー機で、予約から24時間"))
           ).to_be_visible()
    take_card(page)

    # A Seven-Eleven: the new PIN twice (a mismatch is caught), then on as usual.
    panel_sets(page, "#t-store", "kiosk-0001")
    insert_again(page)
    expect(page.get_by_role("heading", name=re.compile("暗証番号の再設定"))).to_be_visible()
    for first, second in (("5678", "5679"), ("5678", "5678")):
        expect(page.get_by_text("新しい暗証番号(数字4桁)を入力してください")).to_be_visible()
        page.keyboard.type(first)
        page.keyboard.press("Enter")
        expect(page.get_by_text("確認のため、もう一度入力してください")).to_be_visible()
        page.keyboard.type(second)
        page.keyboard.press("Enter")
        if first != second:
            expect(page.get_by_role("alert")).to_contain_text("一致しません")
    expect(page.get_by_text("暗証番号を再設定しました。新しい暗証番号を入力してください。")
           ).to_be_visible()
    type_pin(page, "5678")
    expect(page.get_by_role("heading", name="証明書の種類を選んでください")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="カードを取る").click()
