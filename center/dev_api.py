"""Test-environment API (only on a center started with ``--dev``): move the
center's clock, and make municipal servers look down or slow so a kiosk
tester sees what residents see in an outage. Never enabled by default.

Allowed for kiosk and municipality certificates (see ``ROLE_RULES`` in
:mod:`center.app`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from konbini.clock import isoformat, parse_instant
from konbini.http import json_response
from konbini.problems import invalid_request
from konbini.schemas import MUNICIPALITY_CODE, obj
from konbini.validation import BodySchema, read_json

from . import dev_state
from .context import CenterContext, context

DEV_CLOCK = BodySchema(obj({"now": {"type": ["string", "null"], "maxLength": 40}}, ["now"]))
_CODES = {"type": "array", "items": MUNICIPALITY_CODE, "maxItems": 50, "uniqueItems": True}
DEV_FAULTS = BodySchema(obj({
    "municipalities_down": _CODES, "municipalities_slow": _CODES,
    # Issue 14: a municipal server (started with --dev) renders another resident's
    # certificate, or page 2 of a certificate of several pages from another person's.
    "municipalities_wrong_person": _CODES, "municipalities_foreign_page": _CODES}))

routes = web.RouteTableDef()


@routes.get("/v1/dev/clock")
async def show_clock(request: web.Request) -> web.Response:
    ctx = context(request)
    return json_response({"now": isoformat(ctx.clock.now()),
                          "offset_seconds": round(ctx.clock.offset_seconds, 3)})


@routes.put("/v1/dev/clock")
async def set_clock(request: web.Request) -> web.Response:
    """Move the center's clock (``null`` = real time). The municipal servers
    take the instant from the center (``at``), so this moves them too."""
    ctx = context(request)
    body = await read_json(request, DEV_CLOCK)
    if body["now"] is None:
        ctx.clock.reset()
    else:
        try:
            ctx.clock.set(parse_instant(body["now"]))
        except ValueError as exc:
            raise invalid_request([{"field": "now", "message": "not an ISO 8601 time"}]) from exc
    await dev_state.save_clock(ctx)  # every worker takes it before its next request
    return await show_clock(request)


def _faults_body(ctx: CenterContext) -> dict[str, Any]:
    faults = ctx.municipal.faults
    return {"municipalities_down": sorted(faults.down),
            "municipalities_slow": sorted(faults.slow),
            "municipalities_wrong_person": sorted(faults.wrong_person),
            "municipalities_foreign_page": sorted(faults.foreign_page)}


@routes.get("/v1/dev/faults")
async def show_faults(request: web.Request) -> web.Response:
    return json_response(_faults_body(context(request)))


@routes.put("/v1/dev/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Replace the injected faults. A municipality listed as down is treated
    as unreachable (``municipality-unavailable``); one listed as slow makes
    the center wait its whole municipal timeout and answer
    ``upstream-timeout``. One listed as wrong-person or foreign-page is asked to
    misrender (issue 14) and the kiosk gets ``upstream-error`` with
    ``reason: subject-mismatch``. An empty body clears every fault."""
    ctx = context(request)
    body = await read_json(request, DEV_FAULTS, optional=True)
    down = frozenset(body.get("municipalities_down", ()))
    slow = frozenset(body.get("municipalities_slow", ())) - down
    before = ctx.municipal.faults.down | ctx.municipal.faults.slow
    endpoints: dict[str, str] = {}
    for code in await ctx.store.municipality_codes():
        found = await ctx.store.municipality(code)
        if found is not None:
            endpoints[code] = found[0].endpoint
    ctx.municipal.faults.set(
        down=down, slow=slow, endpoints=endpoints,
        wrong_person=frozenset(body.get("municipalities_wrong_person", ())),
        foreign_page=frozenset(body.get("municipalities_foreign_page", ())))
    await dev_state.save_faults(ctx)  # every worker takes them before its next request
    # The registry's status follows at once rather than at the next upkeep
    # round (15 s in the demo), so a tester sees the change immediately.
    now = ctx.clock.now()
    for code in sorted((before | down | slow) & endpoints.keys()):
        healthy = await ctx.municipal.health(endpoints[code], code)
        await ctx.store.set_municipality_status(code, "active" if healthy else "unreachable",
                                                now)
    return json_response(_faults_body(ctx))
