"""Metrics, JSON logs and the maintenance calendar, without the system:
the middleware labels by route template, multiprocess mode sums workers,
the municipal client's failures are counted per municipality, and the
calendar page escapes what it shows."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from center.calendar import MaintenanceWindow
from center.maintenance_site import CalendarEntry, calendar_html, upcoming_windows
from center.metrics import CenterMetrics
from center.municipal_client import MunicipalClient
from center.municipalities import Registration
from center.storage import CenterStore
from konbini.clock import TOKYO
from konbini.http import problem_middleware, request_id_middleware
from konbini.logging_setup import configure_logging
from konbini.metrics import ServiceMetrics, serve_metrics
from konbini.problems import Problem

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
ROOT = Path(__file__).resolve().parents[2]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def order_app(metrics: ServiceMetrics) -> web.Application:
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("copies", 1) > 10:
            raise Problem("invalid-request", "too many copies")
        if body.get("expected_fee_yen") != 200:
            raise Problem("fee-mismatch", "the fee has changed", fee_yen=200)
        return web.json_response({"order_id": "o1"}, status=201)

    async def order(request: web.Request) -> web.Response:
        return web.json_response({"order_id": request.match_info["order_id"]})

    app = web.Application(middlewares=[request_id_middleware, metrics.middleware("api"),
                                       problem_middleware])
    app.router.add_post("/v1/sessions/{session_id}/orders", create)
    app.router.add_get("/v1/orders/{order_id}", order)
    serve_metrics(app, metrics)
    return app


async def test_latency_by_route_template_and_refusals_by_code(aiohttp_client) -> None:
    metrics = CenterMetrics()
    client = await aiohttp_client(order_app(metrics))
    assert (await client.get("/v1/orders/secret-order-7")).status == 200
    assert (await client.get("/no/such/path/12345")).status == 404
    orders = "/v1/sessions/s-9f8e/orders"
    assert (await client.post(orders, json={"type": "juminhyo", "copies": 1,
                                            "expected_fee_yen": 200})).status == 201
    assert (await client.post(orders, json={"type": "inkan", "copies": 1,
                                            "expected_fee_yen": 300})).status == 409
    assert (await client.post(orders, json={"type": "<script>", "copies": 99})).status == 422
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    found = samples(text)
    # Route templates, never the raw path (ids are unbounded and may identify someone).
    assert "secret-order-7" not in text and "s-9f8e" not in text and "12345" not in text
    assert value(found, "konbini_http_request_duration_seconds_count", listener="api",
                 method="GET", route="/v1/orders/{order_id}", status="200") == 1
    assert value(found, "konbini_http_request_duration_seconds_count", listener="api",
                 method="GET", route="unmatched", status="404") == 1
    assert value(found, "konbini_refusals_total", listener="api", code="fee-mismatch",
                 reason="") == 1
    assert value(found, "konbini_refusals_total", listener="api", code="not-found",
                 reason="") == 1
    assert value(found, "konbini_center_orders_total", type="juminhyo", result="issued") == 1
    assert value(found, "konbini_center_orders_total", type="inkan",
                 result="fee-mismatch") == 1
    # A made-up type is one label value, not whatever the caller sent.
    assert value(found, "konbini_center_orders_total", type="invalid",
                 result="invalid-request") == 1


async def test_open_sessions_are_read_from_the_database(tmp_path: Path) -> None:
    store = await CenterStore.open(tmp_path / "center.db", migrate=True)
    try:
        metrics = CenterMetrics()

        class FixedClock:
            def now(self) -> datetime:
                return NOW

        metrics.watch(store, FixedClock())  # type: ignore[arg-type]
        for n in range(3):
            await store.create_session(f"s{n}", "kiosk-0001", "seven-eleven", "st1", "card",
                                       b"x" * 32, NOW - timedelta(minutes=n * 6))
        await store.close_session("s0", NOW)
        found = samples((await metrics.exposition()).decode())
        # s0 closed, s2 idle for 12 minutes: only s1 is open.
        assert value(found, "konbini_center_open_sessions") == 1
        assert value(found, "konbini_center_orders_awaiting_result") == 0
    finally:
        await store.close()


async def test_upstream_failures_are_counted_per_municipality(tmp_path: Path) -> None:
    store = await CenterStore.open(tmp_path / "center.db", migrate=True)
    client = MunicipalClient(None, timeout_seconds=1)  # type: ignore[arg-type]
    await client.start()
    try:
        endpoint = "https://127.0.0.1:9"
        await store.upsert_municipality(Registration("452017", "宮崎市", "宮崎県", endpoint),
                                        [], "active", NOW)
        metrics = CenterMetrics()
        client.failure_observer = metrics.upstream_observer(store)
        client.faults.set(down=frozenset({"452017"}), slow=frozenset(),
                          endpoints={"452017": endpoint})
        for _ in range(2):
            try:
                await client.menu(endpoint, {}, "req-1")
            except Problem as problem:
                assert problem.code == "municipality-unavailable"
        found = samples((await metrics.exposition()).decode())
        assert value(found, "konbini_center_upstream_failures_total", municipality="452017",
                     kind="unreachable") == 2
    finally:
        await client.close()
        await store.close()


WORKER = textwrap.dedent("""
    import asyncio, sys
    from center.metrics import CenterMetrics
    metrics = CenterMetrics()
    if sys.argv[1] == "count":
        metrics.orders.labels("juminhyo", "issued").inc(3)
        metrics.antiforgery_seconds.observe(0.12)
    else:
        sys.stdout.write(asyncio.run(metrics.exposition()).decode())
""")


def test_multiprocess_mode_sums_every_worker(tmp_path: Path) -> None:
    """Two worker processes count; a third, scraping, reports the sum."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory),
           "PYTHONPATH": str(ROOT)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", WORKER, "count"], env=env, check=True)
    scrape = subprocess.run([sys.executable, "-c", WORKER, "scrape"], env=env, check=True,
                            capture_output=True, text=True).stdout
    found = samples(scrape)
    assert value(found, "konbini_center_orders_total", type="juminhyo", result="issued") == 6
    assert value(found, "konbini_center_antiforgery_seconds_count") == 2


def test_json_log_lines_carry_the_request_id() -> None:
    from konbini.http import current_request_id

    configure_logging("center", "json")
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    token = current_request_id.set("req-42")
    try:
        logging.getLogger("center.kiosk_api").info("order %s settled", "o-1")
    finally:
        current_request_id.reset(token)
    logging.getLogger("x").warning("outside a request")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "order o-1 settled"
    assert first["request_id"] == "req-42" and first["logger"] == "center.kiosk_api"
    assert first["level"] == "INFO" and first["time"].endswith("Z")
    assert second["request_id"] == "-" and second["level"] == "WARNING"
    configure_logging("center", "text")


async def test_calendar_lists_upcoming_windows_in_jst(tmp_path: Path) -> None:
    store = await CenterStore.open(tmp_path / "center.db", migrate=True)
    try:
        await store.upsert_municipality(
            Registration("141003", "横浜市", "神奈川県", "https://127.0.0.1:9"), [], "active",
            NOW)
        await store.add_maintenance("141003", MaintenanceWindow(
            NOW + timedelta(days=2), NOW + timedelta(days=2, hours=3), "システム更新"))
        await store.add_maintenance("141003", MaintenanceWindow(
            NOW - timedelta(days=2), NOW - timedelta(days=1), "終わった"))
        await store.add_maintenance(None, MaintenanceWindow(
            NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1), "センター保守"))
        windows = await upcoming_windows(store, NOW)
        assert [(w.code, w.reason) for w in windows] == [(None, "センター保守"),
                                                         ("141003", "システム更新")]
        entry = windows[1].as_json()
        assert entry["starts_at"] == "2026-11-26T10:00:00+09:00"
        assert entry["name"] == "横浜市"
    finally:
        await store.close()


def test_calendar_page_escapes_the_reason() -> None:
    page = calendar_html([CalendarEntry("131016", "千代田区", NOW, NOW + timedelta(hours=1),
                                        "<b>更新</b>")], NOW)
    assert "&lt;b&gt;更新&lt;/b&gt;" in page and "<b>更新" not in page
    assert "2026-11-24 (火) 10:00" in page
    assert "予定されているメンテナンスはありません" in calendar_html([], NOW)
