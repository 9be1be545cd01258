"""A kiosk is its certificate (issue 14, item 6), everywhere: the request budget
and the refusal statistics follow the certificate's fingerprint, so a second
certificate that copies a real terminal's CN can neither spend that terminal's
budget nor have its refusals counted against that terminal's session."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from center.admission import admission_middleware, budget_key
from center.context import CENTER
from center.rate_limit import Budget, RateLimiter
from center.refusals import refusal_recorder
from center.storage import CenterStore
from konbini.clock import Clock
from konbini.http import PEER_KEY
from konbini.problems import Problem
from konbini.tls import PeerIdentity

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
REAL = PeerIdentity("kiosk-0001", "seven-eleven", "store-0001", fingerprint="a" * 64)
# Same CN, chain and store as the real one, another certificate.
COPY = PeerIdentity("kiosk-0001", "seven-eleven", "store-0001", fingerprint="b" * 64)
TRUST_LIST = "/v1/trust-list"


def _request(ctx: object, identity: PeerIdentity, path: str = "/v1/sessions",
             match_info: dict[str, str] | None = None) -> web.Request:
    app = web.Application()
    app[CENTER] = ctx  # type: ignore[assignment]
    request = make_mocked_request("POST", path, app=app, match_info=match_info or {})
    request[PEER_KEY] = identity  # what client_role_middleware sets from the TLS peer
    return request


def _context(store: CenterStore, limiter: RateLimiter) -> SimpleNamespace:
    """What the admission middleware reads; /v1/trust-list is not a guarded path,
    so the registry does not ask for an enrolled terminal."""
    return SimpleNamespace(store=store, limiter=limiter, dev_generation=0,
                           config=SimpleNamespace(dev_mode=False))


async def _ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


def test_the_budget_is_the_certificates() -> None:
    assert budget_key(REAL) != budget_key(COPY)
    assert budget_key(REAL) == budget_key(PeerIdentity("renamed", "x", "y",
                                                       fingerprint=REAL.fingerprint))


def test_a_copied_cn_spends_its_own_budget_not_the_real_terminals(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await CenterStore.open(tmp_path / "center.db", migrate=True)
        try:
            # One request a minute, no burst: a second request of one certificate waits.
            ctx = _context(store, RateLimiter(store, {"terminal": Budget.of(1, 1)}))
            assert (await admission_middleware(_request(ctx, COPY, TRUST_LIST), _ok)).status == 200
            refused = await admission_middleware(_request(ctx, COPY, TRUST_LIST), _ok)
            assert refused.status == 429
            assert json.loads(refused.body)["code"] == "rate-limited"  # type: ignore[arg-type]
            # The real terminal still has its whole budget.
            assert (await admission_middleware(_request(ctx, REAL, TRUST_LIST), _ok)).status == 200
            # A budget set for the terminal by its CN sizes each certificate's own bucket.
            roomy = RateLimiter(store, {"terminal": Budget.of(1, 1)},
                                {"terminal:kiosk-0002": Budget.of(600, 3)})
            ctx = _context(store, roomy)
            other = PeerIdentity("kiosk-0002", "lawson", "store-0002", fingerprint="c" * 64)
            for _ in range(3):
                allowed = await admission_middleware(_request(ctx, other, TRUST_LIST), _ok)
                assert allowed.status == 200
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_refusal_is_counted_for_the_session_of_the_very_certificate(tmp_path: Path) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        raise Problem("service-closed", "closed")

    async def scenario() -> list[tuple[str, str | None]]:
        store = await CenterStore.open(tmp_path / "center.db", migrate=True)
        try:
            await store.create_session("s-1", "kiosk-0001", "seven-eleven", "store-0001",
                                       "card", b"c" * 32, NOW,
                                       terminal_fingerprint=REAL.fingerprint)
            await store.authenticate_session("s-1", "serial-1", "131016", "r-1", "card", NOW)
            ctx = SimpleNamespace(store=store, clock=Clock(NOW))
            for identity in (COPY, REAL):
                with pytest.raises(Problem):
                    await refusal_recorder(_request(ctx, identity, "/v1/sessions/s-1/menu",
                                                    {"session_id": "s-1"}), refuse)
            rows = await store.fetch("SELECT terminal_id, municipality_code FROM refusals "
                                     "ORDER BY rowid")
            return [(row["terminal_id"], row["municipality_code"]) for row in rows]
        finally:
            await store.close()

    # The copy's refusal is not attributed to the real session's municipality.
    assert asyncio.run(scenario()) == [("kiosk-0001", None), ("kiosk-0001", "131016")]
