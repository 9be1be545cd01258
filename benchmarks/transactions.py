"""Benchmark: the center's database transactions and statements per issuance.

Starts the same system as ``benchmarks/issuance.py`` (center, three municipal
servers, real mutual TLS, clock pinned to a weekday morning), with the center
run under a probe that counts, for every request it serves, the read and
write transactions it opens (``Database.read`` / ``Database.write``,
konbini/db.py) and the SQL statements it sends (SQLAlchemy's
``before_cursor_execute``; BEGIN, COMMIT and ROLLBACK are not counted as
statements). One kiosk then runs whole issuances of the benchmark's
住民票の写し one after the other (session, authenticate, menu, order,
download, result, end of session), and the tool prints per kiosk request and
for the whole issuance the average counts. Work that a request leaves to a
task of its own (the outcome owed to the municipality, delivered in the
background) and the upkeep's rounds are counted apart, as "background".

Counts do not depend on the machine's load, so they travel where CPU figures
do not (issue 12). Each transaction costs ~0.3–0.7 ms of CPU in SQLAlchemy's
machinery whatever it holds.

    .venv/bin/python benchmarks/transactions.py                  # 5 issuances, SQLite
    .venv/bin/python benchmarks/transactions.py --sql            # and every statement
    .venv/bin/python benchmarks/transactions.py --database postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROBE_ENV = "KONBINI_TRANSACTION_PROBE"
BACKGROUND = "background"
KINDS = ("reads", "writes", "statements")
_NOT_STATEMENTS = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


# -- the probe, inside the center's process ------------------------------------------------
def run_probed_center(out: Path, argv: list[str]) -> None:
    """Run ``python -m center <argv>`` with the counting probe installed; the
    tallies so far are written to ``out`` (JSON) after every request."""
    import runpy

    from aiohttp import web
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from konbini import db

    tallies: dict[str, Counter[str]] = {}
    sql: dict[str, list[str]] = {}
    by_task: dict[asyncio.Task[Any], Counter[str]] = {}
    record_sql = os.environ.get(PROBE_ENV + "_SQL") == "1"
    current_sql: dict[asyncio.Task[Any], list[str]] = {}

    def tally() -> tuple[Counter[str], list[str] | None]:
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        if task is not None and task in by_task:
            return by_task[task], current_sql.get(task)
        return tallies.setdefault(BACKGROUND, Counter()), sql.setdefault(BACKGROUND, [])

    def counted(kind: str, original: Any) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def transaction(self: db.Database) -> Any:
            counts, statements = tally()
            counts[kind] += 1
            if statements is not None and record_sql:
                statements.append(f"-- {kind[:-1]} transaction")
            async with original(self) as connection:
                yield connection
        return transaction

    db.Database.read = counted("reads", db.Database.read)  # type: ignore[method-assign]
    db.Database.write = counted("writes", db.Database.write)  # type: ignore[method-assign]

    @event.listens_for(Engine, "before_cursor_execute")
    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        if _NOT_STATEMENTS.match(text):
            return
        counts, statements = tally()
        counts["statements"] += 1
        if statements is not None and record_sql:
            statements.append("   " + " ".join(text.split())[:160])

    original_handle = web.Application._handle

    async def handle(self: web.Application, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        counts: Counter[str] = Counter()
        by_task[task] = counts
        current_sql[task] = []
        try:
            return await original_handle(self, request)
        finally:
            del by_task[task]
            statements = current_sql.pop(task)
            route = request.match_info.route.resource if request.match_info else None
            label = f"{request.method} {route.canonical if route else request.path}"
            counts["requests"] += 1
            tallies.setdefault(label, Counter()).update(counts)
            if record_sql:
                sql.setdefault(label, []).append("\n".join(statements))
            temporary = out.with_suffix(".tmp")
            temporary.write_text(json.dumps({"tallies": tallies, "sql": sql}))
            temporary.replace(out)

    web.Application._handle = handle  # type: ignore[method-assign]
    sys.argv = ["center", *argv]
    runpy.run_module("center", run_name="__main__", alter_sys=True)


# -- the driver ------------------------------------------------------------------------------
def read_probe(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {"tallies": {}, "sql": {}}


def difference(after: dict[str, dict[str, int]], before: dict[str, dict[str, int]],
               ) -> dict[str, Counter[str]]:
    result = {}
    for label, counts in after.items():
        delta = Counter(counts)
        delta.subtract(before.get(label, {}))
        if any(delta.values()):
            result[label] = delta
    return result


# The kiosk's requests in the order of an issuance; anything else the center
# served meanwhile (the municipal servers' calls) is listed after them.
KIOSK_ORDER = ("POST /v1/sessions", "POST /v1/sessions/{session_id}/authenticate",
               "GET /v1/sessions/{session_id}/menu", "POST /v1/sessions/{session_id}/orders",
               "GET /v1/orders/{order_id}/certificates/{certificate_id}.pdf",
               "POST /v1/orders/{order_id}/result", "DELETE /v1/sessions/{session_id}")


def table(delta: dict[str, Counter[str]], issuances: int) -> str:
    def per(counts: Counter[str], kind: str) -> str:
        return f"{counts[kind] / issuances:g}"

    labels = sorted(delta, key=lambda label: (
        KIOSK_ORDER.index(label) if label in KIOSK_ORDER else len(KIOSK_ORDER),
        label == BACKGROUND, label))
    lines = ["| request (per issuance) | requests | read tx | write tx | statements |",
             "|---|---:|---:|---:|---:|"]
    total: Counter[str] = Counter()
    for label in labels:
        counts = delta[label]
        if label != BACKGROUND:
            total.update(counts)
        lines.append(f"| {label} | {per(counts, 'requests')} | {per(counts, 'reads')} | "
                     f"{per(counts, 'writes')} | {per(counts, 'statements')} |")
    lines.append(f"| **issuance (requests)** | {per(total, 'requests')} | "
                 f"{per(total, 'reads')} | {per(total, 'writes')} | "
                 f"{per(total, 'statements')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuances", type=int, default=5, help="measured issuances (5)")
    parser.add_argument("--warm-up", type=int, default=2, help="issuances before (2)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sql", action="store_true",
                        help="also print each statement of the last measured issuance")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.probe is not None:  # we are the center's process
        run_probed_center(args.probe, rest[1:] if rest[:1] == ["--"] else rest)
        return
    sys.exit(drive(args))


def drive(args: argparse.Namespace) -> int:
    from issuance import CHIYODA, CLOCK, HOUSEHOLD, OPTIONS, terminals

    from kiosk_sim.card import VirtualCard
    from kiosk_sim.client import KioskClient
    from kiosk_sim.wallet import Wallet
    from konbini.clock import Clock, parse_instant
    from konbini.persona_cards import load_persona_cards
    from konbini.postgres import PostgresServer, free_port
    from konbini.topology import MUNICIPALITY_CODES, Ports, Topology

    class ProbedTopology(Topology):
        """The benchmark's topology, with the center run under the probe."""

        def _spawn(self, name: str, args_: list[str]) -> None:
            if name == "center" and args_[:1] == ["center"]:
                args_ = ["benchmarks.transactions", "--probe", str(probe), "--", *args_[1:]]
            super()._spawn(name, args_)

    postgres: PostgresServer | None = None
    urls: dict[str, str] = {}
    if args.database == "postgresql":
        base = Path(tempfile.mkdtemp(prefix="konbini-tx-pg-"))
        base.chmod(0o755)  # the server runs as `postgres` when this runs as root
        postgres = PostgresServer(base / "data", free_port())
        postgres.start()
        urls = {"center": postgres.create_database("center"),
                **{code: postgres.create_database(f"municipal_{code}")
                   for code in MUNICIPALITY_CODES}}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            var = Path(tmp) / "var"
            probe = Path(tmp) / "probe.json"
            topology = ProbedTopology(
                var=var, ports=Ports.free(), log_dir=var / "logs",
                env={"KONBINI_CLOCK": CLOCK, "KONBINI_RATE_LIMIT_PER_MINUTE": "1000000",
                     "PYTHONPATH": os.pathsep.join(
                         [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
                     **({PROBE_ENV + "_SQL": "1"} if args.sql else {})},
                with_kiosk_ui=False, database_urls=urls)
            topology.start(timeout=120)
            try:
                asyncio.run(load_persona_cards(topology.center_url, topology.pki,
                                               topology.wallet_dir,
                                               Clock(parse_instant(CLOCK))))
                wallet = Wallet(topology.wallet_dir)
                cards = [VirtualCard.from_record(wallet.get(key).to_record())
                         for key in HOUSEHOLD]
                terminal = terminals(topology, 1, Path(tmp), "tx")[0]

                async def issue(count: int) -> None:
                    async with KioskClient(terminal) as client:
                        for n in range(count):
                            await client.issue(cards[n % len(cards)], "1234", "juminhyo",
                                               options=OPTIONS)

                asyncio.run(issue(args.warm_up))
                time.sleep(0.5)  # the warm-up's deliveries in the background
                before = read_probe(probe)
                asyncio.run(issue(args.issuances))
                time.sleep(0.5)
                after = read_probe(probe)
            finally:
                topology.stop()
    finally:
        if postgres is not None:
            postgres.stop()
            shutil.rmtree(postgres.data_dir.parent, ignore_errors=True)
    delta = difference(after["tallies"], before["tallies"])
    if args.json:
        print(json.dumps({label: {k: v / args.issuances for k, v in counts.items()}
                          for label, counts in delta.items()}, indent=2))
        return 0
    print(f"The center, {args.database}, one kiosk, {args.issuances} issuances of the "
          f"住民票の写し of {CHIYODA} (household), averages per issuance; background: "
          "tasks a request left behind and the upkeep, over the same time")
    print(table(delta, args.issuances))
    if args.sql:
        for label, issued in after["sql"].items():
            if issued and label != BACKGROUND:
                print(f"\n{label}\n{issued[-1]}")
    return 0


if __name__ == "__main__":
    main()
