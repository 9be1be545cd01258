"""Benchmark: what the municipal server does with its database for one issuance.

Starts 千代田区's server (131016) in this process on a register of its own
(personas seeded, clock pinned to a weekday morning, dev PKI in a temporary
directory) and makes the three calls the center makes for the benchmark's
issuance (``benchmarks/issuance.py``: the 3-person 住民票の写し of 霞 太郎's
household): the menu, the certificates, and later the outcome. For each call
it prints the read and write transactions and the statements the server ran
(SQLAlchemy's ``begin``/``commit``/``rollback`` and ``before_cursor_execute``
events; a transaction that ran any INSERT/UPDATE/DELETE, or was opened as a
write, counts as a write; BEGIN/COMMIT themselves are not counted as
statements) and the CPU time of the handler (``time.process_time`` in an
innermost middleware, render thread included; TLS and HTTP parsing are not in
it), median over ``--issuances`` issuances after a warm-up.

    .venv/bin/python benchmarks/municipal_transactions.py
    .venv/bin/python benchmarks/municipal_transactions.py --statements   # and the SQL
    .venv/bin/python benchmarks/municipal_transactions.py --database-url postgresql://…
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from sqlalchemy import event

from konbini.clock import Clock, parse_instant
from konbini.db import resolve_url
from konbini.devpki import ensure_dev_pki
from konbini.tls import client_context

CLOCK = "2026-11-24T10:00:00+09:00"
CHIYODA = "131016"
KIOSK = {"terminal_id": "kiosk-0001", "chain": "seven-eleven", "store_id": "store-0001"}
WRITES = ("INSERT", "UPDATE", "DELETE")


class Counter:
    """Transactions and statements on one engine, by the request running now."""

    def __init__(self) -> None:
        self.current = "(none)"
        self.counts: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter)
        self.statements: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter)
        self._open: dict[int, dict[str, Any]] = {}

    def attach(self, engine: Any) -> None:
        sync = engine.sync_engine
        event.listen(sync, "begin", self._begin)
        event.listen(sync, "commit", self._end)
        event.listen(sync, "rollback", self._end)
        event.listen(sync, "before_cursor_execute", self._statement)

    def _begin(self, connection: Any) -> None:
        write = bool(connection.get_execution_options().get("konbini_write", False))
        self._open[id(connection)] = {"write": write, "statements": 0}

    def _end(self, connection: Any) -> None:
        state = self._open.pop(id(connection), None)
        if state is None:
            return
        kind = "write" if state["write"] else "read"
        self.counts[self.current][f"{kind} transactions"] += 1

    def _statement(self, connection: Any, _cursor: Any, statement: str, _params: Any,
                   _context: Any, executemany: bool) -> None:
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head in ("BEGIN", "COMMIT", "ROLLBACK"):
            return
        state = self._open.get(id(connection))
        if state is not None and head in WRITES:
            state["write"] = True
        self.counts[self.current]["statements"] += 1
        self.statements[self.current][" ".join(statement.split())[:150]] += 1


def handler_cpu(samples: dict[str, list[float]], counter: Counter) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.process_time()
        try:
            return await handler(request)
        finally:
            samples[counter.current].append(time.process_time() - started)
    return middleware


async def run(args: argparse.Namespace) -> None:
    import os
    os.environ.setdefault("KONBINI_UPKEEP_SECONDS", "3600")  # no background round mid-count
    from municipal_server.app import MunicipalConfig, create_app
    from municipal_server.context import MunicipalContext
    from municipal_server.issuance import Issuer, warm_up
    from municipal_server.migrate import migrate
    from municipal_server.personas import resident_code
    from municipal_server.profile import load_profile
    from municipal_server.register import Register

    with tempfile.TemporaryDirectory() as tmp:
        pki = Path(tmp) / "pki"
        ensure_dev_pki(pki, municipalities=[CHIYODA])
        config = MunicipalConfig(load_profile(CHIYODA), Path(tmp) / "var", pki,
                                 database_url=args.database_url)
        url = resolve_url(args.database_url, config.var_dir / "register.db")
        clock = Clock(parse_instant(CLOCK))
        await migrate(url, config.var_dir, CHIYODA, "東京都千代田区", clock)
        register = await Register.open(url)
        warm_up(config.profile)
        issuer = Issuer(config.profile, register, b"k" * 32)
        ctx = MunicipalContext(config.profile, register, issuer, clock, None)  # type: ignore[arg-type]
        counter = Counter()
        counter.attach(register.database.engine)
        cpu: dict[str, list[float]] = collections.defaultdict(list)
        app = create_app(ctx)
        app.middlewares.append(handler_cpu(cpu, counter))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        from konbini.tls import server_context
        site = web.TCPSite(runner, "127.0.0.1", 0,
                           ssl_context=server_context(config.cert, config.key, config.ca))
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"https://127.0.0.1:{port}"
        ssl = client_context(pki / "center.cert.pem", pki / "center.key.pem",
                             pki / "tls-ca.cert.pem")
        code = resident_code(CHIYODA, "kasumi-taro")
        per_issuance: list[dict[str, collections.Counter[str]]] = []
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl)) as http:
                async def call(name: str, path: str, body: dict[str, Any], status: int) -> Any:
                    counter.current = name
                    async with http.post(base + path, json=body) as response:
                        answer = await response.json()
                        assert response.status == status, (response.status, answer)
                    counter.current = "(none)"
                    return answer

                for i in range(args.warm_up + args.issuances):
                    if i == args.warm_up:
                        counter.counts.clear()
                        counter.statements.clear()
                        cpu.clear()
                    before = {k: collections.Counter(v) for k, v in counter.counts.items()}
                    await call("menu", "/v1/menu", {"resident_code": code, "at": CLOCK}, 200)
                    request_id = uuid.uuid4().hex
                    await call("certificates", "/v1/certificates", {
                        "request_id": request_id, "resident_code": code, "type": "juminhyo",
                        "copies": 1, "options": {"members": "household"}, "at": CLOCK,
                        "kiosk": KIOSK}, 201)
                    await call("outcome", f"/v1/certificates/{request_id}/outcome",
                               {"outcome": "delivered"}, 200)
                    per_issuance.append({k: v - before.get(k, collections.Counter())
                                         for k, v in counter.counts.items()})
        finally:
            await runner.cleanup()
            await register.close()

    n = args.issuances
    print(f"municipal server {CHIYODA}, {register.database.engine.dialect.name}: "
          f"per issuance (mean of {n}, after {args.warm_up} warm-up)")
    print("| request | read transactions | write transactions | statements | "
          "handler CPU ms (median) |")
    print("|---|---:|---:|---:|---:|")
    total: collections.Counter[str] = collections.Counter()
    for name in ("menu", "certificates", "outcome"):
        c = counter.counts[name]
        total.update(c)
        print(f"| {name} | {c['read transactions'] / n:.1f} | "
              f"{c['write transactions'] / n:.1f} | {c['statements'] / n:.1f} | "
              f"{statistics.median(cpu[name]) * 1000:.2f} |")
    handlers = sum(statistics.median(cpu[k]) for k in ("menu", "certificates", "outcome"))
    print(f"| all | {total['read transactions'] / n:.1f} | "
          f"{total['write transactions'] / n:.1f} | {total['statements'] / n:.1f} | "
          f"{handlers * 1000:.2f} |")
    if args.statements:
        for name in ("menu", "certificates", "outcome"):
            print(f"\n{name}:")
            for sql, times in counter.statements[name].most_common():
                print(f"  {times / n:4.1f}  {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuances", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=3)
    parser.add_argument("--statements", action="store_true",
                        help="also print each statement and how often it ran per issuance")
    parser.add_argument("--database-url", default=None,
                        help="the register's database (default: SQLite in a temporary dir)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
