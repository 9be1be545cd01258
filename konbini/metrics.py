"""Prometheus metrics every service shares: request latency per route,
refusals (problem documents) by code, and the ``GET /metrics`` handler.

One :class:`ServiceMetrics` per process, built by the service's factory and
kept in the app (``METRICS``), never a module global of ours. With several
worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
shared by the workers: prometheus-client then keeps counters and histograms
in memory-mapped files there and any worker's scrape sums them all.
Figures that are state rather than events (open sessions, say) are not
counted in a process at all: a service registers a *scrape hook* that reads
them from its database when ``/metrics`` is asked, so they are right however
many workers there are."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from .problems import PROBLEM_CONTENT_TYPE
from .wire import CertificateType

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
NAMESPACE = "konbini"
# Buckets in seconds: a menu answers in a few ms, an order with its PDFs in ~0.1–2 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED_ROUTE = "unmatched"  # a 404 for a path no route knows: never the raw path
KNOWN_TYPES = frozenset(t.value for t in CertificateType)

ScrapeHook = Callable[[], Awaitable[Iterable[Metric]]]


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV, "").strip()
    return Path(value) if value else None


def route_label(request: web.Request) -> str:
    """The route's template (``/v1/orders/{order_id}/result``), bounded in number."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


def type_label(value: object) -> str:
    """A certificate type as a label; anything else one value, so a caller
    cannot make labels up."""
    return value if isinstance(value, str) and value in KNOWN_TYPES else "invalid"


class ServiceMetrics:
    """The metrics of one service process: ``listener`` names the port
    (api, public, console, admin, ui) since one process may serve several."""

    def __init__(self, service: str) -> None:
        self.service = service
        directory = multiprocess_dir()
        if directory is not None:  # the workers' value files go here: it must exist
            directory.mkdir(parents=True, exist_ok=True)
        self.registry = CollectorRegistry(auto_describe=True)
        self._hooks: list[ScrapeHook] = []
        self._issuance_routes: dict[tuple[str, str], Counter] = {}
        self.request_seconds = Histogram(
            "http_request_duration_seconds", "Time to answer a request, by route template",
            ["listener", "method", "route", "status"], namespace=NAMESPACE,
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.refusals = Counter(
            "refusals", "Problem documents sent, by problem code and reason",
            ["listener", "code", "reason"], namespace=NAMESPACE, registry=self.registry)

    def counter(self, name: str, documentation: str, labels: Iterable[str]) -> Counter:
        return Counter(name, documentation, list(labels), namespace=NAMESPACE,
                       registry=self.registry)

    def histogram(self, name: str, documentation: str, labels: Iterable[str],
                  buckets: Iterable[float] = LATENCY_BUCKETS) -> Histogram:
        return Histogram(name, documentation, list(labels), namespace=NAMESPACE,
                         buckets=tuple(buckets), registry=self.registry)

    def count_issuances(self, method: str, route: str, counter: Counter) -> None:
        """Count each request to ``route`` in ``counter`` by the body's ``type``
        and the result: ``issued`` or the problem code."""
        self._issuance_routes[(method, route)] = counter

    def add_scrape_hook(self, hook: ScrapeHook) -> None:
        """``hook`` returns metric families read fresh at each scrape."""
        self._hooks.append(hook)

    async def exposition(self) -> bytes:
        fresh: list[Metric] = []
        for hook in self._hooks:
            fresh.extend(await hook())
        registry = CollectorRegistry(auto_describe=False)
        directory = multiprocess_dir()
        if directory is not None:
            # Every worker's counters and histograms, from the shared files.
            MultiProcessCollector(registry, path=str(directory))
        else:
            registry.register(_Forward(self.registry.collect))
        registry.register(_Forward(lambda: iter(fresh)))
        return generate_latest(registry)

    def recorder(self, listener: str) -> RequestRecorder:
        """What the metrics middleware does, for a middleware of ours that folds it in
        (``konbini.http.service_middleware``)."""
        return RequestRecorder(self, listener)

    def middleware(self, listener: str) -> Callable:
        """Latency per route template and refusals by code. Place it outside
        ``problem_middleware`` so it sees every failure as its problem document."""
        recorder = self.recorder(listener)

        @web.middleware
        async def metrics_middleware(request: web.Request, handler: Callable
                                     ) -> web.StreamResponse:
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                await recorder.count(request, response)
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                recorder.observe(request, status, time.perf_counter() - started)

        return metrics_middleware


class RequestRecorder:
    """One listener's request metrics: the latency histogram's children are kept per
    (method, route template, status), so a request costs a dict lookup instead of
    prometheus-client's label checks and lock (the children are prometheus-client's
    own objects: the values stay in its store, or in the multiprocess files)."""

    def __init__(self, metrics: ServiceMetrics, listener: str) -> None:
        self._listener = listener
        self._request_seconds = metrics.request_seconds
        self._refusals = metrics.refusals
        self._issuance_routes = metrics._issuance_routes
        self._children: dict[tuple[str, str, int], Any] = {}

    async def count(self, request: web.Request, response: web.StreamResponse) -> None:
        """Refusals by code, and the issuance counters of their routes."""
        try:
            code = "issued"
            if response.content_type == PROBLEM_CONTENT_TYPE:
                code, reason = problem_code(response)
                self._refusals.labels(self._listener, code, reason).inc()
            if self._issuance_routes:
                counter = self._issuance_routes.get((request.method, route_label(request)))
                if counter is not None:
                    counter.labels(await _body_type(request), code).inc()
        except Exception:  # counting must never change what the caller gets
            log.exception("could not count a request in the metrics")

    def observe(self, request: web.Request, status: int, seconds: float) -> None:
        key = (request.method, route_label(request), status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._request_seconds.labels(
                self._listener, key[0], key[1], str(status))
        child.observe(seconds)


async def _body_type(request: web.Request) -> str:
    """The ``type`` of a JSON body the handler has read (aiohttp keeps it)."""
    try:
        parsed = json.loads(await request.read())
    except (ValueError, RecursionError, web.HTTPException):
        return "invalid"  # not JSON, nested too deep, too large: not a type
    return type_label(parsed.get("type") if isinstance(parsed, dict) else None)


def problem_code(response: web.StreamResponse) -> tuple[str, str]:
    """The ``code`` and ``reason`` of a problem document we are about to send."""
    body = getattr(response, "body", None)
    try:
        parsed = json.loads(body) if isinstance(body, bytes | bytearray) else {}
    except (ValueError, RecursionError):
        parsed = {}
    if not isinstance(parsed, dict):
        parsed = {}
    code = parsed.get("code")
    reason = parsed.get("reason")
    # Codes and reasons are our own short kebab-case words; cap them all the same.
    return (code[:64] if isinstance(code, str) else "unknown",
            reason[:64] if isinstance(reason, str) else "")


class _Forward:
    """A collector over a callable's metric families (a registry's, or a scrape's)."""

    def __init__(self, collect: Callable[[], Iterator[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        return self._collect()


METRICS = web.AppKey("metrics", ServiceMetrics)


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics``: the Prometheus text format."""
    body = await request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST,
                                            "Cache-Control": "no-store"})


def serve_metrics(app: web.Application, metrics: ServiceMetrics) -> None:
    """Add ``GET /metrics`` to ``app``."""
    app[METRICS] = metrics
    app.router.add_get("/metrics", metrics_handler)
