"""Wires one municipality's certificate server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from konbini.clock import Clock
from konbini.db import resolve_url
from konbini.health import all_ready, start_health_listener
from konbini.http import (
    access_log_middleware,
    client_role_middleware,
    json_response,
    problem_middleware,
    request_id_middleware,
)
from konbini.metrics import ServiceMetrics, serve_metrics
from konbini.subject_binding import load_municipal_key
from konbini.tls import PeerRole, client_context, server_context
from konbini.wire import MAX_BODY_BYTES

from . import api
from .admin_api import create_admin_app, load_or_create_token
from .center_registration import CenterClient, register_with_center
from .context import MUNICIPAL, MunicipalContext, context
from .issuance import Issuer, warm_up
from .issuance_claims import forget_periodically
from .migrate import migrate
from .openapi import municipal_openapi
from .profile import Profile
from .register import Register

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MunicipalConfig:
    profile: Profile
    var_dir: Path  # this municipality's state: var/municipal/<code>
    pki_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    center_url: str = "https://127.0.0.1:8443"
    register_with_center: bool = True
    seed_personas: bool = True
    synthetic_residents: int = 0
    admin_port: int | None = None  # the clerk's API on loopback; None: not served
    dev: bool = False  # test environments: honour the center's dev faults (dev_faults)
    # A worker of `serve --workers N` (konbini/workers.py): the workers share the
    # port and the admin port (SO_REUSEPORT) and only open the register.
    worker_index: int | None = None
    reuse_port: bool = False  # set by the supervisor's workers only
    # A plain-HTTP listener with only /healthz and /readyz; worker i on + i.
    health_port: int | None = None
    # The register's database: --database-url / KONBINI_DATABASE_URL, else SQLite in var_dir.
    database_url: str | None = None

    @property
    def database_url_resolved(self) -> str:
        return resolve_url(self.database_url, self.var_dir / "register.db")

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def endpoint(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def cert(self) -> Path:
        return self.pki_dir / "municipal" / f"{self.profile.code}.cert.pem"

    @property
    def key(self) -> Path:
        return self.pki_dir / "municipal" / f"{self.profile.code}.key.pem"

    @property
    def ca(self) -> Path:
        return self.pki_dir / "tls-ca.cert.pem"


async def readiness(ctx: MunicipalContext, config: MunicipalConfig) -> dict[str, bool]:
    """``GET /readyz``: the register answers; the TLS key pair is readable."""
    async def tls() -> None:
        for path in (config.cert, config.key, config.ca):
            await asyncio.to_thread(path.read_bytes)

    return await all_ready(("database", ctx.register.resident_count), ("tls", tls))


async def openapi(request: web.Request) -> web.Response:
    return json_response(municipal_openapi(context(request).profile.name))


def municipal_metrics() -> ServiceMetrics:
    metrics = ServiceMetrics("municipal")
    metrics.count_issuances("POST", "/v1/certificates", metrics.counter(
        "municipal_certificate_requests", "The center's certificate requests, by type and "
        "result (issued, or the problem code that refused it)", ["type", "result"]))
    return metrics


def create_app(ctx: MunicipalContext) -> web.Application:
    metrics = municipal_metrics()
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[
        request_id_middleware, access_log_middleware, metrics.middleware("api"),
        problem_middleware,
        # /metrics: Prometheus with any client certificate of the TLS CA.
        client_role_middleware([("/", frozenset({PeerRole.CENTER})),
                                ("/metrics", frozenset(PeerRole))])])
    app[MUNICIPAL] = ctx
    app.add_routes(api.routes)
    app.router.add_get("/v1/openapi.json", openapi)
    serve_metrics(app, metrics)
    return app


@contextlib.asynccontextmanager
async def running_municipal_server(config: MunicipalConfig, clock: Clock | None = None
                                   ) -> AsyncIterator[MunicipalContext]:
    clock = clock or Clock.from_env()
    if config.worker_index is None:  # one process is its own migration step
        await migrate(config.database_url_resolved, config.var_dir, config.profile.code,
                      f"{config.profile.prefecture}{config.profile.name}", clock,
                      personas=config.seed_personas, synthetic=config.synthetic_residents)
    register = await Register.open(config.database_url_resolved)
    await asyncio.to_thread(warm_up, config.profile)
    center = CenterClient(config.center_url, client_context(config.cert, config.key, config.ca),
                          config.profile.code)
    subject_key = load_municipal_key(config.pki_dir, config.profile.code)
    if subject_key is None:
        log.warning("no subject-binding key in %s: the center will refuse this server's "
                    "certificates (run python -m konbini.devpki)", config.pki_dir)
    ctx = MunicipalContext(config.profile, register,
                           Issuer(config.profile, register, subject_key), clock, center,
                           dev=config.dev)
    runner = web.AppRunner(create_app(ctx), access_log=None)
    await runner.setup()
    reuse = config.reuse_port
    await web.TCPSite(runner, config.host, config.port, reuse_port=reuse,
                      ssl_context=server_context(config.cert, config.key, config.ca)).start()
    health_runner = None
    if config.health_port is not None:
        health_runner = await start_health_listener(
            config.host, config.health_port + (config.worker_index or 0),
            lambda: readiness(ctx, config), service=f"municipal-{config.profile.code}",
            worker=config.worker_index)
    log.info("municipal server %s (%s) listening on %s", config.profile.code,
             config.profile.name, config.endpoint)
    admin_runner = None
    if config.admin_port is not None:
        # The clerk's API listens on loopback only: the counter's terminals reach it
        # through the municipality's own network, never the center's.
        admin_runner = web.AppRunner(
            create_admin_app(ctx, load_or_create_token(config.var_dir)), access_log=None)
        await admin_runner.setup()
        await web.TCPSite(admin_runner, "127.0.0.1", config.admin_port,
                          reuse_port=reuse).start()
        log.info("clerk's admin API on %s", config.admin_url)
    task = None
    if config.register_with_center:
        task = asyncio.create_task(
            register_with_center(center, config.profile, config.endpoint, clock))
    # Answers kept for a retry lose their PDFs after 60 s even when no request follows.
    forgetting = asyncio.create_task(forget_periodically(
        register.claims, float(os.environ.get("KONBINI_UPKEEP_SECONDS", "15"))))
    try:
        yield ctx
    finally:
        forgetting.cancel()
        if task:
            task.cancel()
        if admin_runner is not None:
            await admin_runner.cleanup()
        if health_runner is not None:
            await health_runner.cleanup()
        await center.close()
        await runner.cleanup()
        await register.close()
