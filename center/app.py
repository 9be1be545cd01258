"""Wires the center: the mutual-TLS API (kiosks, municipalities) and the
public site, their middlewares, and the background upkeep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from konbini.clock import Clock
from konbini.db import is_unavailable as is_database_unavailable
from konbini.devpki import load_jpki_ca
from konbini.health import add_health_routes, start_health_listener
from konbini.http import client_role_middleware, json_response, service_middleware
from konbini.metrics import serve_metrics
from konbini.subject_binding import load_center_secret
from konbini.tls import PeerRole, client_context, server_context
from konbini.wire import MAX_BODY_BYTES, SESSION_IDLE_SECONDS

from . import (
    console,
    dev_api,
    dev_state,
    incident_api,
    inquiry_site,
    jwks,
    kiosk_api,
    maintenance_site,
    municipality_api,
    operations_api,
    reconciliation,
    terminal_api,
)
from .admission import admission_middleware
from .config import CenterConfig
from .console_auth import load_or_create_token
from .context import CENTER, CenterContext, context
from .health import health_info, readiness
from .incidents import record_void
from .jpki import JpkiAuthority
from .leases import UPKEEP, Lease
from .municipal_client import MunicipalClient
from .openapi import center_openapi
from .qr_keys import QrKeyring
from .rate_limit import RateLimiter
from .refusals import refusal_recorder
from .storage import CenterStore

log = logging.getLogger(__name__)
# Tests shorten this to see a forgotten order voided within seconds.
UPKEEP_SECONDS = float(os.environ.get("KONBINI_UPKEEP_SECONDS", "15"))
# A request budget untouched for an hour is full again (burst / rate < 1 h): drop it.
BUDGET_IDLE_SECONDS = 3600.0

KIOSK, MUNICIPALITY = frozenset({PeerRole.KIOSK}), frozenset({PeerRole.MUNICIPALITY})
ROLE_RULES = [
    ("/v1/sessions", KIOSK),
    ("/v1/orders", KIOSK),
    ("/v1/municipalities", MUNICIPALITY),
    ("/v1/jpki", MUNICIPALITY),
    ("/v1/dev", KIOSK | MUNICIPALITY),
    ("/v1/chains", frozenset({PeerRole.CHAIN})),  # the terminal registry (terminal_api.py)
]


async def trust_list(request: web.Request) -> web.Response:
    ctx = context(request)
    return json_response(ctx.qr_keys.trust_list())


async def openapi(request: web.Request) -> web.Response:
    return json_response(center_openapi(context(request).config.dev_mode))


async def build_context(config: CenterConfig, clock: Clock) -> CenterContext:
    ca_key, ca_certificate = load_jpki_ca(config.pki_dir)
    store = await CenterStore.open(config.database_url_resolved)
    municipal = MunicipalClient(client_context(config.tls_cert, config.tls_key, config.tls_ca),
                                timeout_seconds=config.municipal_timeout_seconds)
    await municipal.start()
    ctx = CenterContext(
        config=config, store=store, clock=clock,
        jpki=JpkiAuthority(ca_key, ca_certificate),
        qr_keys=QrKeyring.load_or_create(config.qr_key_dir, clock.now()),
        municipal=municipal,
        limiter=RateLimiter(store, config.budgets(), config.budget_overrides),
        subject_secret=load_center_secret(config.pki_dir))
    ctx.metrics.watch(store, clock)
    municipal.failure_observer = ctx.metrics.upstream_observer(store)
    return ctx


async def upkeep(ctx: CenterContext) -> None:
    """Void orders whose result never came, drop their PDFs, close idle
    sessions, and re-check municipal servers' health. With several workers
    only the holder of the ``upkeep`` lease (center/leases.py) does a round."""
    # Long enough to outlast one round (health checks time out after 3 s each).
    lease = Lease(ctx.store.shared, UPKEEP, ttl_seconds=3 * UPKEEP_SECONDS + 15)
    while True:
        try:
            if not await lease.hold():
                await asyncio.sleep(UPKEEP_SECONDS)
                continue
            if ctx.config.dev_mode:
                await dev_state.apply(ctx)  # the clock another worker may have moved
            now = ctx.clock.now()
            # Each void commits with its incident and the outcome owed to the municipality.
            voided = await ctx.store.expire_orders(
                now, then=record_void)
            if voided:
                log.info("voided %d orders without a result", len(voided))
            await reconciliation.deliver_due(ctx.store, ctx.municipal.session, now)
            # The round may have waited on municipal servers meanwhile: a tester who moved
            # the clock back must not see a session made since closed as idle.
            if ctx.config.dev_mode:
                await dev_state.apply(ctx)
            idle_now = min(now, ctx.clock.now())
            await ctx.store.close_idle_sessions(
                idle_now - timedelta(seconds=SESSION_IDLE_SECONDS), idle_now)
            await ctx.store.forget_idle_budgets(time.time() - BUDGET_IDLE_SECONDS)
            for code in await ctx.store.municipality_codes():
                found = await ctx.store.municipality(code)
                if found is None:
                    continue
                healthy = await ctx.municipal.health(found[0].endpoint, code)
                status = "active" if healthy else "unreachable"
                if status != found[1]:
                    await ctx.store.set_municipality_status(code, status, now)
            await ctx.store.shared.forget_order_keys(time.time() - 86400)
            await ctx.store.scrub_deleted_pdfs()  # settled PDFs' pages leave the WAL file
        except Exception as exc:
            if is_database_unavailable(exc):  # a restart of PostgreSQL: one line a round
                log.warning("upkeep: the database is unavailable (%s); will try again",
                            type(exc).__name__)
            else:
                log.exception("upkeep failed; will try again")
        await asyncio.sleep(UPKEEP_SECONDS)


def create_api_app(ctx: CenterContext) -> web.Application:
    """The mutual-TLS API: kiosks and municipalities."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[
        # request id, access log, metrics and problem documents, as one layer
        service_middleware(ctx.metrics, "api"), client_role_middleware(ROLE_RULES),
        # The registry, the request budget and the --dev settings: one transaction.
        admission_middleware, refusal_recorder])
    app[CENTER] = ctx
    app.add_routes(kiosk_api.routes)
    app.add_routes(municipality_api.routes)
    app.add_routes(operations_api.routes)  # fee periods, statements, statistics
    app.add_routes(incident_api.routes)
    app.add_routes(terminal_api.routes)
    if ctx.config.dev_mode:
        app.add_routes(dev_api.routes)
    app.router.add_get("/v1/trust-list", trust_list)
    app.router.add_get(jwks.PATH, jwks.serve)
    app.router.add_get("/v1/openapi.json", openapi)
    # Prometheus scrapes here with any client certificate of the TLS CA (docs/api.md).
    serve_metrics(app, ctx.metrics)
    return app


def create_public_app(ctx: CenterContext) -> web.Application:
    """The public site: no client certificate."""
    app = web.Application(client_max_size=MAX_BODY_BYTES,
                          middlewares=[service_middleware(ctx.metrics, "public")])
    app[CENTER] = ctx
    app.router.add_get("/v1/trust-list", trust_list)
    app.router.add_get(jwks.PATH, jwks.serve)
    app.router.add_get("/v1/openapi.json", openapi)
    add_health_routes(app, lambda: readiness(ctx), **health_info(ctx))  # /healthz, /readyz
    inquiry_site.setup(app)  # GET /verify, POST /v1/verify, the recovered fronts
    maintenance_site.setup(app)  # GET /maintenance, GET /v1/maintenance
    return app


@contextlib.asynccontextmanager
async def running_center(config: CenterConfig, clock: Clock | None = None,
                         ) -> AsyncIterator[CenterContext]:
    """Start both listeners and the upkeep task; stop them on exit."""
    ctx = await build_context(config, clock or Clock.from_env())
    api_runner = web.AppRunner(create_api_app(ctx), access_log=None)
    public_runner = web.AppRunner(create_public_app(ctx), access_log=None)
    await api_runner.setup()
    await public_runner.setup()
    tls = server_context(config.tls_cert, config.tls_key, config.tls_ca)
    reuse = config.reuse_port  # several workers share the port (SO_REUSEPORT)
    await web.TCPSite(api_runner, config.host, config.listen_api_port, ssl_context=tls,
                      reuse_port=reuse).start()
    await web.TCPSite(public_runner, config.host, config.listen_public_port,
                      reuse_port=reuse).start()
    health_runner = None
    if config.listen_health_port is not None:
        health_runner = await start_health_listener(
            config.host, config.listen_health_port, lambda: readiness(ctx), **health_info(ctx))
    console_runner = None
    if config.console_port is not None:
        console_runner = web.AppRunner(console.create_console_app(
            ctx, load_or_create_token(config.operator_token_file)), access_log=None)
        await console_runner.setup()
        await web.TCPSite(console_runner, config.console_host, config.console_port,
                          reuse_port=reuse).start()
        log.info("operator console on http://%s:%d (token in %s)", config.console_host,
                 config.console_port, config.operator_token_file)
    task = asyncio.create_task(upkeep(ctx))
    log.info("center listening: API https://%s:%d (mutual TLS), public http://%s:%d%s",
             config.host, config.listen_api_port, config.host, config.listen_public_port,
             "" if config.worker_index is None else f" (worker {config.worker_index})")
    try:
        yield ctx
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if health_runner is not None:
            await health_runner.cleanup()
        await api_runner.cleanup()
        await public_runner.cleanup()
        if console_runner is not None:
            await console_runner.cleanup()
        await ctx.municipal.close()
        await ctx.store.close()
