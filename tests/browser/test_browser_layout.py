"""The kiosk screens fit the two screen sizes of the issue without scrolling,
with large targets, and can be driven from the keyboard alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

MAIN_BUTTONS = {"start": ["はじめる"], "pin": ["確認", "中止", "0"],
                "menu": ["中止"], "payment": ["印刷する", "取消(お金を返す)"]}


def _fits(page: Page, screen: str) -> None:
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= width, f"{screen}: horizontal overflow {overflow} > {width}"
    assert page.evaluate("() => document.documentElement.scrollHeight") <= height, screen
    for name in MAIN_BUTTONS[screen]:
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box is not None, (screen, name)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (screen, name, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (screen, name, box)
        assert box["height"] >= 48 and box["width"] >= 48, (screen, name, box)


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)])
def test_main_screens_fit_without_scrolling(browser: Any, kiosk_url: str,
                                            size: tuple[int, int]) -> None:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        page = context.new_page()
        page.goto(kiosk_url)
        expect(page.get_by_role("button", name="はじめる")).to_be_visible()
        _fits(page, "start")
        with page.expect_response(re.compile("/settings")):
            page.select_option("#t-card", "kasumi-taro")
        # Keyboard only: Tab to the start button, Enter, and so on.
        page.get_by_role("button", name="はじめる").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("button", name="カードを置く")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=re.compile("暗証番号"))).to_be_visible()
        _fits(page, "pin")
        page.keyboard.type("1234")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="証明書の種類を選んでください")).to_be_visible()
        _fits(page, "menu")
        page.locator('.item[data-type="juminhyo"]').focus()
        page.keyboard.press("Enter")
        for heading in ("記載内容", "部数を選んでください", "内容をご確認ください"):
            # Wait for each screen, then Next / お支払いへ from the keyboard.
            expect(page.get_by_role("heading", name=re.compile(heading))).to_be_visible()
            page.locator(".actions .btn.primary").focus()
            page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="お金を入れてください")).to_be_visible()
        _fits(page, "payment")
        page.keyboard.press("Escape")  # 取消: back to the menu, nothing was inserted
        expect(page.get_by_role("heading", name="証明書の種類を選んでください")).to_be_visible()
        page.get_by_role("button", name="中止").click()
        page.get_by_role("button", name="カードを取る").click()
        expect(page.get_by_role("button", name="はじめる")).to_be_visible()
    finally:
        context.close()
