"""The kiosk screens in Chromium, as a resident and a tester use them: every
assertion is about what is on the screen or in the downloaded PDF."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import CenterDev, put_fresh_card
from tests.conftest import System
from tests.support import pdf_pages_text


def panel_sets(page: Page, selector: str, value: str) -> None:
    """Change one tester control and wait until the kiosk has taken it."""
    with page.expect_response(re.compile(r"/api/(kiosks/[^/]+/settings|tester/)")):
        page.select_option(selector, value)


def insert_card(page: Page, persona: str, *, reader: str = "カードを置く") -> None:
    panel_sets(page, "#t-card", persona)
    page.get_by_role("button", name="はじめる").click()
    expect(page.get_by_role("heading", name="マイナンバーカードを置いてください")).to_be_visible()
    page.get_by_role("button", name=reader).click()


def type_pin(page: Page, pin: str) -> None:
    expect(page.get_by_role("heading", name=re.compile("暗証番号"))).to_be_visible()
    page.keyboard.type(pin)
    page.keyboard.press("Enter")


def order_juminhyo(page: Page, persona: str = "kasumi-taro", copies: int = 1) -> None:
    """From the start screen to the payment screen for 住民票の写し, whole household."""
    insert_card(page, persona)
    type_pin(page, "1234")
    page.locator('.item[data-type="juminhyo"]').click()
    expect(page.get_by_role("heading", name=re.compile("記載内容"))).to_be_visible()
    page.get_by_role("button", name="次へ").click()
    expect(page.get_by_role("heading", name="部数を選んでください")).to_be_visible()
    for _ in range(copies - 1):
        page.get_by_role("button", name="+1").click()
    page.get_by_role("button", name="次へ").click()
    expect(page.locator("#total")).to_have_text(f"{200 * copies}円")
    page.get_by_role("button", name="お支払いへ").click()
    expect(page.get_by_role("heading", name="お金を入れてください")).to_be_visible()


def take_card(page: Page) -> None:
    page.get_by_role("button", name="終了").click()
    expect(page.get_by_role("heading", name=re.compile("カード.*お取りください"))).to_be_visible()
    page.get_by_role("button", name="カードを取る").click()
    expect(page.get_by_role("button", name="はじめる")).to_be_visible()


def test_happy_path_prints_and_downloads_the_cardholders_certificate(page: Page) -> None:
    order_juminhyo(page)
    expect(page.get_by_role("button", name="印刷する")).to_be_disabled()
    page.locator('[data-yen="100"]').click()
    expect(page.locator("#paid")).to_have_text("100円")
    page.locator('[data-yen="500"]').click()
    expect(page.locator("#change")).to_have_text("400円")
    expect(page.locator('[data-yen="10"]')).to_be_disabled()  # enough money: no more taken
    page.get_by_role("button", name="印刷する").click()

    expect(page.get_by_role("heading", name="印刷が終わりました")).to_be_visible()
    expect(page.locator("#charged")).to_have_text("200円")
    expect(page.locator("#change")).to_have_text("400円")
    front = page.get_by_role("img", name="1. 表面")
    back = page.get_by_role("img", name="1. 裏面")
    for image in (front, back):
        expect(image).to_be_visible()
        assert image.evaluate("i => i.complete && i.naturalWidth > 500")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDFをダウンロード").click()
    pdf = open(download.value.path(), "rb").read()  # noqa: SIM115 (temp file of Playwright)
    pages = pdf_pages_text(pdf)
    assert len(pages) == 2
    assert "霞 太郎" in pages[0]
    take_card(page)


def test_three_refusals_with_their_messages(page: Page, center_dev: CenterDev) -> None:
    # A 14-year-old: the municipality refuses, the reason is said plainly.
    insert_card(page, "kasumi-jiro")
    type_pin(page, "1234")
    expect(page.get_by_role("heading", name="ご利用いただけません")).to_be_visible()
    expect(page.get_by_text("15歳未満の方はコンビニ交付を利用できません。")).to_be_visible()
    take_card(page)

    # A face-authentication card: the card itself says no, before any PIN.
    insert_card(page, "face-auth")
    expect(page.get_by_text(re.compile("顔認証マイナンバーカードは暗証番号がない"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("暗証番号"))).to_have_count(0)
    take_card(page)

    # 23:01, set from the tester panel: closed, with the time it opens again.
    with page.expect_response(re.compile("/api/tester/clock")):
        page.get_by_role("button", name="23:01").click()
    expect(page.locator("#t-clock")).to_contain_text("23:01")
    insert_card(page, "kasumi-taro")
    expect(page.get_by_text(re.compile("サービスの時間外です"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"再開予定: 2026年11月25日.*06:30"))).to_be_visible()
    take_card(page)


def test_a_wrong_pin_then_the_right_one(page: Page, system: System) -> None:
    key = put_fresh_card(system, "kasumi-hanako", "browser-pin-hanako")
    page.reload()  # the tester panel lists the new card
    insert_card(page, key)
    type_pin(page, "9999")
    expect(page.get_by_role("alert")).to_contain_text("あと2回間違えるとロックされます")
    # The digits are masked, never shown.
    expect(page.locator("#pin-display")).not_to_contain_text("9")
    page.get_by_role("button", name="1", exact=True).click()
    for digit in "234":
        page.keyboard.press(digit)
    expect(page.locator("#pin-display .pin-box", has_text="●")).to_have_count(4)
    page.get_by_role("button", name="確認").click()
    expect(page.get_by_role("heading", name="証明書の種類を選んでください")).to_be_visible()
    take_card_from_menu(page)


def test_paper_jam_charges_only_what_was_printed(page: Page) -> None:
    panel_sets(page, "#t-jam", "2")  # the second copy jams
    order_juminhyo(page, copies=2)
    page.locator('[data-yen="500"]').click()
    page.get_by_role("button", name="印刷する").click()
    expect(page.get_by_role("heading", name="一部の証明書を印刷できませんでした")).to_be_visible()
    expect(page.get_by_text("用紙詰まりのため印刷できませんでした。")).to_be_visible()
    # The center's settlement: one copy charged, one refunded; the change follows.
    expect(page.locator("#charged")).to_have_text("200円")
    expect(page.locator("#refunded")).to_have_text("200円")
    expect(page.locator("#change")).to_have_text("300円")
    expect(page.get_by_role("img", name="1. 表面")).to_be_visible()
    expect(page.get_by_role("img", name="2. 表面")).to_have_count(0)
    take_card(page)


def test_idle_reset_leaves_no_personal_data_in_the_page(page: Page) -> None:
    # Long enough that no step below, on however loaded a machine, looks idle.
    page.fill("#t-idle", "10")
    with page.expect_response(re.compile("/settings")):
        page.get_by_role("button", name="Apply").click()
    insert_card(page, "kasumi-taro")
    type_pin(page, "1234")
    page.locator('.item[data-type="juminhyo"]').click()
    page.get_by_role("radio", name="世帯の一部の方").check()
    expect(page.get_by_text(re.compile("霞 太郎")).first).to_be_visible()
    # Nobody touches the kiosk: a warning, then the start screen.
    expect(page.get_by_text("操作がないため、まもなく最初の画面に戻ります")).to_be_visible()
    expect(page.get_by_text("一定時間操作がなかったため、最初の画面に戻りました")).to_be_visible()
    expect(page.get_by_role("button", name="はじめる")).to_be_visible()
    content = page.content()
    for personal in ("霞", "太郎", "花子", "世帯主"):
        assert personal not in content


def test_the_english_screens(page: Page) -> None:
    panel_sets(page, "#t-card", "no-seal")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name="Place your My Number card on the reader")
           ).to_be_visible()
    page.get_by_role("button", name="Place the card").click()
    expect(page.get_by_role("heading", name=re.compile("Enter the 4-digit PIN"))).to_be_visible()
    page.keyboard.type("1234")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Choose a certificate")).to_be_visible()
    seal = page.locator('.item[data-type="inkan"]')
    expect(seal).to_have_attribute("aria-disabled", "true")
    expect(seal).to_contain_text("Not available: No seal is registered.")
    page.locator('.item[data-type="juminhyo"]').click()
    expect(page.get_by_role("heading", name=re.compile("Choose what the certificate shows"))
           ).to_be_visible()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="How many copies?")).to_be_visible()
    page.keyboard.press("Escape")  # back, as the Back button
    expect(page.get_by_role("heading", name=re.compile("Choose what"))).to_be_visible()
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Please take your card (smartphone)")).to_be_visible()
    page.get_by_role("button", name="Take the card").click()
    # The next resident starts in Japanese.
    expect(page.get_by_role("button", name="はじめる")).to_be_visible()


def test_municipal_server_down_returns_the_card(page: Page, center_dev: CenterDev) -> None:
    with page.expect_response(re.compile("/api/tester/faults")):
        page.get_by_role("group", name="Municipal server down").get_by_role(
            "checkbox", name="131016").check()
    insert_card(page, "kasumi-taro")
    type_pin(page, "1234")
    expect(page.get_by_text("お住まいの市区町村の証明書発行サーバが現在ご利用いただけません。")
           ).to_be_visible()
    take_card(page)


def test_network_loss_after_the_order_returns_money_and_card(page: Page) -> None:
    panel_sets(page, "#t-network", "after-order")
    order_juminhyo(page)
    page.locator('[data-yen="1000"]').click()
    page.get_by_role("button", name="印刷する").click()
    expect(page.get_by_text("通信が切断されました。")).to_be_visible()
    expect(page.get_by_text("1,000円をお返ししました")).to_be_visible()
    take_card(page)


def test_smartphone_is_refused_where_the_chain_has_no_reader(page: Page) -> None:
    panel_sets(page, "#t-store", "kiosk-0001")  # セブン-イレブン: no reader (registry)
    insert_card(page, "smartphone", reader="スマートフォンをかざす")
    expect(page.get_by_text(re.compile("スマートフォンに対応していません"))).to_be_visible()
    take_card(page)
    panel_sets(page, "#t-store", "kiosk-0003")  # ファミリーマート
    insert_card(page, "smartphone", reader="スマートフォンをかざす")
    type_pin(page, "1234")
    expect(page.get_by_role("heading", name="証明書の種類を選んでください")).to_be_visible()
    take_card_from_menu(page)


def take_card_from_menu(page: Page) -> None:
    page.get_by_role("button", name="中止").click()
    page.get_by_role("button", name="カードを取る").click()
    expect(page.get_by_role("button", name="はじめる")).to_be_visible()




def test_registering_with_the_domicile_from_the_menu(page: Page, system: System) -> None:
    # 日向 陽子 lives in 千代田区; her 戸籍 is kept by 宮崎市. The greyed family-register
    # items say so, and one touch registers this card there (本籍地の利用登録).
    key = put_fresh_card(system, "domicile-elsewhere", "browser-domicile-hyuga")
    page.reload()
    insert_card(page, key)
    type_pin(page, "1234")
    koseki = page.locator('.item[data-type="koseki_zenbu"]')
    expect(koseki).to_have_attribute("aria-disabled", "true")
    expect(koseki).to_contain_text("利用登録")
    page.get_by_role("button", name="宮崎市に利用登録する").click()
    expect(page.locator("#screen .notice")).to_contain_text("登録手続き中")
    expect(page.get_by_role("button", name="宮崎市に利用登録する")).to_have_count(0)
    koseki = page.locator('.item[data-type="koseki_zenbu"]')
    # Until 宮崎市's clerk approves it, nothing of the 戸籍 is issued.
    expect(koseki).to_have_attribute("aria-disabled", "true")
    expect(koseki).to_contain_text("登録手続き中")
    take_card_from_menu(page)
    from tests.e2e.test_family_register import approve_use_registration

    approve_use_registration(system, "452017", "domicile-elsewhere", "131016")
    insert_card(page, key)
    type_pin(page, "1234")
    koseki = page.locator('.item[data-type="koseki_zenbu"]')
    expect(koseki).not_to_have_attribute("aria-disabled", "true")
    expect(koseki).to_contain_text("発行: 宮崎市")
    koseki.click()
    expect(page.get_by_role("heading", name="部数を選んでください")).to_be_visible()
