"""Benchmark: CPU µs of one call of the center's hot storage methods, in-process, SQLite.

Each method runs in a transaction of its own against a fresh database (median
of 3 × 1000 calls, ``time.process_time``): what building a statement on every
call cost against a statement built once with bind parameters (issue 12).
Run it on two checkouts to compare:

    .venv/bin/python benchmarks/center_statements.py
"""
from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from center.storage import CenterStore


async def main() -> None:
    d = Path(tempfile.mkdtemp())
    store = await CenterStore.open(d / "c.db", migrate=True)
    now = datetime(2026, 11, 30, 1, tzinfo=UTC)
    await store.create_session("s1", "t1", "lawson", "st1", "cred", b"x" * 32, now, "fp")
    calls = {
        "session": lambda: store.session("s1"),
        "touch_session": lambda: store.touch_session("s1", now),
        "terminal": lambda: store.registry.get("fp"),
        "dev_settings": lambda: store.shared.dev_settings(),
        "municipality": lambda: store.municipality("131016"),
        "maintenance_of": lambda: store.maintenance_of([None, "131016"], now),
        "order": lambda: store.order("o1"),
        "fee_periods": lambda: store.ledger.fee_periods("131016"),
        "order_key": lambda: store.shared.order_key("t1", "k"),
    }
    for name, call in calls.items():
        for _ in range(200):
            await call()
        best = []
        for _ in range(3):
            t0 = time.process_time()
            for _ in range(1000):
                await call()
            best.append((time.process_time() - t0) * 1000)
        print(f"{name:16s} {sorted(best)[1]:7.1f} µs/call")
    await store.close()

if __name__ == "__main__":
    asyncio.run(main())
