"""The operator's console in Chromium: a wrong token is refused, the right
one logs in, and every chart shows a year of history (the ledger's
simulate-history) and this month's real orders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.browser.conftest import run_async
from tests.conftest import System

HISTORY_YEAR = 2024  # a fiscal year no other test reports on
CHARTS = ("by-month", "by-hour", "by-chain", "top-municipalities", "refusals", "settlement")
SCREENSHOT = os.environ.get("KONBINI_CONSOLE_SCREENSHOT")  # keep a picture to look at


@pytest.fixture(scope="module")
def history(system: System) -> dict[str, Any]:
    """A year of settled orders, and this month's: one issuance and one refusal."""
    done = subprocess.run(
        [sys.executable, "-m", "center", "simulate-history", "--var", str(system.var),
         "--fiscal-year", str(HISTORY_YEAR), "--scale", "0.0002", "--seed", "13"],
        check=True, capture_output=True, text=True, env=system.center_env())

    async def issue() -> None:
        wallet = Wallet(system.topology.wallet_dir)
        async with KioskClient(system.terminal("kiosk-0002")) as kiosk:
            await kiosk.issue(wallet.get("kasumi-taro"), "1234", "inkan")
            try:
                await kiosk.issue(wallet.get("kasumi-jiro"), "1234", "juminhyo")
            except KioskProblem as problem:  # the refusal we want: 霞 次郎 is 14
                assert problem.code == "resident-ineligible"

    run_async(issue())
    return json.loads(done.stdout)


def _login(browser: Any, system: System, token: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(system.topology.console_url + "/")
    expect(page).to_have_url(system.topology.console_url + "/login")
    page.get_by_label("運用者トークン").fill(token)
    page.get_by_role("button", name="ログイン").click()
    return page


def test_a_wrong_token_is_refused(browser: Any, system: System) -> None:
    page = _login(browser, system, "not-the-token")
    expect(page.get_by_role("alert")).to_contain_text("トークンが違います")
    page.goto(system.topology.console_url + "/")
    expect(page).to_have_url(system.topology.console_url + "/login")
    page.context.close()


def test_every_chart_shows_data(browser: Any, system: System, history: dict[str, Any],
                                tmp_path: Path) -> None:
    assert history["printed"] > 1000
    token = (system.var / "center" / "operator-token").read_text().strip()
    page = _login(browser, system, token)
    expect(page.get_by_role("heading", name="コンビニ交付センター 運用コンソール")).to_be_visible()
    # This month: the real order and refusal; the settlement of the month.
    for name in ("refusals", "settlement", "by-chain"):
        figure = page.locator(f"#chart-{name}")
        expect(figure.locator("img")).to_be_visible()
        assert int(figure.get_attribute("data-total") or 0) > 0, name
    # The simulated year.
    page.get_by_label("年度").fill(str(HISTORY_YEAR))
    page.get_by_label("精算月").fill(f"{HISTORY_YEAR}-11")
    page.get_by_role("button", name="表示").click()
    expect(page).to_have_url(f"{system.topology.console_url}/?fiscal_year={HISTORY_YEAR}"
                             f"&month={HISTORY_YEAR}-11")
    for name in CHARTS:
        figure = page.locator(f"#chart-{name}")
        image = figure.locator("img")
        expect(image).to_be_visible()
        image.scroll_into_view_if_needed()
        # Loaded and drawn: an SVG image has a natural size once the browser decoded it.
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=image.element_handle())
        if name != "refusals":  # the simulated history has no refusals
            assert int(figure.get_attribute("data-total") or 0) > 0, name
    expect(page.locator("#chart-by-month figcaption")).to_contain_text(
        f"計 {history['printed']:,} 通")
    expect(page.locator("#municipalities")).to_contain_text("千代田区")
    expect(page.locator("#municipalities")).to_contain_text("メンテナンス")
    expect(page.locator("#terminals")).to_contain_text("kiosk-0002")
    expect(page.locator("#incidents")).to_be_visible()
    page.screenshot(path=str(SCREENSHOT or tmp_path / "console.png"), full_page=True)
    # Logging out forgets the cookie.
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(system.topology.console_url + "/login")
    page.goto(system.topology.console_url + "/")
    expect(page).to_have_url(system.topology.console_url + "/login")
    page.context.close()
