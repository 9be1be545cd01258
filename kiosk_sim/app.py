"""The kiosk UI on :8000. For now a tester's page that runs one issuance
through the real protocol with a card from the wallet; the screen-by-screen
kiosk is built on top of the same endpoints."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from konbini.http import (
    configure_logging,
    json_response,
    problem_middleware,
    request_id_middleware,
)
from konbini.problems import Problem
from konbini.schemas import ORDER_OPTIONS, obj
from konbini.validation import BodySchema, read_json
from konbini.wire import CERTIFICATE_TYPES, MAX_COPIES

from .client import KioskClient, KioskProblem, Terminal
from .wallet import Wallet

STATIC = Path(__file__).parent / "static"
ISSUE = BodySchema(obj({
    "persona": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
    "pin": {"type": ["string", "null"], "maxLength": 8},
    "type": {"enum": list(CERTIFICATE_TYPES)},
    "copies": {"type": "integer", "minimum": 1, "maximum": MAX_COPIES},
    "options": ORDER_OPTIONS,
}, ["persona", "type"]))


@dataclass
class KioskContext:
    wallet: Wallet
    terminal: Terminal
    prints: Path


KIOSK = web.AppKey("kiosk", KioskContext)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def wallet_list(request: web.Request) -> web.Response:
    entries = request.app[KIOSK].wallet.entries()
    return json_response({"cards": [{"key": e.key, "label": e.label, "credential": e.credential,
                                     "locked": e.locked} for e in entries]})


async def issue(request: web.Request) -> web.Response:
    ctx = request.app[KIOSK]
    body = await read_json(request, ISSUE)
    if body["persona"] not in ctx.wallet:
        raise Problem("not-found", "no such card in the wallet")
    card = await asyncio.to_thread(ctx.wallet.get, body["persona"])
    out = ctx.prints / uuid.uuid4().hex
    try:
        async with KioskClient(ctx.terminal) as client:
            result = await client.issue(card, body.get("pin"), body["type"],
                                        copies=body.get("copies", 1),
                                        options=body.get("options", {}), out_dir=out)
    except KioskProblem as exc:
        return json_response({"ok": False, "problem": exc.problem})
    except ValueError as exc:
        raise Problem("invalid-request", str(exc)) from exc
    return json_response({"ok": True, "order": result.order, "settlement": result.settlement,
                          "files": [f"/prints/{out.name}/{p.name}" for p in result.files]})


async def printed(request: web.Request) -> web.FileResponse:
    ctx = request.app[KIOSK]
    folder, name = request.match_info["folder"], request.match_info["name"]
    path = (ctx.prints / folder / name).resolve()
    if ctx.prints.resolve() not in path.parents or not path.is_file():
        raise Problem("not-found", "no such print")
    return web.FileResponse(path, headers={"Content-Type": "application/pdf"})


def create_app(ctx: KioskContext) -> web.Application:
    app = web.Application(middlewares=[request_id_middleware, problem_middleware])
    app[KIOSK] = ctx
    app.router.add_get("/", index)
    app.router.add_get("/api/wallet", wallet_list)
    app.router.add_post("/api/issue", issue)
    app.router.add_get("/prints/{folder:[0-9a-f]{32}}/{name:[^/]+\\.pdf}", printed)
    return app


def serve(args: argparse.Namespace) -> None:
    configure_logging("kiosk")
    ctx = KioskContext(Wallet(args.var / "kiosk" / "wallet"),
                       Terminal.from_pki(args.var / "pki", args.terminal, args.center),
                       args.var / "kiosk" / "ui-prints")
    web.run_app(create_app(ctx), host=args.host, port=args.port, access_log=None,
                print=None)
