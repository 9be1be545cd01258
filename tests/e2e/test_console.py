"""The operator's console over HTTP: the credential, the figures it shows
being the reports' own, and bad input refused."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator

import aiohttp
import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import System


def operator_token(system: System) -> str:
    return (system.var / "center" / "operator-token").read_text().strip()


@pytest.fixture
async def console(system: System) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
            base_url=system.topology.console_url,
            headers={"Authorization": f"Bearer {operator_token(system)}"}) as session:
        yield session


async def test_the_token_is_private_and_required(system: System) -> None:
    path = system.var / "center" / "operator-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # unsafe: keep cookies from an IP address (127.0.0.1), as a browser does
    async with aiohttp.ClientSession(base_url=system.topology.console_url,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as anonymous:
        async with anonymous.get("/api/summary") as response:
            assert response.status == 401
            assert (await response.json())["code"] == "unauthorized"
        async with anonymous.get("/charts/by-month.svg",
                                 headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
        async with anonymous.get("/", headers={"Accept": "text/html"},
                                 allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/login"
        async with anonymous.post("/login", data={"token": "wrong"}) as response:
            assert response.status == 401
            assert "トークンが違います" in await response.text()
            assert "konbini_operator" not in response.cookies
        async with anonymous.post("/login", data={"token": operator_token(system)},
                                  allow_redirects=False) as response:
            assert response.status == 303
            cookie = response.cookies["konbini_operator"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert operator_token(system) not in cookie.value
        # The cookie jar now holds the login: the page opens.
        async with anonymous.get("/") as response:
            assert response.status == 200
            assert "運用コンソール" in await response.text()


async def test_the_figures_are_the_reports_figures(
        system: System, console: aiohttp.ClientSession, kiosk: KioskClient,
        wallet: Wallet) -> None:
    async with console.get("/api/summary") as response:
        before = await response.json()
    # Two copies, the second jammed: one certificate printed and charged.
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    order = await kiosk.order(session["session_id"], "juminhyo", 2,
                              {"members": "household"}, 400)
    first, second = order["certificates"]
    await kiosk.report_result(order["order_id"], [first["certificate_id"]],
                              [{"certificate_id": second["certificate_id"],
                                "reason": "paper-jam"}])
    await kiosk.end_session(session["session_id"])
    # A refusal: 霞 次郎 is 14.
    with pytest.raises(KioskProblem):
        await kiosk.issue(wallet.get("kasumi-jiro"), "1234", "juminhyo")

    async with console.get("/api/summary") as response:
        after = await response.json()
    month = after["month"]
    assert after["statistics"]["total"] == before["statistics"]["total"] + 1
    assert (after["statistics"]["by_month"][month]["住民票"]
            == before["statistics"]["by_month"][month]["住民票"] + 1)
    assert sum(r["count"] for r in after["statistics"]["refusals"]) > sum(
        r["count"] for r in before["statistics"]["refusals"])
    chiyoda = {r["municipality_code"]: r for r in after["settlement"]}["131016"]
    assert chiyoda["certificates"] == {r["municipality_code"]: r for r in
                                       before["settlement"]}["131016"]["certificates"] + 1

    for name in ("by-month", "by-hour", "by-chain", "top-municipalities", "refusals",
                 "settlement"):
        async with console.get(f"/charts/{name}.svg") as response:
            assert response.status == 200, name
            assert response.content_type == "image/svg+xml"
            svg = await response.text()
            assert svg.lstrip().startswith(("<?xml", "<svg")) and 'id="bar-' in svg, name
            assert int(response.headers["X-Chart-Total"]) > 0, name
    async with console.get("/charts/by-month.svg") as response:
        assert f'id="bar-住民票-{month}"' in await response.text()
    async with console.get("/charts/top-municipalities.svg") as response:
        assert 'id="bar-municipality-131016"' in await response.text()

    async with console.get("/", headers={"Accept": "text/html"}) as response:
        page = await response.text()
    assert "千代田区" in page and "kiosk-0001" in page and 'id="incidents"' in page
    # Personal data never reaches the console: it has only the ledger's figures.
    assert "霞" not in page


@pytest.mark.parametrize("query", ["fiscal_year=1999", "fiscal_year=abc", "month=2026-13",
                                   "month=11-2026", "fiscal_year=２０２６"])
async def test_bad_periods_are_refused(console: aiohttp.ClientSession, query: str) -> None:
    for path in ("/api/summary", "/charts/by-hour.svg", "/"):
        async with console.get(f"{path}?{query}") as response:
            assert response.status == 422, (path, query)
            assert (await response.json())["code"] == "invalid-request"


async def test_an_unknown_chart_is_not_found(console: aiohttp.ClientSession) -> None:
    async with console.get("/charts/salaries.svg") as response:
        assert response.status == 404
        assert (await response.json())["code"] == "not-found"
