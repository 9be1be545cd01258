"""``python -m municipal_server``: run one municipality's certificate server."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from konbini.clock import Clock
from konbini.db import exit_if_database_cannot_open, resolve_url
from konbini.logging_setup import add_log_format_argument, configure_logging
from konbini.service import serve_until_stopped
from konbini.workers import supervise

from . import admin_cli
from .app import MunicipalConfig, running_municipal_server
from .migrate import migrate
from .profile import load_profile
from .synthetic_seed import add_seed_parser, run_seed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m municipal_server",
                                     description="municipal certificate server (証明書発行サーバ)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--code", required=True,
                       help="municipality code (a shipped profile) or a profile JSON path")
    serve.add_argument("--var", type=Path, default=Path(os.environ.get("KONBINI_VAR", "var")))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, help="default: the profile's port")
    serve.add_argument("--center", default=os.environ.get("KONBINI_CENTER_URL",
                                                          "https://127.0.0.1:8443"))
    serve.add_argument("--no-personas", action="store_true",
                       help="do not seed the demo personas into an empty register")
    serve.add_argument("--synthetic", type=int, default=0, metavar="N",
                       help="also seed N numbered one-person households (load tests)")
    serve.add_argument("--admin-port", type=int,
                       help="the clerk's admin API on 127.0.0.1 (default: the profile's "
                            "admin_port, else the port + 100; 0 to turn it off)")
    add_worker_arguments(serve)
    add_database_argument(serve)
    migrate_parser = sub.add_parser(
        "migrate", help="create or upgrade the register and seed it, once, before the workers")
    migrate_parser.add_argument("--code", required=True,
                                help="municipality code (a shipped profile) or a profile JSON")
    migrate_parser.add_argument("--var", type=Path,
                                default=Path(os.environ.get("KONBINI_VAR", "var")))
    migrate_parser.add_argument("--no-personas", action="store_true",
                                help="do not seed the demo personas into an empty register")
    add_database_argument(migrate_parser)
    migrate_parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                                help="also seed N numbered one-person households")
    add_log_format_argument(serve)
    serve.add_argument("--dev", action="store_true",
                       help="test environments: do the dev faults the center asks for "
                            "(wrong person, foreign page); never in production")
    admin_cli.add_parser(sub)
    add_seed_parser(sub)
    samples = sub.add_parser("samples", help="render one sample PNG per certificate type")
    samples.add_argument("--out", type=Path, default=Path("docs/formats"))
    samples.add_argument("--dpi", type=float, default=100)
    return parser.parse_args(argv)


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", metavar="URL",
                        help="postgresql://user@host:port/db or sqlite:///path (default: "
                             "KONBINI_DATABASE_URL, else SQLite in VAR/municipal/CODE/"
                             "register.db); each municipality needs its own database")


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """Several workers (konbini/workers.py): they share --port and --admin-port."""
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="run N worker processes sharing the register (default 1)")
    parser.add_argument("--health-port", type=int, metavar="PORT",
                        help="plain-HTTP /healthz and /readyz; worker i on PORT + i")
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-migrate", action="store_true",
                        help="only open the register (`migrate` made it)")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "admin":
        sys.exit(admin_cli.run(args))
    if args.command == "seed":
        sys.exit(run_seed(args))
    if args.command == "samples":
        from .samples import write_sample_pngs  # rasterising is for the docs only

        for path in write_sample_pngs(args.out, args.dpi):
            print(path)
        return
    profile = load_profile(args.code)
    var_dir = args.var / "municipal" / profile.code
    url = resolve_url(args.database_url, var_dir / "register.db")
    if args.command == "migrate":
        with exit_if_database_cannot_open(url):
            before, after = asyncio.run(migrate(
                url, var_dir, profile.code, f"{profile.prefecture}{profile.name}",
                Clock.from_env(), personas=not args.no_personas, synthetic=args.synthetic))
        print(f"register {profile.code} at revision {after} (was {before or 'un-versioned'})")
        return
    configure_logging(f"municipal-{profile.code}" if args.worker_index is None
                      else f"municipal-{profile.code}-{args.worker_index}", args.log_format)
    if args.worker_index is None and (args.workers > 1 or args.no_migrate):
        if not args.no_migrate:
            with exit_if_database_cannot_open(url):
                asyncio.run(migrate(url, var_dir, profile.code,
                                    f"{profile.prefecture}{profile.name}", Clock.from_env(),
                                    personas=not args.no_personas, synthetic=args.synthetic))
        if args.workers > 1:
            sys.exit(supervise("municipal_server", sys.argv[1:], args.workers))
    port = args.port or profile.port
    admin_port = args.admin_port if args.admin_port is not None else (
        profile.admin_port or port + 100)
    config = MunicipalConfig(
        profile=profile, var_dir=args.var / "municipal" / profile.code, pki_dir=args.var / "pki",
        host=args.host, port=port, center_url=args.center,
        seed_personas=not args.no_personas, synthetic_residents=args.synthetic,
        admin_port=admin_port or None, database_url=args.database_url,
        # --no-migrate: `migrate` made the register; the server only opens it.
        worker_index=args.worker_index if args.worker_index is not None
        else (0 if args.no_migrate else None), health_port=args.health_port,
        reuse_port=args.worker_index is not None, dev=args.dev)
    asyncio.run(serve_until_stopped(lambda: running_municipal_server(config)))


if __name__ == "__main__":
    main()
