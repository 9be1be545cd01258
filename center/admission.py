"""Admission of a request to the mutual-TLS API, in one transaction (issue 12).

Three checks run before every handler: the ``--dev`` clock and faults another
worker may have set (center/dev_state.py), the terminal registry (a kiosk's
certificate must be enrolled and active, center/terminals.py) and the request
budget (center/rate_limit.py). Each reads or writes the database, never a
process's memory, so that every worker sees a revocation, a budget and a
moved clock at once. Run as three middlewares they were three transactions;
a transaction costs ~220 µs of CPU in SQLAlchemy however small, and a kiosk
makes six requests an issuance. Here they are one transaction with the same
outcome and order: a refused terminal is answered 403 without spending a
token, a spent budget 429; the settings are applied before the handler."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web

from konbini.http import peer
from konbini.tls import PeerIdentity

from . import dev_state, terminals
from .context import context
from .rate_limit import TERMINAL, RateLimited


def budget_key(identity: PeerIdentity) -> str:
    """Whose request budget a request draws from: the client certificate itself
    (its fingerprint), never the CN, which another certificate can copy to spend
    a real terminal's budget."""
    return identity.fingerprint or f"cn:{identity.common_name}"


@web.middleware
async def admission_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    ctx = context(request)
    identity = peer(request)
    guarded = request.rel_url.path.startswith(terminals.GUARDED_PREFIXES)
    generation = ctx.dev_generation
    settings: dict[str, Any] | None = None
    problem = None
    wait = 0.0
    async with ctx.store.unit_of_work() as unit:
        if ctx.config.dev_mode:
            settings = await unit.shared.dev_settings()
        if guarded:
            found = (await terminals.terminal(unit, identity.fingerprint)
                     if identity.fingerprint else None)
            problem = terminals.refusal(found)
        if problem is None:
            # The bucket is the certificate's; its size the terminal's (an override by CN).
            wait = await replace(ctx.limiter, store=unit).allow(
                TERMINAL, budget_key(identity), budget_name=identity.common_name)
    if problem is not None:
        raise problem  # as the registry answered: before the budget, nothing spent
    if wait > 0:
        return RateLimited("too many requests from this terminal", wait).response()
    if settings is not None:
        dev_state.take(ctx, generation, settings)
    return await handler(request)
