"""Real-browser tests: Debian's Chromium, headless, driven by Playwright,
against the kiosk UI of the session's system (tests/conftest.py).

Chromium missing is a failure, not a skip: set ``KONBINI_SKIP_BROWSER=1``
to leave these tests out on purpose."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import ssl
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import BASE_CLOCK, System

CHROMIUM = os.environ.get("KONBINI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Generous for a loaded two-core machine; expect() returns as soon as it holds.
TIMEOUT_MS = 30_000

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a sync test (Playwright's sync API owns this thread's loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# Module scope, and after the system: while Playwright's sync API is alive its
# event loop counts as running in this thread, so neither the system fixture's
# asyncio.run nor the async e2e tests that follow could run beside it.
@pytest.fixture(scope="module")
def browser(system: System) -> Iterator[Any]:
    if os.environ.get("KONBINI_SKIP_BROWSER") == "1":
        pytest.skip("KONBINI_SKIP_BROWSER=1: browser tests left out on purpose")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium "
                    "(`make test` does, or `scripts/ensure-debian-packages chromium`), or set "
                    "KONBINI_SKIP_BROWSER=1 to leave the browser tests out", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def kiosk_url(system: System) -> str:
    return f"http://127.0.0.1:{system.topology.ports.kiosk_ui}/"


@pytest.fixture
def page(browser: Any, kiosk_url: str) -> Iterator[Any]:
    """A fresh tab (its own kiosk) at 1280×800 with the kiosk screen loaded."""
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.goto(kiosk_url)
    tab.get_by_role("button", name="はじめる").wait_for()
    try:
        yield tab
    finally:
        context.close()


class CenterDev:
    """The center's test-environment API, from sync tests."""

    def __init__(self, system: System) -> None:
        self.base = system.center_url
        self.context: ssl.SSLContext = system.ssl_as_kiosk("kiosk-0002")

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                         method="PUT",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            return json.loads(response.read())


@pytest.fixture
def center_dev(system: System) -> Iterator[CenterDev]:
    """Clock and faults put back after the test, whatever the tester panel did."""
    dev = CenterDev(system)
    yield dev
    dev.put("/v1/dev/clock", {"now": BASE_CLOCK})
    dev.put("/v1/dev/faults", {})


def put_fresh_card(system: System, persona: str, key: str) -> str:
    """A brand-new card for ``persona`` in the wallet under ``key``, so a test
    that gets the PIN wrong leaves the shared persona cards alone."""
    from kiosk_sim.wallet import Wallet
    from konbini.clock import Clock, parse_instant
    from konbini.persona_cards import issue_card
    from konbini.personas import persona_card

    spec = persona_card(persona)
    card, _ = run_async(issue_card(system.center_url, system.pki, spec,
                                   Clock(parse_instant(BASE_CLOCK))))
    Wallet(system.topology.wallet_dir).put(key, card, label=None,
                                           municipality_code=spec.municipality_code)
    return key
