"""Refusals a kiosk met (交付できなかった理由), counted for statistics and the
console: the problem code and its reason, the municipality, chain, terminal
and time. Never who: no resident code, no name."""

from __future__ import annotations

import logging

from aiohttp import web

from konbini.http import peer
from konbini.problems import Problem
from konbini.tls import PeerIdentity, PeerRole

from .context import context

log = logging.getLogger(__name__)

# What a resident at a kiosk is refused with; malformed requests and protocol
# slips (invalid-request, session-not-found …) are the kiosk's, not refusals.
REFUSAL_CODES = frozenset({
    "service-closed", "credential-not-supported", "signature-invalid",
    "certificate-untrusted", "card-expired", "card-suspended", "card-revoked",
    "card-face-auth", "municipality-not-participating", "municipality-unavailable",
    "resident-ineligible", "type-unavailable", "member-not-in-household", "upstream-timeout",
    "upstream-error",
})


# Set by a handler that knows whose municipality a refusal concerns before the
# session does (a card refused during authentication).
MUNICIPALITY_KEY = "center.refusal_municipality"


def note_municipality(request: web.Request, code: str) -> None:
    request[MUNICIPALITY_KEY] = code


def same_certificate(session_fingerprint: str | None, identity: PeerIdentity) -> bool:
    """The session was opened by this very certificate (its fingerprint): a
    certificate that only copies the terminal's CN is another terminal (pure)."""
    return session_fingerprint is not None and session_fingerprint == identity.fingerprint


@web.middleware
async def refusal_recorder(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except Problem as problem:
        identity = peer(request)
        if problem.code in REFUSAL_CODES and identity.role is PeerRole.KIOSK:
            await _record(request, problem)
        raise


async def _record(request: web.Request, problem: Problem) -> None:
    ctx = context(request)
    identity = peer(request)
    municipality = request.get(MUNICIPALITY_KEY)
    session_id = request.match_info.get("session_id", "")
    try:
        if session_id and len(session_id) <= 64:
            session = await ctx.store.session(session_id)
            if (session is not None and same_certificate(session.terminal_fingerprint, identity)
                    and session.municipality_code):
                municipality = session.municipality_code
        reason = problem.extra.get("reason", "")
        await ctx.store.ledger.record_refusal(
            problem.code, reason if isinstance(reason, str) else "", municipality,
            identity.chain, identity.terminal_id, ctx.clock.now())
    except Exception:  # counting must never change what the kiosk is told
        log.exception("could not record a refusal")
