"""The settlement ledger's tables in the center's database (精算台帳).

Every charge and refund per certificate with municipality, chain, store,
terminal, type, fee and commission (integer yen); the operator's contracts;
the municipalities' fee periods; refusals by code (no personal data). All
SQL of settlement and reports is here, behind small functions, so the move
to another storage layer touches one module."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiosqlite

from .model.orders import CopyOutcome, EntryKind
from .model.settlement import Contract, FeePeriod, LedgerFigure, contract_in_force

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_entries (
    id INTEGER PRIMARY KEY, certificate_id TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL,
    kind TEXT NOT NULL, municipality_code TEXT NOT NULL, chain TEXT NOT NULL,
    store_id TEXT NOT NULL, terminal_id TEXT NOT NULL, type TEXT NOT NULL,
    fee_yen INTEGER NOT NULL, center_commission_yen INTEGER NOT NULL,
    store_commission_yen INTEGER NOT NULL, issued_at REAL NOT NULL, booked_at REAL NOT NULL,
    void_reason TEXT);
CREATE INDEX IF NOT EXISTS ledger_municipality ON ledger_entries(municipality_code, issued_at);
CREATE INDEX IF NOT EXISTS ledger_issued ON ledger_entries(issued_at);
CREATE TABLE IF NOT EXISTS contracts (
    id INTEGER PRIMARY KEY, municipality_code TEXT, starts_on TEXT NOT NULL,
    center_commission_yen INTEGER NOT NULL, store_commission_yen INTEGER NOT NULL,
    yearly_contribution_yen INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS contracts_start
    ON contracts(ifnull(municipality_code, ''), starts_on);
CREATE TABLE IF NOT EXISTS fee_periods (
    id INTEGER PRIMARY KEY, municipality_code TEXT NOT NULL, type TEXT NOT NULL,
    fee_yen INTEGER NOT NULL, starts_on TEXT NOT NULL, ends_on TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS fee_periods_code ON fee_periods(municipality_code, type);
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    municipality_code TEXT, chain TEXT NOT NULL DEFAULT '', terminal_id TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS refusals_at ON refusals(at);
"""

# Japan time for grouping in SQL: epoch seconds shifted by 9 hours (no DST in Japan).
JST_SHIFT = 9 * 3600


@dataclass(frozen=True)
class EntryContext:
    """Where and what a settled order was: the ledger columns besides money."""

    order_id: str
    municipality_code: str
    chain: str
    store_id: str
    terminal_id: str
    type: str
    issued_at: float


class LedgerStore:
    """Ledger, contracts, fee periods and refusals over the center's connection.

    Shares the connection and write lock of :class:`center.storage.CenterStore`,
    so settling an order and booking its entries are one transaction."""

    def __init__(self, db: aiosqlite.Connection, write_lock: asyncio.Lock) -> None:
        self._db = db
        self._write_lock = write_lock

    # -- ledger ---------------------------------------------------------------
    async def book(self, where: EntryContext, outcomes: Iterable[CopyOutcome],
                   contract: Contract, booked_at: float) -> None:
        """Insert one entry per copy; the caller holds the lock and commits."""
        rows = []
        for copy in outcomes:
            charged = copy.kind is EntryKind.CHARGE
            rows.append((copy.certificate_id, where.order_id, copy.kind.value,
                         where.municipality_code, where.chain, where.store_id,
                         where.terminal_id, where.type, copy.fee_yen,
                         contract.center_commission_yen if charged else 0,
                         contract.store_commission_yen if charged else 0,
                         where.issued_at, booked_at, copy.void_reason))
        await self._db.executemany(
            "INSERT INTO ledger_entries (certificate_id, order_id, kind, municipality_code, "
            "chain, store_id, terminal_id, type, fee_yen, center_commission_yen, "
            "store_commission_yen, issued_at, booked_at, void_reason) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)

    async def entries(self, order_id: str) -> list[dict[str, Any]]:
        async with self._db.execute("SELECT * FROM ledger_entries WHERE order_id = ? "
                                    "ORDER BY id", (order_id,)) as cur:
            return [dict(row) for row in await cur.fetchall()]

    async def figures(self, start: datetime, end: datetime, *, municipality: str | None = None,
                      chain: str | None = None, key: str | None = None,
                      ) -> list[LedgerFigure]:
        """Entries issued in [start, end) summed by kind, type, fee (and ``key``:
        'chain' or 'municipality_code')."""
        where, params = ["issued_at >= ?", "issued_at < ?"], [start.timestamp(),
                                                              end.timestamp()]
        if municipality is not None:
            where.append("municipality_code = ?")
            params.append(municipality)
        if chain is not None:
            where.append("chain = ?")
            params.append(chain)
        key_sql = {"chain": "chain", "municipality_code": "municipality_code", None: "''"}[key]
        sql = (f"SELECT kind, type, fee_yen, {key_sql} AS k, COUNT(*) AS n, "
               "SUM(fee_yen) AS amount, SUM(center_commission_yen) AS cc, "
               "SUM(store_commission_yen) AS sc FROM ledger_entries WHERE "
               + " AND ".join(where) + " GROUP BY kind, type, fee_yen, k")
        async with self._db.execute(sql, params) as cur:
            return [LedgerFigure(r["kind"], r["type"], r["fee_yen"], r["n"], r["amount"],
                                 r["cc"], r["sc"], r["k"]) for r in await cur.fetchall()]

    async def counts(self, start: datetime, end: datetime, municipality: str | None,
                     dimension: str) -> list[tuple[str, str, int, int]]:
        """Charged certificates in [start, end) by a dimension and type:
        (value, type, certificates, fees_yen). ``dimension``: month, hour,
        weekday, municipality_code, chain."""
        expr = {
            "month": f"strftime('%Y-%m', issued_at + {JST_SHIFT}, 'unixepoch')",
            "hour": f"strftime('%H', issued_at + {JST_SHIFT}, 'unixepoch')",
            "weekday": f"strftime('%w', issued_at + {JST_SHIFT}, 'unixepoch')",
            "municipality_code": "municipality_code",
            "chain": "chain",
        }[dimension]
        sql = (f"SELECT {expr} AS v, type, COUNT(*) AS n, SUM(fee_yen) AS y "
               "FROM ledger_entries WHERE kind = ? AND issued_at >= ? AND issued_at < ?"
               + (" AND municipality_code = ?" if municipality else "")
               + " GROUP BY v, type ORDER BY v, type")
        params: list[Any] = [EntryKind.CHARGE.value, start.timestamp(), end.timestamp()]
        if municipality:
            params.append(municipality)
        async with self._db.execute(sql, params) as cur:
            return [(str(r["v"]), r["type"], int(r["n"]), int(r["y"]))
                    for r in await cur.fetchall()]

    async def has_order_prefix(self, prefix: str) -> bool:
        async with self._db.execute("SELECT 1 FROM orders WHERE order_id >= ? AND "
                                    "order_id < ? LIMIT 1", (prefix, prefix + "\uffff")) as cur:
            return await cur.fetchone() is not None

    async def insert_simulated(self, orders: Sequence[tuple[Any, ...]],
                               certificates: Sequence[tuple[Any, ...]],
                               entries: Sequence[tuple[Any, ...]]) -> None:
        """Rows made by the history generator, in one transaction."""
        async with self._write_lock:
            try:
                await self._db.executemany(
                    "INSERT INTO orders (order_id, session_id, terminal_id, request_id, "
                    "municipality_code, type, copies, fee_yen, status, created_at, "
                    "download_until, charged_yen, refunded_yen, settled_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", orders)
                await self._db.executemany(
                    "INSERT INTO certificates VALUES (?,?,?,?,?,?,?,?,?,?,?)", certificates)
                await self._db.executemany(
                    "INSERT INTO ledger_entries (certificate_id, order_id, kind, "
                    "municipality_code, chain, store_id, terminal_id, type, fee_yen, "
                    "center_commission_yen, store_commission_yen, issued_at, booked_at, "
                    "void_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", entries)
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise

    # -- contracts ---------------------------------------------------------------
    async def set_contract(self, contract: Contract, now: datetime) -> None:
        """Insert or replace the contract starting that day (for that municipality)."""
        async with self._write_lock:
            await self._db.execute(
                "DELETE FROM contracts WHERE ifnull(municipality_code, '') = ? AND starts_on = ?",
                (contract.municipality_code or "", contract.starts_on.isoformat()))
            await self._db.execute(
                "INSERT INTO contracts (municipality_code, starts_on, center_commission_yen, "
                "store_commission_yen, yearly_contribution_yen, created_at) "
                "VALUES (?,?,?,?,?,?)",
                (contract.municipality_code, contract.starts_on.isoformat(),
                 contract.center_commission_yen, contract.store_commission_yen,
                 contract.yearly_contribution_yen, now.timestamp()))
            await self._db.commit()

    async def contracts(self, municipality_code: str | None = None) -> list[Contract]:
        sql = "SELECT * FROM contracts"
        params: tuple[Any, ...] = ()
        if municipality_code is not None:
            sql += " WHERE municipality_code = ? OR municipality_code IS NULL"
            params = (municipality_code,)
        async with self._db.execute(sql + " ORDER BY ifnull(municipality_code, ''), starts_on",
                                    params) as cur:
            return [Contract(r["municipality_code"], date.fromisoformat(r["starts_on"]),
                             r["center_commission_yen"], r["store_commission_yen"],
                             r["yearly_contribution_yen"]) for r in await cur.fetchall()]

    async def contract_for(self, municipality_code: str, day: date) -> Contract:
        return contract_in_force(await self.contracts(municipality_code), municipality_code, day)

    # -- fee periods ---------------------------------------------------------------
    async def add_fee_period(self, period: FeePeriod, now: datetime) -> FeePeriod | None:
        """Insert unless it overlaps a period of the same type: one conditional
        write, so two concurrent requests cannot both get in. None on overlap."""
        async with self._write_lock:
            cur = await self._db.execute(
                "INSERT INTO fee_periods (municipality_code, type, fee_yen, starts_on, ends_on, "
                "created_at) SELECT ?,?,?,?,?,? WHERE NOT EXISTS (SELECT 1 FROM fee_periods "
                "WHERE municipality_code = ? AND type = ? AND starts_on <= ? AND ends_on >= ?)",
                (period.municipality_code, period.type, period.fee_yen,
                 period.starts_on.isoformat(), period.ends_on.isoformat(), now.timestamp(),
                 period.municipality_code, period.type, period.ends_on.isoformat(),
                 period.starts_on.isoformat()))
            await self._db.commit()
            if cur.rowcount != 1:
                return None
            return FeePeriod(period.municipality_code, period.type, period.fee_yen,
                             period.starts_on, period.ends_on, int(cur.lastrowid or 0))

    async def fee_periods(self, municipality_code: str) -> list[FeePeriod]:
        async with self._db.execute(
                "SELECT * FROM fee_periods WHERE municipality_code = ? "
                "ORDER BY type, starts_on", (municipality_code,)) as cur:
            return [FeePeriod(r["municipality_code"], r["type"], r["fee_yen"],
                              date.fromisoformat(r["starts_on"]),
                              date.fromisoformat(r["ends_on"]), r["id"])
                    for r in await cur.fetchall()]

    async def delete_fee_period(self, municipality_code: str, period_id: int) -> bool:
        async with self._write_lock:
            cur = await self._db.execute(
                "DELETE FROM fee_periods WHERE municipality_code = ? AND id = ?",
                (municipality_code, period_id))
            await self._db.commit()
            return cur.rowcount == 1

    # -- refusals ----------------------------------------------------------------
    async def record_refusal(self, code: str, reason: str, municipality_code: str | None,
                             chain: str, terminal_id: str, at: datetime) -> None:
        async with self._write_lock:
            await self._db.execute(
                "INSERT INTO refusals (code, reason, municipality_code, chain, terminal_id, at) "
                "VALUES (?,?,?,?,?,?)",
                (code, reason[:100], municipality_code, chain[:100], terminal_id[:100],
                 at.timestamp()))
            await self._db.commit()

    async def refusal_counts(self, start: datetime, end: datetime,
                             municipality: str | None) -> list[tuple[str, str, int]]:
        sql = ("SELECT code, reason, COUNT(*) AS n FROM refusals WHERE at >= ? AND at < ?"
               + (" AND municipality_code = ?" if municipality else "")
               + " GROUP BY code, reason ORDER BY n DESC, code, reason")
        params: list[Any] = [start.timestamp(), end.timestamp()]
        if municipality:
            params.append(municipality)
        async with self._db.execute(sql, params) as cur:
            return [(r["code"], r["reason"], int(r["n"])) for r in await cur.fetchall()]
