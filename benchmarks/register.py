"""Benchmark: a synthetic register at scale (issue 3). Prints figures; asserts nothing.

- the time to seed N residents (``seed --residents N``'s code path);
- the median and p99 of ``POST /v1/menu`` and of a one-person ``juminhyo``
  (``POST /v1/certificates``) over the real municipal API, mutual TLS with
  the center's certificate, at 100 and at 100,000 residents, and the ratio;
- the time to render that one-person 住民票の写し alone;
- the query plans of the register lookups a menu and an order make: any full
  table scan is reported.

    .venv/bin/python benchmarks/register.py [--sizes 100 100000] [--menus 300]
        [--orders 200]

Targets (2-core machine): seeding 100,000 in under 60 s; lookups at 100,000
within 20% of those at 100; a one-person juminhyo rendered in under 15 ms median.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import sqlite3
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from konbini.clock import TOKYO, Clock, parse_instant
from konbini.devpki import ensure_dev_pki
from konbini.tls import client_context
from municipal_server import documents
from municipal_server.app import MunicipalConfig, running_municipal_server
from municipal_server.eligibility import resident_refusal
from municipal_server.profile import Profile, load_profile
from municipal_server.register import Register
from municipal_server.render.juminhyo import render_juminhyo
from municipal_server.synthetic_seed import seed_synthetic

CLOCK = "2026-11-24T10:00:00+09:00"  # a Tuesday morning
CODE = "131016"
KIOSK = {"terminal_id": "bench-0001", "chain": "seven-eleven", "store_id": "b-001"}

# The statements a menu and an order run against the register (register.py),
# with sample arguments; each must find its rows through an index.
LOOKUPS: tuple[tuple[str, str, tuple[Any, ...]], ...] = (
    ("resident", "SELECT * FROM residents WHERE resident_code = ?", ("00000000001",)),
    ("household", "SELECT * FROM households WHERE household_id = ?", ("hs-0000000001",)),
    ("household members", "SELECT * FROM residents WHERE household_id = ? AND status IN (?, ?) "
     "ORDER BY household_order, resident_code", ("hs-0000000001", "resident", "moving-out")),
    ("seal", "SELECT * FROM seals WHERE resident_code = ?", ("00000000001",)),
    ("tax records", "SELECT * FROM tax_records WHERE resident_code = ?", ("00000000001",)),
    ("koseki entry", "SELECT * FROM koseki_persons WHERE resident_code = ?", ("00000000001",)),
    ("damage reports", "SELECT d.*, r.household_id, r.property_address, r.damage_level, "
     "r.flooding, r.surveyed_on FROM damage_reports r JOIN disasters d USING (disaster_id) "
     "WHERE r.household_id = ? ORDER BY d.occurred_on DESC, d.disaster_id",
     ("hs-0000000001",)),
    ("use registration", "SELECT 1 FROM use_registrations WHERE resident_code = ?",
     ("00000000001",)),
    ("issuance (idempotency)", "SELECT * FROM issuance_history WHERE request_id = ?", ("x",)),
    ("certificate counter", "SELECT value FROM counters WHERE name = ?", ("certificate-2026",)),
    ("synthetic numbering", "SELECT MAX(resident_code) AS code FROM residents "
     "WHERE resident_code >= ? AND resident_code < ?", ("0", "1")),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ms(values: list[float]) -> tuple[float, float]:
    """(median, p99) in milliseconds."""
    p99 = statistics.quantiles(values, n=100, method="inclusive")[98]
    return statistics.median(values) * 1000, p99 * 1000


def query_plans(db: Path) -> list[tuple[str, str, bool]]:
    """(lookup, plan, scans a table) for each of LOOKUPS."""
    result = []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        for name, sql, args in LOOKUPS:
            rows = conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
            plan = "; ".join(str(row[-1]) for row in rows)
            # "SCAN x" without an index is a full table scan; a covering-index
            # scan or a temp B-tree for ORDER BY over a handful of rows is not.
            scans = any(str(row[-1]).startswith("SCAN ") and "USING" not in str(row[-1])
                        for row in rows)
            result.append((name, plan, scans))
    return result


async def one_person_residents(register: Register, db: Path, today: date, count: int,
                               rng: random.Random) -> list[tuple[str, str]]:
    """Eligible residents living alone, spread over the whole register: (code, member id)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        codes = [row[0] for row in conn.execute(
            "SELECT resident_code FROM residents WHERE household_id IN ("
            "SELECT household_id FROM residents GROUP BY household_id HAVING COUNT(*) = 1)")]
    rng.shuffle(codes)
    found = []
    for code in codes:
        resident = await register.resident(code)
        household = await register.household(resident.household_id) if resident else None
        if resident and household and resident_refusal(resident, household.address,
                                                       today) is None:
            found.append((code, resident.member_id))
            if len(found) == count:
                break
    return found


@dataclass
class Figures:
    size: int
    seed_seconds: float = 0.0
    db_mb: float = 0.0
    menu: tuple[float, float] = (0.0, 0.0)
    juminhyo: tuple[float, float] = (0.0, 0.0)
    plans: tuple[tuple[str, str, bool], ...] = ()


@dataclass
class Target:
    figures: Figures
    var_dir: Path
    sample: list[tuple[str, str]]


async def prepare(size: int, work: Path, profile: Profile, today: date) -> Target:
    """Seed a register of ``size`` residents (timed) and pick who asks."""
    var_dir = work / f"n{size}" / "municipal" / CODE
    db = var_dir / "register.db"
    register = await Register.open(db, migrate=True)
    started = time.perf_counter()
    await seed_synthetic(register, profile, today, size)
    seconds = time.perf_counter() - started
    sample = await one_person_residents(register, db, today, 100, random.Random(size))
    await register.close()
    assert sample, "no eligible one-person household"
    megabytes = sum(f.stat().st_size for f in var_dir.glob("register.db*")) / 1e6
    return Target(Figures(size, seconds, megabytes,
                          plans=tuple(query_plans(db))), var_dir, sample)


async def measure(targets: list[Target], pki: Path, profile: Profile, menus: int,
                  orders: int) -> None:
    """Every register behind its own server, asked in turn, request by request, so
    that the noise of a shared machine falls on all sizes alike."""
    clock = Clock(parse_instant(CLOCK))
    context = client_context(pki / "center.cert.pem", pki / "center.key.pem",
                             pki / "tls-ca.cert.pem")
    async with contextlib.AsyncExitStack() as stack:
        bases = []
        for target in targets:
            config = MunicipalConfig(profile=profile, var_dir=target.var_dir, pki_dir=pki,
                                     port=free_port(), register_with_center=False,
                                     seed_personas=True)
            await stack.enter_async_context(running_municipal_server(config, clock))
            bases.append(config.endpoint)
        http = await stack.enter_async_context(aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context)))

        async def call(base: str, path: str, body: dict[str, Any], expect: int) -> float:
            t = time.perf_counter()
            async with http.post(base + path, json=body) as response:
                await response.read()
                assert response.status == expect, (path, response.status)
            return time.perf_counter() - t

        def menu_body(target: Target, i: int) -> dict[str, Any]:
            return {"resident_code": target.sample[i % len(target.sample)][0], "at": CLOCK}

        def order_body(target: Target, i: int) -> dict[str, Any]:
            code, member = target.sample[i % len(target.sample)]
            return {"request_id": uuid.uuid4().hex, "resident_code": code, "type": "juminhyo",
                    "copies": 1, "options": {"members": [member]}, "at": CLOCK,
                    "kiosk": KIOSK}

        menu_times: list[list[float]] = [[] for _ in targets]
        order_times: list[list[float]] = [[] for _ in targets]
        for i in range(20):  # warm up: connections, fonts, page cache
            for target, base in zip(targets, bases, strict=True):
                await call(base, "/v1/menu", menu_body(target, i), 200)
                await call(base, "/v1/certificates", order_body(target, i), 201)
        for i in range(menus):
            for n, (target, base) in enumerate(zip(targets, bases, strict=True)):
                menu_times[n].append(await call(base, "/v1/menu", menu_body(target, i), 200))
        for i in range(orders):
            for n, (target, base) in enumerate(zip(targets, bases, strict=True)):
                order_times[n].append(await call(base, "/v1/certificates",
                                                 order_body(target, i), 201))
    for n, target in enumerate(targets):
        target.figures.menu = ms(menu_times[n])
        target.figures.juminhyo = ms(order_times[n])


def render_alone(profile: Profile, runs: int = 100) -> tuple[float, float]:
    """A one-person 住民票の写し rendered without the server (median, p99 in ms)."""
    from municipal_server.register import Household, Resident

    today = date(2026, 11, 24)
    person = Resident("00000000000", "m", "h", "佐藤 明美", "さとう あけみ", date(1985, 4, 2),
                      "女", "世帯主", "resident", date(2015, 4, 1), "転入",
                      "大阪府大阪市北区梅田1丁目1番1号")
    household = Household("h", "東京都千代田区永田町1丁目7番1号")
    times = []
    for i in range(runs + 5):
        value = documents.juminhyo_input(profile, household, [person], person,
                                         whole_household=True, show_relationship=False,
                                         number=f"{CODE}-2026-{i:07d}", day=today,
                                         copy_index=1, copies=1)
        t = time.perf_counter()
        render_juminhyo(value)
        if i >= 5:
            times.append(time.perf_counter() - t)
    return ms(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 100_000])
    parser.add_argument("--menus", type=int, default=300)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    profile = load_profile(CODE)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = work / "pki"
        ensure_dev_pki(pki)
        today = parse_instant(CLOCK).astimezone(TOKYO).date()
        targets = [asyncio.run(prepare(n, work, profile, today)) for n in args.sizes]
        asyncio.run(measure(targets, pki, profile, args.menus, args.orders))
        figures = [t.figures for t in targets]
    render = render_alone(profile)

    print(f"{'residents':>10} {'seed s':>8} {'DB MB':>7} {'menu med':>9} {'menu p99':>9} "
          f"{'jumin med':>10} {'jumin p99':>10}   (ms, sequential requests, sizes interleaved)")
    for f in figures:
        print(f"{f.size:>10,} {f.seed_seconds:>8.1f} {f.db_mb:>7.0f} {f.menu[0]:>9.2f} "
              f"{f.menu[1]:>9.2f} {f.juminhyo[0]:>10.2f} {f.juminhyo[1]:>10.2f}")
    if len(figures) >= 2:
        low, high = figures[0], figures[-1]
        print(f"{'ratio':>10} {'':>8} {'':>7} {high.menu[0] / low.menu[0]:>9.2f} "
              f"{high.menu[1] / low.menu[1]:>9.2f} {high.juminhyo[0] / low.juminhyo[0]:>10.2f} "
              f"{high.juminhyo[1] / low.juminhyo[1]:>10.2f}   "
              f"({high.size:,} / {low.size:,})")
    print(f"\nrender alone, one-person juminhyo: median {render[0]:.2f} ms, "
          f"p99 {render[1]:.2f} ms")
    print(f"\nquery plans at {figures[-1].size:,} residents:")
    for name, plan, scans in figures[-1].plans:
        print(f"  {'SCAN!' if scans else 'ok   '} {name:<24} {plan}")


if __name__ == "__main__":
    main()
