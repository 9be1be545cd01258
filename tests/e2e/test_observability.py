"""What an operator's Prometheus and log collector see from the running
system: each service's ``/metrics`` moving with the issuances a kiosk makes,
JSON log lines carrying the request id, and the public maintenance calendar."""

from __future__ import annotations

import json
import ssl
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import System

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, context: ssl.SSLContext | None = None) -> Samples:
    with urllib.request.urlopen(url, context=context, timeout=30) as response:
        assert response.status == 200
        text = response.read().decode()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def center_metrics(system: System) -> Samples:
    # Prometheus scrapes the mutual-TLS API with any certificate of the TLS CA.
    return scrape(f"{system.center_url}/metrics", system.ssl_as_municipality("452017"))


async def test_an_issuance_moves_the_center_and_municipal_metrics(
        system: System, kiosk: KioskClient, wallet: Wallet) -> None:
    municipal_url = f"{system.municipal_url('131016')}/metrics"
    before = center_metrics(system)
    municipal_before = scrape(municipal_url, system.ssl_as_center())
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo",
                               options={"members": "household"})
    assert result.settlement["charged_yen"] == 200
    after = center_metrics(system)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("konbini_center_orders_total", type="juminhyo", result="issued") == 1
    assert delta("konbini_center_certificates_settled_total", type="juminhyo",
                 result="printed") == 1
    assert delta("konbini_center_antiforgery_seconds_count") == 1
    assert delta("konbini_http_request_duration_seconds_count", listener="api",
                 method="POST", route="/v1/sessions/{session_id}/orders", status="201") == 1
    municipal_after = scrape(municipal_url, system.ssl_as_center())
    assert (value(municipal_after, "konbini_municipal_certificate_requests_total",
                  type="juminhyo", result="issued")
            - value(municipal_before, "konbini_municipal_certificate_requests_total",
                    type="juminhyo", result="issued")) == 1


async def test_refusals_by_code_and_open_sessions(system: System, kiosk: KioskClient,
                                                  wallet: Wallet) -> None:
    before = center_metrics(system)
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    opened = center_metrics(system)
    assert (value(opened, "konbini_center_open_sessions")
            == value(before, "konbini_center_open_sessions") + 1)
    try:
        await kiosk.order(session["session_id"], "juminhyo", 1, {"members": "household"}, 1)
    except KioskProblem as problem:
        assert problem.code == "fee-mismatch"
    await kiosk.end_session(session["session_id"])
    after = center_metrics(system)
    assert value(after, "konbini_center_open_sessions") == value(
        before, "konbini_center_open_sessions")
    assert (value(after, "konbini_refusals_total", listener="api", code="fee-mismatch",
                  reason="")
            - value(before, "konbini_refusals_total", listener="api", code="fee-mismatch",
                    reason="")) == 1
    assert (value(after, "konbini_center_orders_total", type="juminhyo", result="fee-mismatch")
            - value(before, "konbini_center_orders_total", type="juminhyo",
                    result="fee-mismatch")) == 1


def test_the_kiosk_ui_counts_its_open_kiosks(system: System) -> None:
    base = f"http://127.0.0.1:{system.topology.ports.kiosk_ui}"
    before = value(scrape(f"{base}/metrics"), "konbini_kiosk_open_sessions", screen="start")
    request = urllib.request.Request(f"{base}/api/kiosks", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
    found = scrape(f"{base}/metrics")
    assert value(found, "konbini_kiosk_open_sessions", screen="start") == before + 1
    assert value(found, "konbini_http_request_duration_seconds_count", listener="ui",
                 method="POST", route="/api/kiosks", status="201") >= 1


def test_metrics_need_a_client_certificate(system: System) -> None:
    try:
        urllib.request.urlopen(f"{system.center_url}/metrics", context=system.ssl_anonymous(),
                               timeout=30)
    except (urllib.error.URLError, ssl.SSLError, ConnectionError):
        return
    raise AssertionError("the center's metrics answered a caller without a certificate")


async def test_json_logs_carry_the_request_id(system: System, kiosk: KioskClient) -> None:
    session = await kiosk.start_session()
    await kiosk.end_session(session["session_id"])
    lines = [line for line in system.log("center").splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message", "request_id"} <= e.keys()
               for e in entries)
    access = [e for e in entries if e["logger"] == "konbini.access"
              and "DELETE /v1/sessions/{session_id} 204" in e["message"]]
    assert access and all(len(e["request_id"]) >= 16 for e in access)
    assert session["session_id"] not in system.log("center")


def test_the_public_maintenance_calendar(system: System) -> None:
    # 横浜市 announces maintenance for the whole demo when it starts (its profile).
    with urllib.request.urlopen(f"{system.public_url}/v1/maintenance", timeout=30) as r:
        calendar = json.loads(r.read())
    yokohama = [w for w in calendar["windows"] if w["code"] == "141003"]
    assert yokohama and yokohama[0]["name"] == "横浜市"
    assert yokohama[0]["starts_at"].endswith("+09:00")
    assert yokohama[0]["ends_at"] > yokohama[0]["starts_at"]
    with urllib.request.urlopen(f"{system.public_url}/maintenance", timeout=30) as r:
        page = r.read().decode()
    assert "メンテナンス予定" in page and "横浜市" in page
