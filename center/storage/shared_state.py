"""State every center worker must see the same: in the database, written by
conditional statements, never in one process's memory.

- ``leases``: a job (the upkeep) runs in one worker at a time; the holder is
  the worker whose conditional upsert took the row, until it lapses.
- ``order_keys``: a kiosk's ``Idempotency-Key`` on ``POST …/orders``,
  unique per terminal, claimed before the order is made.
- ``dev_settings``: the test environment's clock and faults (``--dev``).

Times here are wall-clock epoch seconds (``time.time()``): leases are about
real time across processes, not the dev clock. (Request budgets are in
``request_budgets``, center/rate_limit.py and repositories.py.) The tables are
in tables.py; the statements are SQLAlchemy Core, the same on SQLite and
PostgreSQL, run in the store's unit of work when it has one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, bindparam, delete, or_, select, text, update

from konbini.db import Repository, insert

from . import tables as t


@dataclass(frozen=True)
class OrderKey:
    """An ``Idempotency-Key`` claim: pending (``status`` None) or answered."""

    request_sha256: str
    order_id: str  # given to the order before it is made: a takeover finds it
    claimed_by: str
    claimed_at: float
    status: int | None
    response: str | None


# Text, not the dialect's insert(): SQLAlchemy 2.0 never caches an
# INSERT … ON CONFLICT, so it was compiled for every order (~0.5–0.9 ms, issue 12).
# The same text on SQLite and PostgreSQL.
_CLAIM_ORDER_KEY = text(
    "INSERT INTO order_keys (terminal_id, idempotency_key, request_sha256, order_id,"
    " claimed_by, claimed_at) VALUES (:terminal_id, :idempotency_key, :request_sha256,"
    " :order_id, :claimed_by, :claimed_at) ON CONFLICT DO NOTHING")
# The other statements of every order and every request, built once with bind
# parameters (issue 12); executed with values, so only the statement is kept.
_k = t.order_keys.c
_THIS_KEY = (_k.terminal_id == bindparam("terminal"), _k.idempotency_key == bindparam("key"))
_ORDER_KEY = select(t.order_keys).where(*_THIS_KEY)
_ANSWER_ORDER_KEY = update(t.order_keys).where(
    *_THIS_KEY, _k.claimed_by == bindparam("holder")).values(
    status=bindparam("b_status"), response=bindparam("b_response"))
_RELEASE_ORDER_KEY = delete(t.order_keys).where(
    *_THIS_KEY, _k.claimed_by == bindparam("holder"), _k.status.is_(None),
    ~select(t.orders.c.order_id).where(t.orders.c.order_id == _k.order_id).exists())
_DEV_SETTINGS = select(t.dev_settings.c.name, t.dev_settings.c.value)


class SharedState(Repository):
    """The cluster-wide state above, on the center's database."""

    async def _count(self, statement: Executable, params: dict[str, Any] | None = None) -> int:
        """Run one writing statement; how many rows it wrote."""
        return int((await self._run(statement, params)).rowcount)

    # -- leases ---------------------------------------------------------------
    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Take or renew the lease ``name``: True when ``holder`` holds it until
        ``now + ttl``. One statement: free, lapsed, or already ours."""
        lease = t.leases.c
        async with self._write() as connection:
            statement = insert(connection, t.leases).values(
                name=name, holder=holder, expires_at=now + ttl, rounds=1)
            result = await connection.execute(statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"holder": statement.excluded.holder,
                      "expires_at": statement.excluded.expires_at,
                      "rounds": lease.rounds + 1},
                where=or_(lease.holder == statement.excluded.holder,
                          lease.expires_at <= now)))
        return result.rowcount == 1

    async def release_lease(self, name: str, holder: str) -> None:
        lease = t.leases.c
        await self._run(delete(t.leases).where(lease.name == name, lease.holder == holder))

    async def lease(self, name: str) -> tuple[str, float, int] | None:
        """(holder, expires_at, rounds) of a lease, for operators and tests."""
        lease = t.leases.c
        row = await self._one(select(lease.holder, lease.expires_at, lease.rounds)
                              .where(lease.name == name))
        return None if row is None else (row["holder"], row["expires_at"], row["rounds"])

    # -- Idempotency-Key of orders ------------------------------------------------
    async def claim_order_key(self, terminal_id: str, key: str, request_sha256: str,
                              order_id: str, holder: str, now: float) -> bool:
        """True when this request may make the order (the key was free)."""
        return await self._count(_CLAIM_ORDER_KEY, dict(
            terminal_id=terminal_id, idempotency_key=key, request_sha256=request_sha256,
            order_id=order_id, claimed_by=holder, claimed_at=now)) == 1

    async def take_over_order_key(self, terminal_id: str, key: str, previous: OrderKey,
                                  holder: str, now: float) -> bool:
        """Take a pending claim whose holder is gone (its worker died)."""
        k = t.order_keys.c
        return await self._count(update(t.order_keys).where(
            k.terminal_id == terminal_id, k.idempotency_key == key,
            k.claimed_by == previous.claimed_by, k.status.is_(None))
            .values(claimed_by=holder, claimed_at=now)) == 1

    async def order_key(self, terminal_id: str, key: str) -> OrderKey | None:
        row = await self._one(_ORDER_KEY, {"terminal": terminal_id, "key": key})
        if row is None:
            return None
        return OrderKey(row["request_sha256"], row["order_id"], row["claimed_by"],
                        row["claimed_at"], row["status"], row["response"])

    async def answer_order_key(self, terminal_id: str, key: str, holder: str, status: int,
                               response: str) -> None:
        """Record the answer (the order: ids, digests, fees; no personal data)."""
        await self._run(_ANSWER_ORDER_KEY, {"terminal": terminal_id, "key": key,
                                             "holder": holder, "b_status": status,
                                             "b_response": response})

    async def release_order_key(self, terminal_id: str, key: str, holder: str) -> None:
        """A refusal made no order: the kiosk may try the key again. Kept when
        the order exists after all (its commit went through as the connection
        broke): a resend then gets that order, not a second one."""
        await self._run(_RELEASE_ORDER_KEY, {"terminal": terminal_id, "key": key,
                                              "holder": holder})

    async def forget_order_keys(self, before: float) -> int:
        return await self._count(delete(t.order_keys)
                                 .where(t.order_keys.c.claimed_at < before))

    # -- the test environment's clock and faults (--dev) ------------------------------
    async def dev_settings(self) -> dict[str, Any]:
        rows = await self._all(_DEV_SETTINGS)
        return {row["name"]: json.loads(row["value"]) for row in rows}

    async def set_dev_setting(self, name: str, value: Any) -> None:
        async with self._write() as connection:
            statement = insert(connection, t.dev_settings).values(
                name=name, value=json.dumps(value))
            await connection.execute(statement.on_conflict_do_update(
                index_elements=["name"], set_={"value": statement.excluded.value}))

    async def clear_dev_settings(self) -> None:
        await self._run(delete(t.dev_settings))
