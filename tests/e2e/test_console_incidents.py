"""The operator's console shows the escalation (issue 14, item 4): an incident
nobody acknowledged for a day appears in 未確認のインシデント, with its
municipality, what happened and how long it has waited — and not before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from tests.conftest import CenterClock, Raw, System

CHIYODA = "131016"


@pytest.fixture
async def console(system: System) -> AsyncIterator[aiohttp.ClientSession]:
    token = (system.var / "center" / "operator-token").read_text().strip()
    async with aiohttp.ClientSession(base_url=system.topology.console_url,
                                     headers={"Authorization": f"Bearer {token}"}) as session:
        yield session


async def shown(console: aiohttp.ClientSession, incident_id: str) -> tuple[dict[str, Any] | None,
                                                                           str]:
    """The incident as /api/summary lists it (or None), and the page's HTML."""
    async with console.get("/api/summary") as response:
        assert response.status == 200
        listed = [i for i in (await response.json())["incidents"]
                  if i["incident_id"] == incident_id]
    async with console.get("/", headers={"Accept": "text/html"}) as response:
        assert response.status == 200
        page = await response.text()
    return (listed[0] if listed else None), page


async def test_an_incident_open_for_a_day_is_escalated_in_the_console(
        system: System, console: aiohttp.ClientSession, kiosk: KioskClient, wallet: Wallet,
        as_chiyoda: Raw, center_clock: CenterClock) -> None:
    # A paper jam: the kiosk reports the only copy failed, an incident is opened.
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    order = await kiosk.order(session["session_id"], "juminhyo", 1, {}, 200)
    certificate = order["certificates"][0]
    await kiosk.report_result(order["order_id"], [], [
        {"certificate_id": certificate["certificate_id"], "reason": "paper-jam"}])
    await kiosk.end_session(session["session_id"])
    status, body, _ = await as_chiyoda.call("GET", f"/v1/municipalities/{CHIYODA}/incidents")
    assert status == 200, body
    [incident] = [i for i in body["incidents"] if i["order_id"] == order["order_id"]]
    incident_id = incident["incident_id"]

    # Fresh: not escalated, not on the console.
    entry, page = await shown(console, incident_id)
    assert entry is None
    assert incident_id not in page

    # A day later, still unacknowledged: escalated, with municipality, kind and age.
    await center_clock.advance(24 * 3600 + 60)
    entry, page = await shown(console, incident_id)
    assert entry is not None
    assert (entry["municipality_code"], entry["kind"]) == (CHIYODA, "print-failed")
    assert 24.0 <= entry["age_hours"] < 25.0
    section = page.split("id=\"incidents\"", 1)[1].split("</section>", 1)[0]
    line = section.split(f"data-incident='{incident_id}'", 1)[1].split("</li>", 1)[0]
    assert "印刷失敗" in line and "千代田区" in line and "1日0時間" in line

    # Acknowledged by the municipality: off the panel.
    status, body, _ = await as_chiyoda.call(
        "POST", f"/v1/municipalities/{CHIYODA}/incidents/{incident_id}",
        json_body={"status": "acknowledged"})
    assert status == 200, body
    entry, page = await shown(console, incident_id)
    assert entry is None and incident_id not in page
