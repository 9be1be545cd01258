"""The center's Prometheus metrics (``GET /metrics`` on the mutual-TLS API).

Events are counted as they happen (multiprocess-safe with
``PROMETHEUS_MULTIPROC_DIR``, see ``konbini/metrics.py``): orders by type and
result, certificates settled by type and result, upstream failures per
municipality, the anti-forgery stage's time. States are read from the
database at each scrape: open sessions, orders awaiting their print result,
municipalities by status; so every worker reports the same figure."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import ParamSpec, TypeVar

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from konbini.clock import Clock
from konbini.metrics import NAMESPACE, ServiceMetrics, type_label
from konbini.wire import SESSION_IDLE_SECONDS

from .storage import CenterStore

P = ParamSpec("P")
R = TypeVar("R")

ORDER_ROUTE = ("POST", "/v1/sessions/{session_id}/orders")
# What the municipal client reports; "municipality-unavailable" is a refused
# or lost connection, "upstream-timeout" no answer in time, "upstream-error"
# an answer we could not use.
UPSTREAM_KINDS = {"upstream-error": "error", "upstream-timeout": "timeout",
                  "municipality-unavailable": "unreachable"}
# The anti-forgery stage takes ~60-250 ms a copy on a laptop (README's figures).
ANTIFORGERY_BUCKETS = (0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)


class CenterMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("center")
        self.orders = self.counter(
            "center_orders", "Orders asked for at kiosks, by certificate type and result "
            "(issued, or the problem code that refused it)", ["type", "result"])
        self.count_issuances(*ORDER_ROUTE, self.orders)
        self.certificates_settled = self.counter(
            "center_certificates_settled", "Certificates whose print result came, by type "
            "and result (printed: charged; failed: refunded)", ["type", "result"])
        self.upstream_failures = self.counter(
            "center_upstream_failures", "Calls to a municipal server that failed, by "
            "municipality and kind (error, timeout, unreachable)", ["municipality", "kind"])
        self.antiforgery_seconds = self.histogram(
            "center_antiforgery_seconds", "Time to finish one certificate: rasterise, "
            "scramble, tint, sign, build the back page and merge", [],
            buckets=ANTIFORGERY_BUCKETS)

    def settled(self, cert_type: str, printed: int, failed: int) -> None:
        label = type_label(cert_type)
        if printed:
            self.certificates_settled.labels(label, "printed").inc(printed)
        if failed:
            self.certificates_settled.labels(label, "failed").inc(failed)

    def timed_antiforgery(self, function: Callable[P, R]) -> Callable[P, R]:
        """``function`` observed in ``antiforgery_seconds`` (in the thread that runs it)."""
        histogram = self.antiforgery_seconds

        @functools.wraps(function)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return timed

    def watch(self, store: CenterStore, clock: Clock) -> None:
        """Read the center's states from ``store`` at every scrape."""

        async def states() -> Iterable[Metric]:
            now = clock.now()
            gauges = await store.operational_gauges(
                now - timedelta(seconds=SESSION_IDLE_SECONDS))
            sessions = GaugeMetricFamily(
                f"{NAMESPACE}_center_open_sessions",
                "Kiosk sessions open and not idle for 10 minutes (from the database)",
                value=gauges.open_sessions)
            awaiting = GaugeMetricFamily(
                f"{NAMESPACE}_center_orders_awaiting_result",
                "Orders issued whose print result has not come yet (from the database)",
                value=gauges.orders_awaiting_result)
            municipalities = GaugeMetricFamily(
                f"{NAMESPACE}_center_municipalities",
                "Participating municipalities by status (from the database)",
                labels=["status"])
            for status, count in sorted(gauges.municipalities_by_status.items()):
                municipalities.add_metric([status], count)
            return [sessions, awaiting, municipalities]

        self.add_scrape_hook(states)

    def upstream_observer(self, store: CenterStore) -> Callable:
        """For ``MunicipalClient.failure_observer``: count a failed call by the
        municipality whose registered endpoint the URL is on."""

        async def observe(url: str, code: str) -> None:
            kind = UPSTREAM_KINDS.get(code)
            if kind is None:
                return
            municipality = "unknown"
            for candidate in await store.municipality_codes():
                found = await store.municipality(candidate)
                if found is not None and url.startswith(found[0].endpoint.rstrip("/") + "/"):
                    municipality = candidate
                    break
            self.upstream_failures.labels(municipality, kind).inc()

        return observe
