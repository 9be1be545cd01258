"""State every center worker must see the same: in the database, written by
conditional statements, never in one process's memory.

- ``leases``: a job (the upkeep) runs in one worker at a time; the holder is
  the worker whose conditional upsert took the row, until it lapses.
- ``order_keys``: a kiosk's ``Idempotency-Key`` on ``POST …/orders``,
  unique per terminal, claimed before the order is made.
- ``dev_settings``: the test environment's clock and faults (``--dev``).

Times here are wall-clock epoch seconds (``time.time()``): leases are about
real time across processes, not the dev clock. (Request budgets are in
``request_budgets``, center/rate_limit.py and center/storage.py.)"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

SHARED_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL,
    rounds INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS order_keys (
    terminal_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, request_sha256 TEXT NOT NULL,
    order_id TEXT NOT NULL, claimed_by TEXT NOT NULL, claimed_at REAL NOT NULL,
    status INTEGER, response TEXT,
    PRIMARY KEY (terminal_id, idempotency_key));
CREATE TABLE IF NOT EXISTS dev_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class OrderKey:
    """An ``Idempotency-Key`` claim: pending (``status`` None) or answered."""

    request_sha256: str
    order_id: str  # given to the order before it is made: a takeover finds it
    claimed_by: str
    claimed_at: float
    status: int | None
    response: str | None


class SharedState:
    """SQL for the cluster-wide state above, on the center's connection."""

    def __init__(self, db: aiosqlite.Connection, write_lock: asyncio.Lock) -> None:
        self._db = db
        self._write_lock = write_lock

    async def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        async with self._write_lock:
            try:
                cur = await self._db.execute(sql, args)
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise
            return cur.rowcount

    # -- leases ---------------------------------------------------------------
    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Take or renew the lease ``name``: True when ``holder`` holds it until
        ``now + ttl``. One statement: free, lapsed, or already ours."""
        return await self._write(
            "INSERT INTO leases (name, holder, expires_at, rounds) VALUES (?, ?, ?, 1) "
            "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
            "expires_at = excluded.expires_at, rounds = leases.rounds + 1 "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            (name, holder, now + ttl, now)) == 1

    async def release_lease(self, name: str, holder: str) -> None:
        await self._write("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def lease(self, name: str) -> tuple[str, float, int] | None:
        """(holder, expires_at, rounds) of a lease, for operators and tests."""
        async with self._db.execute(
                "SELECT holder, expires_at, rounds FROM leases WHERE name = ?", (name,)) as cur:
            row = await cur.fetchone()
        return None if row is None else (row["holder"], row["expires_at"], row["rounds"])

    # -- Idempotency-Key of orders ------------------------------------------------
    async def claim_order_key(self, terminal_id: str, key: str, request_sha256: str,
                              order_id: str, holder: str, now: float) -> bool:
        """True when this request may make the order (the key was free)."""
        return await self._write(
            "INSERT INTO order_keys (terminal_id, idempotency_key, request_sha256, order_id, "
            "claimed_by, claimed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (terminal_id, key, request_sha256, order_id, holder, now)) == 1

    async def take_over_order_key(self, terminal_id: str, key: str, previous: OrderKey,
                                  holder: str, now: float) -> bool:
        """Take a pending claim whose holder is gone (its worker died)."""
        return await self._write(
            "UPDATE order_keys SET claimed_by = ?, claimed_at = ? WHERE terminal_id = ? "
            "AND idempotency_key = ? AND claimed_by = ? AND status IS NULL",
            (holder, now, terminal_id, key, previous.claimed_by)) == 1

    async def order_key(self, terminal_id: str, key: str) -> OrderKey | None:
        async with self._db.execute(
                "SELECT * FROM order_keys WHERE terminal_id = ? AND idempotency_key = ?",
                (terminal_id, key)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return OrderKey(row["request_sha256"], row["order_id"], row["claimed_by"],
                        row["claimed_at"], row["status"], row["response"])

    async def answer_order_key(self, terminal_id: str, key: str, holder: str, status: int,
                               response: str) -> None:
        """Record the answer (the order: ids, digests, fees; no personal data)."""
        await self._write(
            "UPDATE order_keys SET status = ?, response = ? WHERE terminal_id = ? "
            "AND idempotency_key = ? AND claimed_by = ?", (status, response, terminal_id, key,
                                                           holder))

    async def release_order_key(self, terminal_id: str, key: str, holder: str) -> None:
        """A refusal made no order: the kiosk may try the key again."""
        await self._write(
            "DELETE FROM order_keys WHERE terminal_id = ? AND idempotency_key = ? "
            "AND claimed_by = ? AND status IS NULL", (terminal_id, key, holder))

    async def forget_order_keys(self, before: float) -> int:
        return await self._write("DELETE FROM order_keys WHERE claimed_at < ?", (before,))

    # -- the test environment's clock and faults (--dev) ------------------------------
    async def dev_settings(self) -> dict[str, Any]:
        async with self._db.execute("SELECT name, value FROM dev_settings") as cur:
            return {row["name"]: json.loads(row["value"]) for row in await cur.fetchall()}

    async def set_dev_setting(self, name: str, value: Any) -> None:
        await self._write(
            "INSERT INTO dev_settings VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
            "SET value = excluded.value", (name, json.dumps(value)))

    async def clear_dev_settings(self) -> None:
        await self._write("DELETE FROM dev_settings", ())
