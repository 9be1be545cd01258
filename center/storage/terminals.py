"""The terminal registry (center/terminals.py) on the center's database:
``terminals`` (a kiosk certificate by its fingerprint) and ``chains``
(SQLAlchemy Core, either engine).

Rows come back as plain dictionaries named like the columns, instants as
timezone-aware datetimes; the domain module makes its ``Terminal`` of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Double, bindparam, case, exists, literal, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import aliased

from konbini.db import Repository, insert

from . import tables as t

REVOKED = "revoked"  # final: a revoked certificate is never written again
# Read on every request of the mutual-TLS API (center/admission.py): built once
# with a bind parameter, not on each call (issue 12). The row is read every time.
_TERMINAL = select(t.terminals).where(t.terminals.c.fingerprint == bindparam("fingerprint"))


def _terminal(row: RowMapping) -> dict[str, Any]:
    return {**row, "enrolled_at": datetime.fromtimestamp(row["enrolled_at"], UTC),
            "updated_at": datetime.fromtimestamp(row["updated_at"], UTC)}


class TerminalStore(Repository):
    """The ``terminals`` and ``chains`` tables."""

    async def get(self, fingerprint: str) -> dict[str, Any] | None:
        row = await self._one(_TERMINAL, {"fingerprint": fingerprint})
        return None if row is None else _terminal(row)

    async def listed(self, chain: str | None = None) -> list[dict[str, Any]]:
        c = t.terminals.c
        query = select(t.terminals)
        if chain:
            query = query.where(c.chain == chain)
        return [_terminal(r) for r in await self._all(query.order_by(c.terminal_id,
                                                                      c.enrolled_at))]

    async def find(self, fingerprint: str, terminal_id: str) -> list[dict[str, Any]]:
        """Terminals with this fingerprint or this terminal id, oldest first."""
        c = t.terminals.c
        rows = await self._all(select(t.terminals).where(
            or_(c.fingerprint == fingerprint, c.terminal_id == terminal_id))
            .order_by(c.enrolled_at))
        return [_terminal(r) for r in rows]

    async def enrol(self, *, fingerprint: str, terminal_id: str, chain: str, store_id: str,
                    address: str, hours: str, status: str, now: datetime,
                    smartphone: bool) -> bool:
        """Insert the certificate, or update the address and hours and set
        ``status`` of one already enrolled (never a revoked one), unless
        another chain or store holds ``terminal_id`` with a certificate not
        revoked; the chain gets a row (``smartphone`` its default) if new.
        False if nothing was written.

        One conditional write, not read-then-write: the check runs inside the
        INSERT, so two enrolments of one id at two stores (two workers) cannot
        both pass it. SQLite: under the write lock (BEGIN IMMEDIATE).
        PostgreSQL: NOT EXISTS does not see another transaction's uncommitted
        insert, so the table's write lock is taken for the moment of the check."""
        c = t.terminals.c
        other = aliased(t.terminals)
        held_elsewhere = exists().where(
            other.c.terminal_id == terminal_id, other.c.status != REVOKED,
            or_(other.c.chain != chain, other.c.store_id != store_id))
        row = select(literal(fingerprint), literal(terminal_id), literal(chain),
                     literal(store_id), literal(address), literal(hours), literal(status),
                     literal(""), literal(now.timestamp(), Double),
                     literal(now.timestamp(), Double)).where(~held_elsewhere)
        async with self._write() as connection:
            if not self.database.is_sqlite:
                await connection.exec_driver_sql(
                    "LOCK TABLE terminals IN SHARE ROW EXCLUSIVE MODE")
            statement = insert(connection, t.terminals).from_select(
                ["fingerprint", "terminal_id", "chain", "store_id", "address", "hours",
                 "status", "reason", "enrolled_at", "updated_at"], row)
            result = await connection.execute(statement.on_conflict_do_update(
                index_elements=["fingerprint"],
                set_={"address": statement.excluded.address,
                      "hours": statement.excluded.hours,
                      "status": statement.excluded.status, "reason": "",
                      "updated_at": statement.excluded.updated_at},
                where=c.status != REVOKED))
            written = result.rowcount == 1
            if written:
                await connection.execute(insert(connection, t.chains).values(
                    chain=chain, name="", smartphone=int(smartphone),
                    updated_at=now.timestamp()).on_conflict_do_nothing())
        return written

    async def set_status(self, fingerprint: str, status: str, reason: str,
                         now: datetime) -> bool:
        """A conditional write: False if the certificate is revoked (or unknown)."""
        c = t.terminals.c
        result = await self._run(update(t.terminals).where(
            c.fingerprint == fingerprint, c.status != REVOKED)
            .values(status=status, reason=reason, updated_at=now.timestamp()))
        return result.rowcount == 1

    # -- chains -----------------------------------------------------------------
    async def set_chain(self, chain: str, *, name: str, smartphone: bool,
                        now: datetime) -> None:
        """Insert or update; an empty ``name`` keeps the one recorded."""
        async with self._write() as connection:
            statement = insert(connection, t.chains).values(
                chain=chain, name=name, smartphone=int(smartphone), updated_at=now.timestamp())
            await connection.execute(statement.on_conflict_do_update(
                index_elements=["chain"],
                set_={"smartphone": statement.excluded.smartphone,
                      "name": case((statement.excluded.name == "", t.chains.c.name),
                                   else_=statement.excluded.name),
                      "updated_at": statement.excluded.updated_at}))

    async def chains(self) -> dict[str, bool]:
        """Every chain, and whether its kiosks read smartphones."""
        c = t.chains.c
        rows = await self._all(select(c.chain, c.smartphone).order_by(c.chain))
        return {row["chain"]: bool(row["smartphone"]) for row in rows}

    async def reads_smartphones(self, chain: str) -> bool:
        row = await self._one(select(t.chains.c.smartphone).where(t.chains.c.chain == chain))
        return bool(row and row["smartphone"])
