"""Incidents, voids and reconciliation over the wire (issue 14, items 4 and 5):
what the municipality reads and does, what the store reports, what the
inquiry site says, and what the municipal 交付履歴 says became of each
certificate — after a normal issuance, a paper jam, a void, and a kill -9 of
the center in the middle of an order."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from municipal_server.personas import resident_code
from tests.conftest import BASE_CLOCK, CenterClock, Raw, System

CHIYODA = "131016"
TARO = resident_code(CHIYODA, "kasumi-taro")
# Delivery to the municipal server is asynchronous (at once, then the upkeep):
# wait for it, however slow the machine, but not for ever.
PATIENCE_SECONDS = 60


class Clerk:
    """千代田区's admin API (the clerk's 交付履歴) with its token."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.base = f"http://127.0.0.1:{system.topology.ports.municipal_admin[CHIYODA]}"
        token = (system.var / "municipal" / CHIYODA / "admin-token").read_text().strip()
        self.session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"})

    async def issuance(self, request_id: str) -> dict[str, Any]:
        async with self.session.get(
                f"{self.base}/admin/v1/residents/{TARO}/history") as response:
            assert response.status == 200
            body = await response.json()
        found = [h for h in body["issuances"] if h["request_id"] == request_id]
        assert len(found) == 1, "the municipal server has no record of the request"
        return found[0]

    async def until(self, request_id: str, outcome: str) -> dict[str, Any]:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while True:
            record = await self.issuance(request_id)
            if record["outcome"] == outcome or time.monotonic() > deadline:
                return record
            await asyncio.sleep(0.2)

    def history_command(self) -> list[dict[str, Any]]:
        """What the clerk's ``history`` command prints."""
        done = subprocess.run(
            [sys.executable, "-m", "municipal_server", "admin", "--code", CHIYODA,
             "--var", str(self.system.var), "--url", self.base, "history", TARO],
            capture_output=True, text=True, timeout=120)
        return json.loads(done.stdout)["result"]["issuances"]


@pytest.fixture
async def clerk(system: System) -> AsyncIterator[Clerk]:
    client = Clerk(system)
    yield client
    await client.session.close()


async def place_order(kiosk: KioskClient, wallet: Wallet, copies: int = 1,
                      persona: str = "kasumi-taro") -> tuple[str, dict[str, Any]]:
    """Card, PIN, order and download, but no result yet: (session id, order)."""
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get(persona), "1234")
    order = await kiosk.order(session["session_id"], "juminhyo", copies, {}, 200 * copies)
    for certificate in order["certificates"]:
        await kiosk.download(certificate)
    return session["session_id"], order


async def incidents_of(raw: Raw, **query: str) -> list[dict[str, Any]]:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    status, body, _ = await raw.call("GET", f"/v1/municipalities/{CHIYODA}/incidents{suffix}")
    assert status == 200, body
    return body["incidents"]


async def verify(system: System, pdf: bytes) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", pdf, filename="certificate.pdf", content_type="application/pdf")
    async with aiohttp.ClientSession() as session, session.post(
            f"{system.public_url}/v1/verify", data=form) as response:
        assert response.status == 200
        return await response.json()


async def test_a_normal_issuance_is_delivered_in_the_municipal_history(
        system: System, kiosk: KioskClient, wallet: Wallet, clerk: Clerk) -> None:
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo")
    order_id = result.order["order_id"]
    record = await clerk.until(order_id, "delivered")
    assert record["outcome"] == "delivered"
    number = result.order["certificates"][0]["certificate_number"]
    assert [(o["certificate_number"], o["outcome"]) for o in record["outcomes"]] == [
        (number, "delivered")]
    # The clerk's command prints it.
    printed = [h for h in clerk.history_command() if h["request_id"] == order_id]
    assert printed[0]["outcome"] == "delivered"


async def test_a_paper_jam_opens_an_incident_and_the_history_says_failed(
        system: System, kiosk: KioskClient, wallet: Wallet, clerk: Clerk,
        as_chiyoda: Raw) -> None:
    _, order = await place_order(kiosk, wallet, copies=2)
    first, second = (c["certificate_id"] for c in order["certificates"])
    settlement = await kiosk.report_result(order["order_id"], [first],
                                           [{"certificate_id": second, "reason": "paper-jam"}])
    assert settlement == {"charged_yen": 200, "refunded_yen": 200}

    record = await clerk.until(order["order_id"], "partly-delivered")
    outcomes = {o["certificate_number"]: o for o in record["outcomes"]}
    numbers = [c["certificate_number"] for c in order["certificates"]]
    assert outcomes[numbers[0]]["outcome"] == "delivered"
    assert (outcomes[numbers[1]]["outcome"], outcomes[numbers[1]]["reason"]) == (
        "failed", "paper-jam")

    found = [i for i in await incidents_of(as_chiyoda) if i["order_id"] == order["order_id"]]
    assert [(i["kind"], i["certificate_id"], i["detail_code"], i["status"]) for i in found] == [
        ("print-failed", second, "paper-jam", "open")]
    assert found[0]["terminal_id"] == "kiosk-0001"

    # One copy, jammed: the whole request failed.
    _, order = await place_order(kiosk, wallet)
    only = order["certificates"][0]["certificate_id"]
    await kiosk.report_result(order["order_id"], [],
                              [{"certificate_id": only, "reason": "paper-jam"}])
    assert (await clerk.until(order["order_id"], "failed"))["outcome"] == "failed"


async def test_the_municipality_acknowledges_and_resolves_its_incidents(
        system: System, kiosk: KioskClient, wallet: Wallet, as_chiyoda: Raw) -> None:
    _, order = await place_order(kiosk, wallet)
    certificate_id = order["certificates"][0]["certificate_id"]
    await kiosk.report_result(order["order_id"], [],
                              [{"certificate_id": certificate_id, "reason": "toner empty"}])
    [incident] = [i for i in await incidents_of(as_chiyoda)
                  if i["order_id"] == order["order_id"]]
    # Identifiers and a machine code only; free text is reduced to a code.
    assert incident["detail_code"] == "toner-empty"
    assert incident["escalated"] is False
    assert incident["incident_id"] in {i["incident_id"]
                                       for i in await incidents_of(as_chiyoda, status="open")}
    path = f"/v1/municipalities/{CHIYODA}/incidents/{incident['incident_id']}"

    status, body, _ = await as_chiyoda.call("POST", path, json_body={"status": "acknowledged",
                                                                     "note": "保守業者に連絡"})
    assert (status, body["status"], body["note"]) == (200, "acknowledged", "保守業者に連絡")
    status, body, _ = await as_chiyoda.call("POST", path, json_body={"status": "acknowledged"})
    assert (status, body["code"]) == (409, "conflict")
    status, body, _ = await as_chiyoda.call("POST", path, json_body={"status": "resolved"})
    assert (status, body["status"]) == (200, "resolved")
    assert body["resolved_at"] is not None
    status, body, _ = await as_chiyoda.call("POST", path, json_body={"status": "resolved"})
    assert (status, body["code"]) == (409, "conflict")
    resolved = await incidents_of(as_chiyoda, status="resolved")
    assert incident["incident_id"] in {i["incident_id"] for i in resolved}

    # Bad input changes nothing.
    status, body, _ = await as_chiyoda.call("POST", path, json_body={"status": "open"})
    assert (status, body["code"]) == (422, "invalid-request")
    status, body, _ = await as_chiyoda.call("GET",
                                            f"/v1/municipalities/{CHIYODA}/incidents?status=x")
    assert (status, body["code"]) == (422, "invalid-request")
    assert await incidents_of(as_chiyoda, since="2099-01-01T00:00:00Z") == []

    # Another municipality sees none of it and cannot touch it.
    miyazaki = Raw(system.center_url, system.ssl_as_municipality("452017"))
    try:
        status, body, _ = await miyazaki.call("GET", f"/v1/municipalities/{CHIYODA}/incidents")
        assert (status, body["code"]) == (403, "municipality-mismatch")
        status, body, _ = await miyazaki.call(
            "POST", f"/v1/municipalities/452017/incidents/{incident['incident_id']}",
            json_body={"status": "resolved"})
        assert (status, body["code"]) == (404, "not-found")
        status, body, _ = await miyazaki.call("GET", "/v1/municipalities/452017/incidents")
        assert all(i["municipality_code"] == "452017" for i in body["incidents"])
    finally:
        await miyazaki.close()


async def test_a_municipality_voids_a_certificate_and_the_inquiry_site_says_void(
        system: System, kiosk: KioskClient, wallet: Wallet, as_chiyoda: Raw,
        clerk: Clerk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo", out_dir=tmp_path)
    pdf = result.files[0].read_bytes()
    assert (await verify(system, pdf))["status"] == "valid"
    number = result.order["certificates"][0]["certificate_number"]
    await clerk.until(result.order["order_id"], "delivered")

    path = f"/v1/municipalities/{CHIYODA}/certificates/{number}/void"
    status, body, _ = await as_chiyoda.call("POST", path, json_body={"reason": "wrong-person"})
    assert (status, body["status"], body["reason"]) == (200, "void", "wrong-person")
    checked = await verify(system, pdf)
    assert checked["status"] == "void"
    assert checked["void_reason"] == "municipality:wrong-person"
    assert "市区町村により無効" in checked["message"] and "別人の証明書" in checked["message"]
    assert (await clerk.until(result.order["order_id"], "voided"))["outcome"] == "voided"
    found = [i for i in await incidents_of(as_chiyoda) if i["incident_id"] == body["incident_id"]]
    assert found[0]["kind"] == "municipality-void" and found[0]["status"] == "acknowledged"

    status, body, _ = await as_chiyoda.call("POST", path, json_body={"reason": "wrong-person"})
    assert (status, body["code"]) == (409, "conflict")
    status, body, _ = await as_chiyoda.call(
        "POST", f"/v1/municipalities/{CHIYODA}/certificates/no-such-number/void",
        json_body={"reason": "other"})
    assert (status, body["code"]) == (404, "not-found")
    status, body, _ = await as_chiyoda.call("POST", path, json_body={"reason": "山田さんの分"})
    assert (status, body["code"]) == (422, "invalid-request")
    # Another municipality cannot void 千代田区's certificate.
    miyazaki = Raw(system.center_url, system.ssl_as_municipality("452017"))
    try:
        status, body, _ = await miyazaki.call(
            "POST", f"/v1/municipalities/452017/certificates/{number}/void",
            json_body={"reason": "other"})
        assert (status, body["code"]) == (404, "not-found")
    finally:
        await miyazaki.close()


async def test_a_store_reports_a_wrong_print(system: System, kiosk: KioskClient,
                                             wallet: Wallet, as_chiyoda: Raw,
                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo", out_dir=tmp_path)
    order_id = result.order["order_id"]
    path = f"/v1/orders/{order_id}/report"
    # Only the terminal that placed the order.
    other = Raw(system.center_url, system.ssl_as_kiosk("kiosk-0003"))
    try:
        status, body, _ = await other.call("POST", path, json_body={"what": "wrong-person"})
        assert (status, body["code"]) == (404, "order-not-found")
    finally:
        await other.close()
    status, body, _ = await kiosk.request("POST", path, {"what": "wrong-person"})
    assert status == 200
    assert body["voided"] == [result.order["certificates"][0]["certificate_id"]]
    checked = await verify(system, result.files[0].read_bytes())
    assert checked["status"] == "void" and "店舗からの申出" in checked["message"]
    found = [i for i in await incidents_of(as_chiyoda) if i["incident_id"] == body["incident_id"]]
    assert [(i["kind"], i["order_id"], i["detail_code"], i["terminal_id"]) for i in found] == [
        ("store-report", order_id, "wrong-person", "kiosk-0001")]
    with pytest.raises(KioskProblem) as again:
        await kiosk.request("POST", path, {"what": "wrong-person"})
    assert again.value.code == "conflict"


async def test_an_order_reported_before_its_result_is_not_charged(
        system: System, kiosk: KioskClient, wallet: Wallet, clerk: Clerk) -> None:
    _, order = await place_order(kiosk, wallet)
    status, _, _ = await kiosk.request("POST", f"/v1/orders/{order['order_id']}/report",
                                       {"what": "illegible"})
    assert status == 200
    certificate = order["certificates"][0]["certificate_id"]
    settlement = await kiosk.report_result(order["order_id"], [certificate])
    assert settlement == {"charged_yen": 0, "refunded_yen": 200}
    assert (await clerk.until(order["order_id"], "voided"))["outcome"] == "voided"


async def test_after_a_kill_9_of_the_center_mid_order_the_history_says_not_delivered(
        system: System, wallet: Wallet, clerk: Clerk, as_chiyoda: Raw) -> None:
    async with KioskClient(system.terminal("kiosk-0002")) as kiosk:
        _, order = await place_order(kiosk, wallet)
    order_id = order["order_id"]
    # The PDF is downloaded, nothing is printed yet: the center dies.
    topology = system.topology
    center = topology.processes.pop("center")
    center.kill()
    center.wait(timeout=30)
    topology.start_service("center")
    topology.wait_ready(timeout=120)

    record = await clerk.issuance(order_id)
    assert record["outcome"] == "undelivered"
    assert record["outcomes"] == []

    # Ten minutes without a result: the restarted center voids it, records an
    # incident, and tells the municipality.
    clock = CenterClock(Raw(system.center_url, system.ssl_as_kiosk("kiosk-0002")))
    try:
        await clock.advance(11 * 60)
        record = await clerk.until(order_id, "voided")
        assert record["outcome"] == "voided"
        assert record["outcomes"][0]["reason"] == "result never reported"
        found = [i for i in await incidents_of(as_chiyoda) if i["order_id"] == order_id]
        assert [(i["kind"], i["detail_code"]) for i in found] == [
            ("void", "result-never-reported")]
    finally:
        await clock(BASE_CLOCK)
        await clock.raw.close()


async def test_the_operator_report_lists_incidents_open_for_a_day(
        system: System, kiosk: KioskClient, wallet: Wallet) -> None:
    _, order = await place_order(kiosk, wallet)
    certificate_id = order["certificates"][0]["certificate_id"]
    await kiosk.report_result(order["order_id"], [],
                              [{"certificate_id": certificate_id, "reason": "paper-jam"}])

    def report(*args: str, clock: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "center", "report", "incidents", "--var", str(system.var),
             *args], capture_output=True, text=True, timeout=120,
            env={**system.center_env(), "KONBINI_CLOCK": clock})
        assert done.returncode == 0, done.stderr
        return [i for i in json.loads(done.stdout)["incidents"]
                if i["order_id"] == order["order_id"]]

    assert len(report(clock=BASE_CLOCK)) == 1
    assert report("--escalated", clock=BASE_CLOCK) == []
    later = report("--escalated", clock="2026-11-25T11:00:00+09:00")
    assert [(i["kind"], i["escalated"]) for i in later] == [("print-failed", True)]



async def test_an_upstream_timeout_opens_an_incident_and_charges_nothing(
        system: System, kiosk: KioskClient, wallet: Wallet, as_chiyoda: Raw,
        as_kiosk: Raw) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    await kiosk.menu(session["session_id"])
    before = {i["incident_id"] for i in await incidents_of(as_chiyoda)}
    status, body, _ = await as_kiosk.call("PUT", "/v1/dev/faults",
                                          json_body={"municipalities_slow": [CHIYODA]})
    assert status == 200, body
    try:
        with pytest.raises(KioskProblem) as refused:
            await kiosk.order(session["session_id"], "juminhyo", 1, {}, 200)
        assert refused.value.code == "upstream-timeout"
    finally:
        status, body, _ = await as_kiosk.call("PUT", "/v1/dev/faults", json_body={})
        assert status == 200, body
    new = [i for i in await incidents_of(as_chiyoda) if i["incident_id"] not in before]
    assert [(i["kind"], i["detail_code"], i["certificate_id"]) for i in new] == [
        ("upstream-timeout", "upstream-timeout", None)]
    # No order was made, so nothing can be charged for it.
    order_id = new[0]["order_id"]
    status, body, _ = await as_kiosk.call("POST", f"/v1/orders/{order_id}/result",
                                          json_body={"printed": []})
    assert (status, body["code"]) == (404, "order-not-found")


async def test_outcomes_reach_a_municipal_server_that_was_down_and_in_order(
        system: System, wallet: Wallet, clerk: Clerk, as_chiyoda: Raw) -> None:
    """Delivered, then voided by the municipality, while its server is down:
    once it is back the history says voided (the later report is not
    overtaken by the earlier one being retried)."""
    async with KioskClient(system.terminal("kiosk-0003")) as kiosk:
        _, order = await place_order(kiosk, wallet)
        system.topology.stop_service(f"municipal-{CHIYODA}")
        try:
            certificate = order["certificates"][0]
            settlement = await kiosk.report_result(order["order_id"],
                                                   [certificate["certificate_id"]])
            assert settlement["charged_yen"] == 200
            status, body, _ = await as_chiyoda.call(
                "POST", f"/v1/municipalities/{CHIYODA}/certificates/"
                        f"{certificate['certificate_number']}/void",
                json_body={"reason": "reissued"})
            assert status == 200, body
        finally:
            system.topology.start_service(f"municipal-{CHIYODA}")
    deadline = time.monotonic() + 180
    while True:
        try:
            record = await clerk.issuance(order["order_id"])
        except aiohttp.ClientError:
            record = {"outcome": "(server starting)"}
        if record["outcome"] == "voided" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert record["outcome"] == "voided"
    assert record["outcomes"][0]["reason"] == "reissued"
