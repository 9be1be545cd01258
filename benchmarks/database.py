"""Benchmark: the CPU cost of one transaction in the shared storage layer
(konbini/db.py, konbini/sqlite_driver.py), through the Repository API the
services use (issue 12).

Cases, each a whole transaction of its own, statements built anew on every
call as the services' repositories build them:

- ``read 1 row``: ``_one(select(...).where(id == ...))``;
- ``write 1 row``: ``_run(update(...).where(id == ...))`` (BEGIN IMMEDIATE on SQLite);
- ``read 3 statements``: ``async with _read()`` and three ``execute`` in it;
- ``text read``: ``fetch("SELECT ... WHERE id = ?")`` (textual SQL);
- ``unit of work 2 writes``: ``unit_of_work()`` with two ``_run``.

Printed: CPU µs (``time.process_time``) per transaction, the median of
``--repeats`` runs of ``--iterations`` transactions each, and the spread. CPU
time, not wall-clock, so the figure travels on a shared machine.

    .venv/bin/python benchmarks/database.py
    .venv/bin/python benchmarks/database.py --database sqlite postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, event, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from konbini.db import Database, Repository, sqlite_url
from konbini.postgres import PostgresServer, free_port

metadata = MetaData()
items = Table("bench_items", metadata,
              Column("id", Integer, primary_key=True),
              Column("name", String, nullable=False),
              Column("value", Integer, nullable=False),
              Column("updated_at", Float, nullable=False))
ROWS = 100


class Items(Repository):
    async def item(self, item_id: int) -> Any:
        return await self._one(select(items.c.name, items.c.value, items.c.updated_at)
                               .where(items.c.id == item_id))

    async def bump(self, item_id: int, now: float) -> int:
        result = await self._run(update(items).where(items.c.id == item_id)
                                 .values(value=items.c.value + 1, updated_at=now))
        return result.rowcount

    async def three(self, item_id: int) -> tuple[Any, ...]:
        async with self._read() as connection:
            a = (await connection.execute(select(items.c.name).where(
                items.c.id == item_id))).scalar()
            b = (await connection.execute(select(items.c.value).where(
                items.c.id == item_id + 1))).scalar()
            c = (await connection.execute(select(items.c.updated_at).where(
                items.c.id == item_id + 2))).scalar()
        return a, b, c

    async def text_item(self, item_id: int) -> Any:
        return await self.fetch("SELECT name, value FROM bench_items WHERE id = ?", (item_id,))

    async def two_writes(self, item_id: int, now: float) -> None:
        async with self.unit_of_work() as uow:
            await uow.bump(item_id, now)
            await uow.bump(item_id + 1, now)


async def prepare(database: Database) -> Items:
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
        await connection.execute(items.insert(), [
            {"id": i, "name": f"item {i}", "value": 0, "updated_at": 0.0}
            for i in range(ROWS + 3)])
    return Items(database)


def cases(repo: Items) -> dict[str, Callable[[int], Awaitable[Any]]]:
    return {
        "read 1 row": lambda i: repo.item(i % ROWS),
        "write 1 row": lambda i: repo.bump(i % ROWS, float(i)),
        "read 3 statements": lambda i: repo.three(i % ROWS),
        "text read (fetch)": lambda i: repo.text_item(i % ROWS),
        "unit of work, 2 writes": lambda i: repo.two_writes(i % ROWS, float(i)),
    }


async def measure(call: Callable[[int], Awaitable[Any]], iterations: int,
                  repeats: int) -> list[float]:
    for i in range(max(20, iterations // 10)):  # warm-up: pool, compiled cache
        await call(i)
    figures = []
    for _ in range(repeats):
        start = time.process_time()
        for i in range(iterations):
            await call(i)
        figures.append((time.process_time() - start) / iterations * 1e6)
    return figures


async def bench(url: str, label: str, args: argparse.Namespace) -> None:
    database = Database.open(url)
    try:
        repo = await prepare(database)
        opened = [0]  # a pool that reconnects per transaction (a failing ping) shows here
        event.listen(database.engine.sync_engine, "connect",
                     lambda *_: opened.__setitem__(0, opened[0] + 1))
        print(f"\n{label}: CPU µs per transaction, median of {args.repeats} × "
              f"{args.iterations} (min–max), connections opened")
        for name, call in cases(repo).items():
            if args.only and not any(word in name for word in args.only):
                continue
            opened[0] = 0
            figures = await measure(call, args.iterations, args.repeats)
            print(f"  {name:<24} {statistics.median(figures):8.1f}   "
                  f"({min(figures):.1f}–{max(figures):.1f})  {opened[0]}", flush=True)
    finally:
        await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", nargs="+", choices=("sqlite", "postgresql"),
                        default=["sqlite"])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="cases whose name contains one of these")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="konbini-bench-db-"))
    postgres: PostgresServer | None = None
    try:
        for engine in args.database:
            if engine == "sqlite":
                asyncio.run(bench(sqlite_url(base / "sqlite" / "bench.db"), "SQLite", args))
            else:
                base.chmod(0o755)  # the server runs as `postgres` when this runs as root
                postgres = PostgresServer(base / "pg", free_port())
                postgres.start()
                asyncio.run(bench(postgres.create_database("bench"),
                                  "PostgreSQL (CPU of this process only)", args))
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
