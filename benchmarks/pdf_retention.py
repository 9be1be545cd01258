"""What keeping a certificate's PDF for its 10 minutes costs, and then
forgetting it so no file under var/ holds its bytes (issue 11, item 6).

Per order of one 160 KB PDF, in a WAL-mode SQLite file like the center's:

- blob:             insert the BLOB, later delete it (no scrubbing: the
                    bytes stay in the WAL and in free pages; the old way)
- blob+scrub:       the same with PRAGMA secure_delete and a TRUNCATE
                    checkpoint after each delete, or after every 20 (what the
                    center does: its upkeep truncates once a round)
- file:             a 0600 file written on order, unlinked on settlement
                    (the file's blocks are freed, not overwritten)

With ``--postgres``: a real PostgreSQL server (konbini/postgres.py, in a
temporary directory), an UNLOGGED ``order_pdfs`` as c0006 makes it, ``--live``
PDFs held (orders within their 10 minutes); a round settles ``--turnover`` of
them, takes as many new ones, and the upkeep rewrites the table
(konbini/db.py ``Database.rewrite``: VACUUM FULL, or TRUNCATE when empty).
Prints what the rewrite costs per round, beside a round's writes on a logged
and on an unlogged table.

    .venv/bin/python benchmarks/pdf_retention.py -n 200
    .venv/bin/python benchmarks/pdf_retention.py --postgres --live 50 --rounds 20
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path


def _db(path: Path, secure: bool) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA secure_delete = {'ON' if secure else 'OFF'}")
    db.execute("CREATE TABLE IF NOT EXISTS order_pdfs (id INTEGER PRIMARY KEY, pdf BLOB)")
    return db


def run_blob(directory: Path, pdfs: list[bytes], scrub: bool,
             truncate_every: int = 1) -> list[float]:
    db = _db(directory / f"blob-{scrub}-{truncate_every}.db", scrub)
    times = []
    for i, pdf in enumerate(pdfs):
        start = time.perf_counter()
        db.execute("BEGIN")
        db.execute("INSERT INTO order_pdfs VALUES (?, ?)", (i, pdf))
        db.execute("COMMIT")
        db.execute("BEGIN")
        db.execute("DELETE FROM order_pdfs WHERE id = ?", (i,))
        db.execute("COMMIT")
        if scrub and (i + 1) % truncate_every == 0:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        times.append(time.perf_counter() - start)
    db.close()
    return times


def run_file(directory: Path, pdfs: list[bytes]) -> list[float]:
    folder = directory / "pdfs"
    folder.mkdir(mode=0o700)
    times = []
    for i, pdf in enumerate(pdfs):
        start = time.perf_counter()
        path = folder / f"{i}.pdf"
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
            handle.flush()
            os.fsync(handle.fileno())  # another worker must find it after a crash of this one
        os.unlink(path)
        times.append(time.perf_counter() - start)
    return times


async def _postgres_rounds(url: str, size: int, live: int, turnover: int, rounds: int,
                           unlogged: bool) -> tuple[list[float], list[float], float]:
    """(the writes of each round, the rewrite of each round, TRUNCATE of the emptied table)."""
    from konbini.db import Database

    database = Database.open(url)
    table = "order_pdfs" if unlogged else "order_pdfs_logged"
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.execute(f"CREATE {'UNLOGGED' if unlogged else ''} TABLE {table} "
                             "(certificate_id text PRIMARY KEY, pdf bytea NOT NULL)")
        await driver.execute(f"ALTER TABLE {table} ALTER COLUMN pdf SET STORAGE EXTERNAL")
    writes, rewrites = [], []
    serial = 0
    try:
        async with database.write() as connection:
            for _ in range(live):
                serial += 1
                await connection.exec_driver_sql(
                    f"INSERT INTO {table} VALUES ($1, $2)", (str(serial), os.urandom(size)))
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(turnover):  # one order settled, one new, each its own transaction
                async with database.write() as connection:
                    await connection.exec_driver_sql(
                        f"DELETE FROM {table} WHERE certificate_id = $1",
                        (str(serial - live + 1),))
                serial += 1
                async with database.write() as connection:
                    await connection.exec_driver_sql(
                        f"INSERT INTO {table} VALUES ($1, $2)", (str(serial), os.urandom(size)))
            writes.append(time.perf_counter() - start)
            start = time.perf_counter()
            if unlogged:
                assert await database.rewrite(table) == "vacuumed"
            rewrites.append(time.perf_counter() - start)
        async with database.write() as connection:
            await connection.exec_driver_sql(f"DELETE FROM {table}")
        start = time.perf_counter()
        if unlogged:
            assert await database.rewrite(table) == "truncated"
        emptied = time.perf_counter() - start
    finally:
        await database.close()
    return writes, rewrites, emptied


def run_postgres(args: argparse.Namespace) -> None:
    import asyncio
    import shutil

    from konbini.postgres import PostgresServer, free_port

    base = Path(tempfile.mkdtemp(prefix="konbini-bench-pg-"))
    base.chmod(0o755)  # the server runs as the postgres user when started by root
    server = PostgresServer(base / "data", free_port())
    try:
        server.start()
        url = server.create_database("bench")

        def ms(values: list[float]) -> str:
            got = sorted(v * 1000 for v in values)
            return (f"median {statistics.median(got):7.2f} ms   "
                    f"p95 {got[max(0, int(len(got) * 0.95) - 1)]:7.2f} ms")

        print(f"PostgreSQL {server.psql('SHOW server_version')}: {args.live} live PDFs of "
              f"{args.size // 1000} KB, {args.turnover} settled and {args.turnover} new "
              f"per round, {args.rounds} rounds")
        logged, _, _ = asyncio.run(_postgres_rounds(
            url, args.size, args.live, args.turnover, args.rounds, unlogged=False))
        writes, rewrites, emptied = asyncio.run(_postgres_rounds(
            url, args.size, args.live, args.turnover, args.rounds, unlogged=True))
        print(f"  a round's writes, logged table     {ms(logged)}")
        print(f"  a round's writes, unlogged table   {ms(writes)}")
        print(f"  the upkeep's VACUUM FULL           {ms(rewrites)}")
        print(f"  TRUNCATE of the emptied table      {emptied * 1000:7.2f} ms")
    finally:
        if server.accepts_connections():
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--size", type=int, default=160_000)
    parser.add_argument("--postgres", action="store_true",
                        help="the upkeep's rewrite of an unlogged table on PostgreSQL")
    parser.add_argument("--live", type=int, default=50)
    parser.add_argument("--turnover", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if args.postgres:
        run_postgres(args)
        return
    pdfs = [os.urandom(args.size) for _ in range(args.n)]
    with tempfile.TemporaryDirectory(dir=Path("var") if Path("var").is_dir() else None) as tmp:
        directory = Path(tmp)
        results = {"blob (no scrub)": run_blob(directory, pdfs, False),
                   "blob + secure_delete + TRUNCATE": run_blob(directory, pdfs, True),
                   # The center: the upkeep truncates once a round, not per order.
                   "blob + secure_delete, TRUNCATE/20": run_blob(directory, pdfs, True, 20),
                   "0600 file + fsync + unlink": run_file(directory, pdfs)}
    print(f"{args.n} orders of one {args.size // 1000} KB PDF (store, then forget):")
    for name, times in results.items():
        ms = sorted(t * 1000 for t in times)
        print(f"  {name:34s} median {statistics.median(ms):6.2f} ms   "
              f"p95 {ms[int(len(ms) * 0.95) - 1]:6.2f} ms")


if __name__ == "__main__":
    main()
