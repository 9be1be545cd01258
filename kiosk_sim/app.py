"""The kiosk UI on :8000: the screens of a store's multi-copy machine in the
browser, and the tester's controls beside them.

The browser talks only to this process; this process talks to the center
over mutual TLS with the terminal certificate of the store the tester
chose, as a real kiosk does. Each browser tab is one kiosk, held under an
unguessable id (``POST /api/kiosks``); the card, the center session, the
money and the printed PDFs stay here and are dropped when the card is
taken or the kiosk goes idle. See README, "The kiosk simulator in the
browser", for the endpoints."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from konbini.health import add_health_routes, all_ready
from konbini.http import (
    json_response,
    problem_middleware,
    request_id_middleware,
)
from konbini.logging_setup import configure_logging
from konbini.metrics import NAMESPACE, ServiceMetrics, serve_metrics
from konbini.problems import Problem
from konbini.schemas import CERT_TYPE, MUNICIPALITY_CODE, ORDER_OPTIONS, obj
from konbini.validation import BodySchema, read_json
from konbini.wire import MAX_COPIES

from .card import PinResetRefused
from .client import KioskClient, KioskProblem, Terminal
from .messages import catalog
from .stores import Store, discover_stores
from .ui_session import (
    COINS,
    DEFAULT_IDLE_SECONDS,
    NETWORK_FAULTS,
    NOTES,
    PIN_RESET_CHAINS,
    TAKE_CARD_SECONDS,
    Kiosk,
    Outbox,
    Settings,
)
from .wallet import Wallet

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_KIOSKS = 64
# The page resets an idle kiosk itself; the server does it too a little later,
# for a tab that was closed or lost its connection.
IDLE_GRACE_SECONDS = 10.0
FORGET_SECONDS = 3600.0
REAP_SECONDS = 2.0

LANGUAGE = {"enum": ["ja", "en"]}
WALLET_KEY = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}
TERMINAL_ID = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
SETTINGS = BodySchema(obj({
    "terminal_id": TERMINAL_ID,
    "card": {"oneOf": [WALLET_KEY, {"type": "null"}]},
    "idle_seconds": {"type": "integer", "minimum": 2, "maximum": 3600},
    "take_card_seconds": {"type": "integer", "minimum": 2, "maximum": 600},
    "paper_jam": {"oneOf": [{"type": "null"},
                            {"type": "integer", "minimum": 1, "maximum": MAX_COPIES}]},
    "network": {"enum": list(NETWORK_FAULTS)},
}))
EMPTY = BodySchema(obj({}))
ACTIONS: dict[str, BodySchema] = {
    "begin": BodySchema(obj({"language": LANGUAGE}, ["language"])),
    "language": BodySchema(obj({"language": LANGUAGE}, ["language"])),
    "insert": BodySchema(obj({"reader": {"enum": ["card", "smartphone"]}}, ["reader"])),
    "pin": BodySchema(obj({"pin": {"type": "string", "pattern": "^[0-9]{4}$"}}, ["pin"])),
    "select": BodySchema(obj({"type": CERT_TYPE, "municipality_code": MUNICIPALITY_CODE},
                             ["type"])),
    "register-use": BodySchema(obj({"municipality_code": MUNICIPALITY_CODE},
                                   ["municipality_code"])),
    "options": BodySchema(obj({"options": ORDER_OPTIONS}, ["options"])),
    "copies": BodySchema(obj({"copies": {"type": "integer", "minimum": 1,
                                         "maximum": MAX_COPIES}}, ["copies"])),
    "confirm": EMPTY,
    "back": EMPTY,
    "money": BodySchema(obj({"yen": {"enum": list(COINS + NOTES)}}, ["yen"])),
    "cancel-payment": EMPTY,
    "print": EMPTY,
    "finish": EMPTY,
    "cancel": EMPTY,
    "take-card": EMPTY,
    "reset": EMPTY,
    "pin-reset": BodySchema(obj({"pin": {"type": "string", "pattern": "^[0-9]{4}$"},
                                 "confirm": {"type": "string", "pattern": "^[0-9]{4}$"}},
                                ["pin", "confirm"])),
}
PIN_RESET_RESERVATION = BodySchema(obj({
    "card": {"type": "string", "minLength": 1, "maxLength": 64},
    "signature_pin": {"type": "string", "minLength": 1, "maxLength": 16}},
    ["card", "signature_pin"]))
_CODES = {"type": "array", "items": MUNICIPALITY_CODE, "maxItems": 50, "uniqueItems": True}
DEV_CLOCK = BodySchema(obj({"now": {"oneOf": [{"type": "string", "maxLength": 40},
                                              {"type": "null"}]}}, ["now"]))
# The center's dev faults per municipality (center/dev_api.py): down, slow, and the
# misrendering ones of issue 14 (the municipal server must run with --dev too).
MUNICIPAL_FAULTS = ("municipalities_down", "municipalities_slow",
                    "municipalities_wrong_person", "municipalities_foreign_page")
DEV_FAULTS = BodySchema(obj({name: _CODES for name in MUNICIPAL_FAULTS}))


@dataclass
class KioskContext:
    wallet: Wallet
    pki: Path
    center_url: str
    stores: list[Store]
    default_terminal: str = "kiosk-0001"
    idle_seconds: int = DEFAULT_IDLE_SECONDS
    take_card_seconds: int = TAKE_CARD_SECONDS
    kiosks: dict[str, Kiosk] = field(default_factory=dict)
    outbox: Outbox = field(default_factory=Outbox)

    def terminal(self, store: Store) -> Terminal:
        return Terminal.from_pki(self.pki, store.terminal_id, self.center_url)

    def store(self, terminal_id: str) -> Store:
        for store in self.stores:
            if store.terminal_id == terminal_id:
                return store
        raise Problem("invalid-request", "no such terminal",
                      errors=[{"field": "terminal_id", "message": "no such terminal"}])


KIOSK = web.AppKey("kiosk", KioskContext)


def _ctx(request: web.Request) -> KioskContext:
    return request.app[KIOSK]


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def messages(request: web.Request) -> web.Response:
    return json_response(catalog())


# -- tester controls -----------------------------------------------------------
async def _center_dev(ctx: KioskContext, method: str, path: str,
                      body: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The center's test-environment API (``--dev``), or None where it is off."""
    store = ctx.store(ctx.default_terminal) if ctx.stores else None
    if store is None:
        return None
    try:
        async with KioskClient(ctx.terminal(store), timeout_seconds=10) as client:
            _, answer, _ = await client.request(method, path, body)
    except KioskProblem as exc:
        if exc.code in ("not-found", "network-error"):
            return None
        raise Problem("upstream-error", f"the center answered {exc.code}") from exc
    return answer if isinstance(answer, dict) else None


async def tester(request: web.Request) -> web.Response:
    """The tester panel: cards (by key; the holder's name is not shown, it is
    personal data), stores, the center's clock and faults."""
    ctx = _ctx(request)
    cards = await asyncio.to_thread(ctx.wallet.entries)
    clock, faults = await asyncio.gather(_center_dev(ctx, "GET", "/v1/dev/clock"),
                                         _center_dev(ctx, "GET", "/v1/dev/faults"))
    return json_response({
        "cards": [{"key": c.key, "credential": c.credential, "locked": c.locked,
                   "municipality_code": c.municipality_code} for c in cards],
        "stores": [s.to_json() for s in ctx.stores],
        "clock": clock, "faults": faults,
        "defaults": {"idle_seconds": ctx.idle_seconds,
                     "take_card_seconds": ctx.take_card_seconds},
    })


async def tester_clock(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    body = await read_json(request, DEV_CLOCK)
    answer = await _center_dev(ctx, "PUT", "/v1/dev/clock", body)
    if answer is None:
        raise Problem("not-found", "the center was not started with --dev")
    return json_response(answer)


async def tester_faults(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    body = await read_json(request, DEV_FAULTS, optional=True)
    answer = await _center_dev(ctx, "PUT", "/v1/dev/faults", body)
    if answer is None:
        raise Problem("not-found", "the center was not started with --dev")
    return json_response(answer)


async def tester_pin_reset(request: web.Request) -> web.Response:
    """The holder's phone (face authentication, then the signature PIN) reserves
    a reset of the locked PIN, to finish at a Seven-Eleven kiosk within 24 hours."""
    ctx = _ctx(request)
    body = await read_json(request, PIN_RESET_RESERVATION)
    if body["card"] not in ctx.wallet:
        raise Problem("not-found", "no such card in the wallet")
    card = await asyncio.to_thread(ctx.wallet.get, body["card"])
    try:
        until = await asyncio.to_thread(card.reserve_pin_reset, body["signature_pin"],
                                        datetime.now(UTC))
    except PinResetRefused as exc:
        raise Problem(exc.code, exc.detail, status=403, **exc.extra) from exc
    return json_response({"card": body["card"], "reserved_until": until.isoformat(),
                          "chains": list(PIN_RESET_CHAINS)})


# -- kiosks ------------------------------------------------------------------------
def _apply_settings(ctx: KioskContext, kiosk: Kiosk, body: dict[str, Any]) -> None:
    settings = kiosk.settings
    if "terminal_id" in body and body["terminal_id"] != settings.store.terminal_id:
        if kiosk.screen not in ("start", "insert"):
            raise Problem("conflict", "the store can only change between residents",
                          screen=kiosk.screen)
        settings.store = ctx.store(body["terminal_id"])
    if "card" in body:
        if body["card"] is not None and body["card"] not in ctx.wallet:
            raise Problem("not-found", "no such card in the wallet")
        settings.card = body["card"]
    for name in ("idle_seconds", "take_card_seconds", "paper_jam", "network"):
        if name in body:
            setattr(settings, name, body[name])


def _make_room(ctx: KioskContext) -> None:
    """Forget the kiosks idle longest on the start screen (closed tabs)."""
    if len(ctx.kiosks) < MAX_KIOSKS:
        return
    idle = sorted((k for k in ctx.kiosks.values() if k.screen == "start"),
                  key=lambda k: k.last_activity)
    if not idle:
        raise Problem("rate-limited", "too many kiosks are in use", retry_after_seconds=10)
    del ctx.kiosks[idle[0].kiosk_id]


async def create_kiosk(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    body = await read_json(request, SETTINGS, optional=True)
    if not ctx.stores:
        raise Problem("not-found", "no kiosk terminal certificates in the PKI")
    _make_room(ctx)
    kiosk_id = secrets.token_urlsafe(24)
    kiosk = Kiosk(kiosk_id, Settings(store=ctx.store(ctx.default_terminal),
                                     idle_seconds=ctx.idle_seconds,
                                     take_card_seconds=ctx.take_card_seconds),
                  ctx.wallet, ctx.terminal, ctx.outbox)
    _apply_settings(ctx, kiosk, body)
    ctx.kiosks[kiosk_id] = kiosk
    return json_response(kiosk.state(), status=201)


def _kiosk(request: web.Request) -> Kiosk:
    kiosk = _ctx(request).kiosks.get(request.match_info["kiosk_id"])
    if kiosk is None:
        raise Problem("not-found", "no such kiosk; create one with POST /api/kiosks")
    return kiosk


async def show_kiosk(request: web.Request) -> web.Response:
    return json_response(_kiosk(request).state())


async def kiosk_settings(request: web.Request) -> web.Response:
    ctx, kiosk = _ctx(request), _kiosk(request)
    body = await read_json(request, SETTINGS)
    async with kiosk.lock:
        _apply_settings(ctx, kiosk, body)
        return json_response(kiosk.state())


Action = Callable[[Kiosk, dict[str, Any]], Awaitable[None]]


async def _set_language(kiosk: Kiosk, body: dict[str, Any]) -> None:
    kiosk.set_language(body["language"])


HANDLERS: dict[str, Action] = {
    "begin": lambda k, b: k.begin(b["language"]),
    "language": _set_language,
    "insert": lambda k, b: k.insert(b["reader"]),
    "pin": lambda k, b: k.enter_pin(b["pin"]),
    "select": lambda k, b: k.select(b["type"], b.get("municipality_code")),
    "register-use": lambda k, b: k.register_use(b["municipality_code"]),
    "options": lambda k, b: k.set_options(b["options"]),
    "copies": lambda k, b: k.set_copies(b["copies"]),
    "confirm": lambda k, b: k.confirm(),
    "back": lambda k, b: k.back(),
    "money": lambda k, b: k.insert_money(b["yen"]),
    "cancel-payment": lambda k, b: k.cancel_payment(),
    "print": lambda k, b: k.start_printing(),
    "finish": lambda k, b: k.finish(),
    "cancel": lambda k, b: k.cancel_insert(),
    "take-card": lambda k, b: k.take_card(),
    "reset": lambda k, b: k.reset(),
    "pin-reset": lambda k, b: k.finish_pin_reset(b["pin"], b["confirm"]),
}


async def kiosk_action(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action not in HANDLERS:
        raise Problem("not-found", "no such action")
    kiosk = _kiosk(request)
    body = await read_json(request, ACTIONS[action], optional=True)
    async with kiosk.lock:
        if action != "reset":
            kiosk.touch()
        await HANDLERS[action](kiosk, body)
        return json_response(kiosk.state())


async def printed(request: web.Request) -> web.Response:
    """A printed copy's page image or PDF, only while the result is on screen."""
    kiosk = _kiosk(request)
    page = request.match_info.get("page")
    data = kiosk.printed_file(request.match_info["token"], int(request.match_info["number"]),
                              int(page) if page else None)
    if data is None:
        raise Problem("not-found", "no such print")
    headers = {"Cache-Control": "no-store"}
    if page:
        return web.Response(body=data, content_type="image/png", headers=headers)
    number = next((c.certificate_number for c in kiosk.prints
                   if c.number == int(request.match_info["number"])), "certificate")
    headers["Content-Disposition"] = f'attachment; filename="{number}.pdf"'
    return web.Response(body=data, content_type="application/pdf", headers=headers)


# -- upkeep --------------------------------------------------------------------------
async def reap(ctx: KioskContext) -> None:
    """Back to the start for kiosks whose page went away mid-transaction."""
    while True:
        await asyncio.sleep(REAP_SECONDS)
        for kiosk in list(ctx.kiosks.values()):
            try:
                idle = kiosk.idle_for()
                async with kiosk.lock:
                    if kiosk.screen == "take-card" and \
                            idle > kiosk.settings.take_card_seconds + IDLE_GRACE_SECONDS:
                        await kiosk.take_card()
                    elif idle > kiosk.settings.idle_seconds + IDLE_GRACE_SECONDS:
                        await kiosk.reset()
                if kiosk.screen == "start" and idle > FORGET_SECONDS:
                    ctx.kiosks.pop(kiosk.kiosk_id, None)
            except Exception:
                log.exception("kiosk upkeep failed")


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    ctx = app[KIOSK]
    task = asyncio.create_task(reap(ctx))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    for kiosk in list(ctx.kiosks.values()):
        await kiosk.close()
    ctx.kiosks.clear()
    await ctx.outbox.close()


def kiosk_metrics(ctx: KioskContext) -> ServiceMetrics:
    """Latency and refusals, and the open kiosk tabs by screen. Each tab's
    kiosk lives in this one process's memory by design (its printed PDFs are
    never written down), so counting them here is exact."""
    from prometheus_client.metrics_core import GaugeMetricFamily

    metrics = ServiceMetrics("kiosk")

    async def open_kiosks() -> list[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(f"{NAMESPACE}_kiosk_open_sessions",
                                  "Kiosk tabs open in this UI, by screen", labels=["screen"])
        screens: dict[str, int] = {}
        for kiosk in list(ctx.kiosks.values()):
            screens[kiosk.screen] = screens.get(kiosk.screen, 0) + 1
        for screen, count in sorted(screens.items()):
            gauge.add_metric([screen], count)
        return [gauge]

    metrics.add_scrape_hook(open_kiosks)
    return metrics


def create_app(ctx: KioskContext) -> web.Application:
    metrics = kiosk_metrics(ctx)
    app = web.Application(client_max_size=64 * 1024,
                          middlewares=[request_id_middleware, metrics.middleware("ui"),
                                       problem_middleware])
    app[KIOSK] = ctx
    serve_metrics(app, metrics)
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_get("/", index)
    app.router.add_static("/static", STATIC)
    app.router.add_get("/api/messages", messages)
    app.router.add_get("/api/tester", tester)
    app.router.add_put("/api/tester/clock", tester_clock)
    app.router.add_put("/api/tester/faults", tester_faults)
    app.router.add_post("/api/tester/pin-reset-reservations", tester_pin_reset)
    app.router.add_post("/api/kiosks", create_kiosk)
    app.router.add_get("/api/kiosks/{kiosk_id}", show_kiosk)
    app.router.add_put("/api/kiosks/{kiosk_id}/settings", kiosk_settings)
    app.router.add_post("/api/kiosks/{kiosk_id}/{action}", kiosk_action)
    prints = "/api/kiosks/{kiosk_id}/prints/{token:[A-Za-z0-9_-]{1,64}}/{number:[0-9]{1,2}}"
    app.router.add_get(prints + "/page-{page:[0-9]{1,2}}.png", printed)
    app.router.add_get(prints + ".pdf", printed)
    add_health_routes(app, lambda: _readiness(ctx), service="kiosk")  # /healthz, /readyz
    return app


async def _readiness(ctx: KioskContext) -> dict[str, bool]:
    """The wallet and the terminal certificates can be read (the kiosk UI keeps
    its kiosks in memory: it is one process by nature, a simulated machine)."""
    async def files() -> None:
        await asyncio.to_thread(ctx.wallet.directory.stat)
        for store in ctx.stores:
            terminal = ctx.terminal(store)
            await asyncio.to_thread(terminal.cert.read_bytes)

    return await all_ready(("files", files))


def serve(args: argparse.Namespace) -> None:
    configure_logging("kiosk", getattr(args, "log_format", "text"))
    stores = discover_stores(args.var / "pki")
    ids = [s.terminal_id for s in stores]
    default = args.terminal if args.terminal in ids else (ids[0] if ids else args.terminal)
    ctx = KioskContext(Wallet(args.var / "kiosk" / "wallet"), args.var / "pki", args.center,
                       stores, default_terminal=default, idle_seconds=args.idle_seconds,
                       take_card_seconds=int(os.environ.get("KONBINI_KIOSK_TAKE_CARD_SECONDS",
                                                            TAKE_CARD_SECONDS)))
    web.run_app(create_app(ctx), host=args.host, port=args.port, access_log=None,
                print=None)
