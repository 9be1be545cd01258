"""``python -m center``: run the certificate exchange center."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from konbini.clock import Clock
from konbini.db import ENV_DATABASE_URL, exit_if_database_cannot_open
from konbini.logging_setup import add_log_format_argument, configure_logging
from konbini.service import serve_until_stopped
from konbini.workers import supervise

from . import report_cli
from .app import running_center
from .config import DEFAULT_PUBLIC_URL, CenterConfig
from .migrate import migrate
from .rate_limit import parse_budgets


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m center",
                                     description="certificate exchange center (証明書交付センター)")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the center (default)")
    for p in (parser, serve):
        p.add_argument("--var", type=Path, default=Path(os.environ.get("KONBINI_VAR", "var")),
                       help="state directory (default: var)")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--api-port", type=int, default=8443)
        p.add_argument("--public-port", type=int, default=8080)
        p.add_argument("--rate-limit", type=int, metavar="N",
                       default=int(os.environ.get("KONBINI_RATE_LIMIT_PER_MINUTE", "1200")),
                       help="requests per terminal per minute before 429 (default 1200)")
        p.add_argument("--public-url", default=os.environ.get("KONBINI_PUBLIC_URL") or None,
                       help="the inquiry site's full address, printed on every "
                            "certificate's back (default: this center's public listener, "
                            f"{DEFAULT_PUBLIC_URL} in the demo)")
        p.add_argument("--upload-limit", type=int, metavar="N",
                       default=int(os.environ.get("KONBINI_UPLOAD_LIMIT_PER_MINUTE", "20")),
                       help="inquiry uploads per client address per minute (default 20)")
        p.add_argument("--budget", action="append", metavar="KIND:NAME=N[/BURST]",
                       default=[os.environ.get("KONBINI_BUDGETS", "")],
                       help="the budget of one terminal (terminal:kiosk-0001=6000/500) or "
                            "address (upload:192.0.2.1=60); repeat")
        p.add_argument("--dev", action="store_true",
                       default=os.environ.get("KONBINI_DEV", "") == "1",
                       help="test environment: allow moving the clock over the API")
        add_worker_arguments(p)
        add_database_argument(p)
        p.add_argument("--console-port", type=int, default=8090,
                       help="the operator's console on --console-host (default 8090; 0: off)")
        p.add_argument("--console-host", default="127.0.0.1",
                       help="the console listens on loopback unless told otherwise")
        add_log_format_argument(p)
    verify = sub.add_parser(
        "verify", help="check a certificate's QR code offline against a saved trust list")
    verify.add_argument("file", type=Path, help="the certificate's PDF, or a PNG/JPEG scan")
    verify.add_argument("--trust-list", type=Path, default=Path("trust-list.json"),
                        help="the saved GET /v1/trust-list (default: trust-list.json)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    keys = sub.add_parser(
        "keys", help="list or rotate the QR signing keys (and their scramble secrets)")
    keys.add_argument("action", choices=("list", "rotate"))
    keys.add_argument("--production", action="store_true",
                      help="rotate: a production key (no 見本 mark on its certificates)")
    keys.add_argument("--var", type=Path, default=Path(os.environ.get("KONBINI_VAR", "var")),
                      help="state directory (default: var)")
    report_cli.add_parsers(sub, Path(os.environ.get("KONBINI_VAR", "var")))
    migrate = sub.add_parser(
        "migrate", help="create or upgrade the database and keys, once, before the workers")
    migrate.add_argument("--var", type=Path, default=Path(os.environ.get("KONBINI_VAR", "var")),
                         help="state directory (default: var)")
    add_database_argument(migrate)
    from .operator_cli import add_parsers  # terminals, report incidents

    add_parsers(sub, Path(os.environ.get("KONBINI_VAR", "var")))
    return parser.parse_args(argv)


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", metavar="URL",
                        help="postgresql://user@host:port/db or sqlite:///path (default: "
                             "KONBINI_DATABASE_URL, else SQLite in VAR/center/center.db)")


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """Several workers (konbini/workers.py); see README, "Several workers"."""
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="run N worker processes sharing the database (default 1)")
    parser.add_argument("--port-per-worker", action="store_true",
                        help="worker i listens on --api-port + i (a balancer in front) "
                             "instead of all sharing --api-port (SO_REUSEPORT)")
    parser.add_argument("--health-port", type=int, metavar="PORT",
                        help="plain-HTTP /healthz and /readyz; worker i on PORT + i")
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-migrate", action="store_true",
                        help="do not create or upgrade the database first "
                             "(`python -m center migrate` did)")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "verify":
        from .verify_cli import run  # no server, no logging setup: a plain command

        sys.exit(run(args.file, args.trust_list, args.json))
    if args.command in ("terminals", "report") and getattr(args, "report", None) in (
            None, "incidents"):
        from .operator_cli import run as run_operator

        sys.exit(asyncio.run(run_operator(args)))
    if args.command in ("report", "contract", "simulate-history"):
        sys.exit(report_cli.run(args))
    if args.command == "keys":
        from .keys_cli import list_keys, rotate_keys

        directory = CenterConfig(var_dir=args.var / "center").qr_key_dir
        # KONBINI_CLOCK, as the center itself: a demo's clock may stand elsewhere.
        now = Clock.from_env().now()
        print(list_keys(directory, now) if args.action == "list"
              else rotate_keys(directory, now, production=args.production))
        return
    configure_logging("center" if args.worker_index is None
                      else f"center-{args.worker_index}", args.log_format)
    config = CenterConfig(var_dir=args.var / "center", pki_dir=args.var / "pki",
                          database_url=args.database_url,
                          host=args.host, api_port=args.api_port,
                          public_port=args.public_port, dev_mode=args.dev,
                          public_url=args.public_url,
                          rate_limit_per_minute=args.rate_limit,
                          upload_limit_per_minute=args.upload_limit,
                          budget_overrides=parse_budgets(" ".join(args.budget)),
                          console_port=args.console_port or None,
                          console_host=args.console_host,
                          worker_index=args.worker_index,
                          port_per_worker=args.port_per_worker, health_port=args.health_port)
    url = args.database_url or os.environ.get(ENV_DATABASE_URL)
    if args.command == "migrate":
        with exit_if_database_cannot_open(url):
            before, after = asyncio.run(migrate(config, Clock.from_env()))
        print(f"center database at revision {after} (was {before or 'un-versioned'})")
        return
    if args.worker_index is None and not args.no_migrate:
        with exit_if_database_cannot_open(url):
            asyncio.run(migrate(config, Clock.from_env()))
    if args.workers > 1 and args.worker_index is None:
        sys.exit(supervise("center", sys.argv[1:], args.workers))
    asyncio.run(serve_until_stopped(lambda: running_center(config)))


if __name__ == "__main__":
    main()
