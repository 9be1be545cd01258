"""State every center worker must see the same: in the database, written by
conditional statements, never in one process's memory.

- ``leases``: a job (the upkeep) runs in one worker at a time; the holder is
  the worker whose conditional upsert took the row, until it lapses.
- ``order_keys``: a kiosk's ``Idempotency-Key`` on ``POST …/orders``,
  unique per terminal, claimed before the order is made.
- ``dev_settings``: the test environment's clock and faults (``--dev``).

Times here are wall-clock epoch seconds (``time.time()``): leases are about
real time across processes, not the dev clock. (Request budgets are in
``request_budgets``, center/rate_limit.py and center/storage/.) The tables are
in center/storage/tables.py; the statements are portable SQL (SQLite and
PostgreSQL), run in the store's unit of work when it has one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from konbini.db import Repository


@dataclass(frozen=True)
class OrderKey:
    """An ``Idempotency-Key`` claim: pending (``status`` None) or answered."""

    request_sha256: str
    order_id: str  # given to the order before it is made: a takeover finds it
    claimed_by: str
    claimed_at: float
    status: int | None
    response: str | None


class SharedState(Repository):
    """SQL for the cluster-wide state above, on the center's database."""

    async def _write_sql(self, sql: str, args: tuple[Any, ...]) -> int:
        async with self.writing() as db:
            cur = await db.execute(sql, args)
        return int(cur.rowcount)

    # -- leases ---------------------------------------------------------------
    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Take or renew the lease ``name``: True when ``holder`` holds it until
        ``now + ttl``. One statement: free, lapsed, or already ours."""
        return await self._write_sql(
            "INSERT INTO leases (name, holder, expires_at, rounds) VALUES (?, ?, ?, 1) "
            "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
            "expires_at = excluded.expires_at, rounds = leases.rounds + 1 "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            (name, holder, now + ttl, now)) == 1

    async def release_lease(self, name: str, holder: str) -> None:
        await self._write_sql("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def lease(self, name: str) -> tuple[str, float, int] | None:
        """(holder, expires_at, rounds) of a lease, for operators and tests."""
        rows = await self.fetch(
            "SELECT holder, expires_at, rounds FROM leases WHERE name = ?", (name,))
        row = rows[0] if rows else None
        return None if row is None else (row["holder"], row["expires_at"], row["rounds"])

    # -- Idempotency-Key of orders ------------------------------------------------
    async def claim_order_key(self, terminal_id: str, key: str, request_sha256: str,
                              order_id: str, holder: str, now: float) -> bool:
        """True when this request may make the order (the key was free)."""
        return await self._write_sql(
            "INSERT INTO order_keys (terminal_id, idempotency_key, request_sha256, order_id, "
            "claimed_by, claimed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (terminal_id, key, request_sha256, order_id, holder, now)) == 1

    async def take_over_order_key(self, terminal_id: str, key: str, previous: OrderKey,
                                  holder: str, now: float) -> bool:
        """Take a pending claim whose holder is gone (its worker died)."""
        return await self._write_sql(
            "UPDATE order_keys SET claimed_by = ?, claimed_at = ? WHERE terminal_id = ? "
            "AND idempotency_key = ? AND claimed_by = ? AND status IS NULL",
            (holder, now, terminal_id, key, previous.claimed_by)) == 1

    async def order_key(self, terminal_id: str, key: str) -> OrderKey | None:
        rows = await self.fetch(
            "SELECT * FROM order_keys WHERE terminal_id = ? AND idempotency_key = ?",
            (terminal_id, key))
        row = rows[0] if rows else None
        if row is None:
            return None
        return OrderKey(row["request_sha256"], row["order_id"], row["claimed_by"],
                        row["claimed_at"], row["status"], row["response"])

    async def answer_order_key(self, terminal_id: str, key: str, holder: str, status: int,
                               response: str) -> None:
        """Record the answer (the order: ids, digests, fees; no personal data)."""
        await self._write_sql(
            "UPDATE order_keys SET status = ?, response = ? WHERE terminal_id = ? "
            "AND idempotency_key = ? AND claimed_by = ?", (status, response, terminal_id, key,
                                                           holder))

    async def release_order_key(self, terminal_id: str, key: str, holder: str) -> None:
        """A refusal made no order: the kiosk may try the key again. Kept when
        the order exists after all (its commit went through as the connection
        broke): a resend then gets that order, not a second one."""
        await self._write_sql(
            "DELETE FROM order_keys WHERE terminal_id = ? AND idempotency_key = ? "
            "AND claimed_by = ? AND status IS NULL AND NOT EXISTS (SELECT 1 FROM orders "
            "WHERE orders.order_id = order_keys.order_id)", (terminal_id, key, holder))

    async def forget_order_keys(self, before: float) -> int:
        return await self._write_sql("DELETE FROM order_keys WHERE claimed_at < ?", (before,))

    # -- the test environment's clock and faults (--dev) ------------------------------
    async def dev_settings(self) -> dict[str, Any]:
        rows = await self.fetch("SELECT name, value FROM dev_settings")
        return {row["name"]: json.loads(row["value"]) for row in rows}

    async def set_dev_setting(self, name: str, value: Any) -> None:
        await self._write_sql(
            "INSERT INTO dev_settings VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
            "SET value = excluded.value", (name, json.dumps(value)))

    async def clear_dev_settings(self) -> None:
        await self._write_sql("DELETE FROM dev_settings", ())
