"""``python -m municipal_server``: run one municipality's certificate server."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from konbini.http import configure_logging
from konbini.service import serve_until_stopped

from .app import MunicipalConfig, running_municipal_server
from .profile import load_profile


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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    profile = load_profile(args.code)
    configure_logging(f"municipal-{profile.code}")
    config = MunicipalConfig(
        profile=profile, var_dir=args.var / "municipal" / profile.code, pki_dir=args.var / "pki",
        host=args.host, port=args.port or profile.port, center_url=args.center,
        seed_personas=not args.no_personas, synthetic_residents=args.synthetic)
    asyncio.run(serve_until_stopped(lambda: running_municipal_server(config)))


if __name__ == "__main__":
    main()
