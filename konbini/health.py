"""Unauthenticated health endpoints, the same on every service.

``GET /healthz``: the process is alive and its event loop answers.
``GET /readyz``: it can do its work now (database reachable, keys loaded);
otherwise 503 ``not-ready`` (a problem document with the failing checks), so
a balancer takes it out.

The API listeners demand a client certificate at the TLS layer, so these
live on plain-HTTP listeners: the center's public site, and a health
listener of each worker (``--health-port``; worker *i* on port + *i*) that a
balancer checks one worker at a time. They say nothing about anyone's data."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

from aiohttp import web

from .http import json_response
from .problems import Problem, problem_response

log = logging.getLogger(__name__)

ReadinessChecks = Callable[[], Awaitable[dict[str, bool]]]
HEALTH_INFO = web.AppKey("health_info", dict)
HEALTH_CHECKS = web.AppKey("health_checks", object)


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok", **request.app[HEALTH_INFO], "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    checks_of: ReadinessChecks = request.app[HEALTH_CHECKS]  # type: ignore[assignment]
    try:
        checks = await checks_of()
    except Exception:  # a readiness probe reports, it never fails with a 500
        log.exception("readiness check failed")
        checks = {"checks": False}
    if not all(checks.values()):
        return problem_response(Problem(
            "not-ready", "not ready: " + ", ".join(n for n, ok in checks.items() if not ok),
            checks=checks, **request.app[HEALTH_INFO], pid=os.getpid()))
    return json_response({"status": "ready", "checks": checks,
                          **request.app[HEALTH_INFO], "pid": os.getpid()})


def add_health_routes(app: web.Application, checks: ReadinessChecks, **info: object) -> None:
    """``/healthz`` and ``/readyz`` on ``app``; ``info`` (service, worker) goes in both."""
    app[HEALTH_INFO] = dict(info)
    app[HEALTH_CHECKS] = checks
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


async def start_health_listener(host: str, port: int, checks: ReadinessChecks,
                                **info: object) -> web.AppRunner:
    """A plain-HTTP listener with only the two endpoints; cleanup() stops it."""
    app = web.Application()
    add_health_routes(app, checks, **info)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def all_ready(*checks: tuple[str, Callable[[], Awaitable[object]]]) -> dict[str, bool]:
    """Run each named check; a check passes when it returns without raising."""
    result = {}
    for name, check in checks:
        try:
            await check()
            result[name] = True
        except Exception as exc:
            log.warning("not ready: %s: %s", name, type(exc).__name__)
            result[name] = False
    return result
