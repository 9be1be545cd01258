"""The operator's commands on the center's database (運用者コマンド):

    python -m center terminals enrol --cert kiosk.cert.pem [--address …] [--hours …]
    python -m center terminals suspend|reinstate|revoke <terminal id | fingerprint>
    python -m center terminals list
    python -m center terminals chain <chain> --smartphone yes|no
    python -m center report incidents [--escalated] [--municipality CODE]

They open the same database the running center uses (SQLite in WAL mode),
so a change is in force for the very next request."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from konbini.clock import Clock

from . import incidents, reconciliation, terminals
from .config import CenterConfig
from .storage import CenterStore


def add_parsers(sub: argparse._SubParsersAction, var_default: Path) -> None:  # type: ignore[type-arg]
    term = sub.add_parser("terminals", help="the terminal registry: enrol, suspend, revoke, "
                                            "list kiosk terminals; chains that read smartphones")
    term.add_argument("--var", type=Path, default=var_default)
    actions = term.add_subparsers(dest="action", required=True)
    enrol = actions.add_parser("enrol", help="enrol kiosk certificates (PEM)")
    enrol.add_argument("--cert", type=Path, action="append", required=True)
    enrol.add_argument("--address", default="", help="the store's address")
    enrol.add_argument("--hours", default="", help="the store's opening hours, e.g. 24h")
    for name in ("suspend", "reinstate", "revoke"):
        action = actions.add_parser(name, help=f"{name} a terminal (all its certificates) "
                                               "or one certificate by fingerprint")
        action.add_argument("terminal")
        action.add_argument("--reason", default="")
    listing = actions.add_parser("list", help="every enrolled terminal and chain")
    listing.add_argument("--chain")
    chain = actions.add_parser("chain", help="whether a chain's kiosks read smartphones")
    chain.add_argument("chain")
    chain.add_argument("--smartphone", choices=("yes", "no"), required=True)
    chain.add_argument("--name", default="")

    # ``report`` belongs to the settlement commands (report_cli.py): add ``incidents`` to it.
    report = sub.choices["report"]
    what = next(a for a in report._actions if isinstance(a, argparse._SubParsersAction))
    incident_report = what.add_parser("incidents", help="incidents; --escalated: those still "
                                                        "unacknowledged after a day")
    incident_report.add_argument("--escalated", action="store_true")
    incident_report.add_argument("--municipality")
    # --var after the action too (``terminals list --var VAR``).
    for leaf in actions.choices.values():
        leaf.add_argument("--var", type=Path, default=argparse.SUPPRESS)
    incident_report.add_argument("--var", type=Path, default=var_default)


async def run(args: argparse.Namespace) -> int:
    """Run one operator command; print JSON; 0 on success, 2 on a refusal."""
    config = CenterConfig(var_dir=args.var / "center")
    # May run before the center ever has (enrolling terminals): the schema first.
    store = await CenterStore.open(config.database_url_resolved, migrate=True)
    # KONBINI_CLOCK, as the center itself: a demo's clock may stand elsewhere.
    now = Clock.from_env().now()
    try:
        if args.command == "report":
            found = (await incidents.escalated_incidents(store, now) if args.escalated
                     else await incidents.incidents(store))
            found = [i for i in found
                     if args.municipality in (None, i.municipality_code)]
            _print({"now": now.isoformat(), "escalated_only": args.escalated,
                    "incidents": [i.to_wire(now) for i in found],
                    "outcomes_pending": await reconciliation.pending(store)})
            return 0
        if args.action == "enrol":
            enrolled = []
            for path in args.cert:
                try:
                    enrolled.append(await terminals.enrol(
                        store, path.read_bytes(), address=args.address, hours=args.hours,
                        now=now))
                except (OSError, terminals.EnrolmentError) as exc:
                    _print({"ok": False, "cert": str(path), "error": str(exc)})
                    return 2
            _print({"ok": True, "terminals": [t.to_wire() for t in enrolled]})
            return 0
        if args.action in ("suspend", "reinstate", "revoke"):
            status = {"suspend": terminals.TerminalStatus.SUSPENDED,
                      "reinstate": terminals.TerminalStatus.ACTIVE,
                      "revoke": terminals.TerminalStatus.REVOKED}[args.action]
            changed = await terminals.set_status(store, args.terminal, status, args.reason, now)
            _print({"ok": bool(changed), "terminals": [t.to_wire() for t in changed]})
            return 0 if changed else 2
        if args.action == "chain":
            await terminals.set_chain(store, args.chain, smartphone=args.smartphone == "yes",
                                      now=now, name=args.name)
        _print({"terminals": [t.to_wire() for t in await terminals.terminals(
                    store, chain=getattr(args, "chain", None) or None)],
                "chains": await terminals.chains(store)})
        return 0
    finally:
        await store.close()


def _print(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))
