"""``python -m kiosk_sim``: one issuance from a script, the wallet, the kiosk UI."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from konbini.logging_setup import add_log_format_argument

from .card import CardError
from .client import KioskClient, KioskProblem, Terminal
from .options import parse_options
from .wallet import Wallet


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--var", type=Path, default=Path(os.environ.get("KONBINI_VAR", "var")),
                        help="state directory holding pki/ and kiosk/wallet (default: var)")
    parser.add_argument("--center", default=os.environ.get("KONBINI_CENTER_URL",
                                                           "https://127.0.0.1:8443"))
    parser.add_argument("--terminal", default="kiosk-0001",
                        help="terminal id whose certificate to present (default kiosk-0001)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kiosk_sim",
                                     description="kiosk terminal simulator (キオスク端末)")
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue", help="run one issuance and print one JSON object")
    _common(issue)
    issue.add_argument("--persona", required=True, help="card in the wallet, e.g. kasumi-taro")
    issue.add_argument("--pin", default=None, help="4-digit PIN (none for face-auth cards)")
    issue.add_argument("--type", required=True, dest="cert_type")
    issue.add_argument("--copies", type=int, default=1)
    issue.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    issue.add_argument("--out", type=Path, help="directory for the PDFs")
    issue.add_argument("--municipality", metavar="CODE",
                       help="order a family register from the municipality of the 本籍 "
                            "(after register-use)")
    register = sub.add_parser("register-use",
                              help="本籍地の利用登録: register a card with its 本籍's municipality")
    _common(register)
    register.add_argument("--persona", required=True)
    register.add_argument("--pin", default=None)
    register.add_argument("--municipality", required=True, metavar="CODE")
    wallet = sub.add_parser("wallet", help="list the cards in the wallet")
    _common(wallet)
    serve = sub.add_parser("serve", help="run the kiosk UI")
    _common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    add_log_format_argument(serve)
    serve.add_argument("--idle-seconds", type=int,
                       default=int(os.environ.get("KONBINI_KIOSK_IDLE_SECONDS", "90")),
                       help="seconds without a touch before a screen returns to the start "
                            "(default 90; the tester panel can change it per kiosk)")
    return parser.parse_args(argv)


def _problem(code: str, detail: str, status: int = 0, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": "Kiosk error", "status": status, "code": code,
            "detail": detail, **extra}


async def run_issue(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    try:
        options = parse_options(args.option)
    except ValueError as exc:
        return 1, {"ok": False, "problem": _problem("invalid-request", str(exc), 422)}
    wallet = Wallet(args.var / "kiosk" / "wallet")
    if args.persona not in wallet:
        return 1, {"ok": False, "problem": _problem(
            "persona-not-found", f"no card {args.persona!r} in the wallet; run `make demo` "
            "or see `python -m kiosk_sim wallet`", 404)}
    card = wallet.get(args.persona)
    terminal = Terminal.from_pki(args.var / "pki", args.terminal, args.center)
    out = args.out or args.var / "kiosk" / "prints"
    try:
        async with KioskClient(terminal) as client:
            result = await client.issue(card, args.pin, args.cert_type, copies=args.copies,
                                        options=options, out_dir=out,
                                        municipality_code=args.municipality)
    except KioskProblem as exc:
        return 1, {"ok": False, "problem": exc.problem}
    except ValueError as exc:  # e.g. a PIN that is not 4 digits
        return 1, {"ok": False, "problem": _problem("invalid-request", str(exc), 422)}
    return 0, {"ok": True, "order": result.order, "files": [str(p) for p in result.files],
               "settlement": result.settlement}


async def run_register_use(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    wallet = Wallet(args.var / "kiosk" / "wallet")
    if args.persona not in wallet:
        return 1, {"ok": False, "problem": _problem(
            "persona-not-found", f"no card {args.persona!r} in the wallet", 404)}
    card = wallet.get(args.persona)
    terminal = Terminal.from_pki(args.var / "pki", args.terminal, args.center)
    try:
        async with KioskClient(terminal) as client:
            card.verify_pin(args.pin)
            session = await client.start_session(
                "smartphone" if card.credential == "smartphone" else "card")
            try:
                await client.authenticate(session, card, args.pin)
                result = await client.register_use(session["session_id"], args.municipality)
            finally:
                await client.end_session(session["session_id"])
    except KioskProblem as exc:
        return 1, {"ok": False, "problem": exc.problem}
    except CardError as exc:
        return 1, {"ok": False, "problem": exc.problem()}
    return 0, {"ok": True, "registration": result}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "register-use":
        code, output = asyncio.run(run_register_use(args))
        print(json.dumps(output, ensure_ascii=False))
        sys.exit(code)
    if args.command == "issue":
        code, output = asyncio.run(run_issue(args))
        print(json.dumps(output, ensure_ascii=False))
        sys.exit(code)
    if args.command == "wallet":
        for entry in Wallet(args.var / "kiosk" / "wallet").entries():
            print(json.dumps(entry.__dict__, ensure_ascii=False))
        return
    from .app import serve

    serve(args)


if __name__ == "__main__":
    main()
