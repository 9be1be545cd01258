"""The settlement ledger in the center's database (精算台帳).

Every charge and refund per certificate with municipality, chain, store,
terminal, type, fee and commission (integer yen); the operator's contracts;
the municipalities' fee periods; refusals by code (no personal data). All
queries of settlement and reports are here, behind small functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, delete, exists, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from konbini.db import Repository

from ..model.orders import CopyOutcome, EntryKind
from ..model.settlement import Contract, FeePeriod, LedgerFigure, contract_in_force
from . import tables as t

# Japan time for grouping in SQL: epoch seconds shifted by 9 hours (no DST in Japan).
JST_SHIFT = 9 * 3600

ORDER_COLUMNS = ("order_id", "session_id", "terminal_id", "request_id", "municipality_code",
                 "type", "copies", "fee_yen", "status", "created_at", "download_until",
                 "charged_yen", "refunded_yen", "settled_at")
CERTIFICATE_COLUMNS = ("certificate_id", "order_id", "certificate_number", "type",
                       "municipality_code", "sha256", "front_sha256", "fee_yen", "status",
                       "void_reason", "issued_at")
# Read or written by every settlement and every menu and order: built once with
# bind parameters (issue 12).
_BOOK = t.ledger_entries.insert()
_CONTRACTS = select(t.contracts).order_by(func.coalesce(t.contracts.c.municipality_code, ""),
                                          t.contracts.c.starts_on)
_CONTRACTS_OF = select(t.contracts).where(
    (t.contracts.c.municipality_code == bindparam("code"))
    | t.contracts.c.municipality_code.is_(None)).order_by(
    func.coalesce(t.contracts.c.municipality_code, ""), t.contracts.c.starts_on)
_FEE_PERIODS = select(t.fee_periods).where(
    t.fee_periods.c.municipality_code == bindparam("code")).order_by(
    t.fee_periods.c.type, t.fee_periods.c.starts_on)
ENTRY_COLUMNS = ("certificate_id", "order_id", "kind", "municipality_code", "chain",
                 "store_id", "terminal_id", "type", "fee_yen", "center_commission_yen",
                 "store_commission_yen", "issued_at", "booked_at", "void_reason")


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


class LedgerStore(Repository):
    """Ledger, contracts, fee periods and refusals; in the unit of work of the
    :class:`center.storage.CenterStore` it belongs to, so settling an order and
    booking its entries are one transaction."""

    # -- ledger ---------------------------------------------------------------
    async def book(self, where: EntryContext, outcomes: Iterable[CopyOutcome],
                   contract: Contract, booked_at: float) -> None:
        """Insert one entry per copy (in the caller's unit of work)."""
        rows = []
        for copy in outcomes:
            charged = copy.kind is EntryKind.CHARGE
            rows.append(dict(zip(ENTRY_COLUMNS, (
                copy.certificate_id, where.order_id, copy.kind.value, where.municipality_code,
                where.chain, where.store_id, where.terminal_id, where.type, copy.fee_yen,
                contract.center_commission_yen if charged else 0,
                contract.store_commission_yen if charged else 0,
                where.issued_at, booked_at, copy.void_reason), strict=True)))
        if rows:
            await self._run(_BOOK, rows)

    async def entries(self, order_id: str) -> list[dict[str, Any]]:
        rows = await self._all(select(t.ledger_entries)
                               .where(t.ledger_entries.c.order_id == order_id)
                               .order_by(t.ledger_entries.c.id))
        return [dict(row) for row in rows]

    async def figures(self, start: datetime, end: datetime, *, municipality: str | None = None,
                      chain: str | None = None, key: str | None = None,
                      ) -> list[LedgerFigure]:
        """Entries issued in [start, end) summed by kind, type, fee (and ``key``:
        'chain' or 'municipality_code')."""
        e = t.ledger_entries.c
        where = [e.issued_at >= start.timestamp(), e.issued_at < end.timestamp()]
        if municipality is not None:
            where.append(e.municipality_code == municipality)
        if chain is not None:
            where.append(e.chain == chain)
        k = {"chain": e.chain, "municipality_code": e.municipality_code,
             None: literal("", String)}[key]
        rows = await self._all(
            select(e.kind, e.type, e.fee_yen, k.label("k"), func.count().label("n"),
                   func.sum(e.fee_yen).label("amount"),
                   func.sum(e.center_commission_yen).label("cc"),
                   func.sum(e.store_commission_yen).label("sc"))
            .where(*where).group_by(e.kind, e.type, e.fee_yen, k))
        return [LedgerFigure(r["kind"], r["type"], r["fee_yen"], int(r["n"]), int(r["amount"]),
                             int(r["cc"]), int(r["sc"]), r["k"]) for r in rows]

    def _jst_part(self, part: str) -> ColumnElement[Any]:
        """month 'YYYY-MM', hour 'HH', weekday '0'–'6' (Sunday 0) of issued_at in JST."""
        issued = t.ledger_entries.c.issued_at + JST_SHIFT
        if self.database.is_sqlite:
            fmt = {"month": "%Y-%m", "hour": "%H", "weekday": "%w"}[part]
            return func.strftime(fmt, issued, "unixepoch")
        utc = func.timezone("UTC", func.to_timestamp(issued))
        if part == "weekday":
            return cast(cast(func.extract("dow", utc), Integer), String)
        return func.to_char(utc, {"month": "YYYY-MM", "hour": "HH24"}[part])

    async def counts(self, start: datetime, end: datetime, municipality: str | None,
                     dimension: str) -> list[tuple[str, str, int, int]]:
        """Charged certificates in [start, end) by a dimension and type:
        (value, type, certificates, fees_yen). ``dimension``: month, hour,
        weekday, municipality_code, chain."""
        e = t.ledger_entries.c
        expr = (self._jst_part(dimension) if dimension in ("month", "hour", "weekday")
                else {"municipality_code": e.municipality_code, "chain": e.chain}[dimension])
        v = expr.label("v")
        where = [e.kind == EntryKind.CHARGE.value, e.issued_at >= start.timestamp(),
                 e.issued_at < end.timestamp()]
        if municipality:
            where.append(e.municipality_code == municipality)
        rows = await self._all(select(v, e.type, func.count().label("n"),
                                      func.sum(e.fee_yen).label("y"))
                               .where(*where).group_by(v, e.type).order_by(v, e.type))
        return [(str(r["v"]), r["type"], int(r["n"]), int(r["y"])) for r in rows]

    async def has_order_prefix(self, prefix: str) -> bool:
        o = t.orders.c
        return await self._one(select(literal(1)).where(
            o.order_id >= prefix, o.order_id < prefix + "\uffff").limit(1)) is not None

    async def insert_simulated(self, orders: Sequence[tuple[Any, ...]],
                               certificates: Sequence[tuple[Any, ...]],
                               entries: Sequence[tuple[Any, ...]]) -> None:
        """Rows made by the history generator, in one transaction."""
        async with self._write() as connection:
            for table, columns, rows in ((t.orders, ORDER_COLUMNS, orders),
                                         (t.certificates, CERTIFICATE_COLUMNS, certificates),
                                         (t.ledger_entries, ENTRY_COLUMNS, entries)):
                if rows:
                    await connection.execute(table.insert(), [
                        dict(zip(columns, row, strict=True)) for row in rows])

    # -- contracts ---------------------------------------------------------------
    async def set_contract(self, contract: Contract, now: datetime) -> None:
        """Insert or replace the contract starting that day (for that municipality)."""
        c = t.contracts.c
        async with self._write() as connection:
            await connection.execute(delete(t.contracts).where(
                func.coalesce(c.municipality_code, "") == (contract.municipality_code or ""),
                c.starts_on == contract.starts_on.isoformat()))
            await connection.execute(t.contracts.insert().values(
                municipality_code=contract.municipality_code,
                starts_on=contract.starts_on.isoformat(),
                center_commission_yen=contract.center_commission_yen,
                store_commission_yen=contract.store_commission_yen,
                yearly_contribution_yen=contract.yearly_contribution_yen,
                created_at=now.timestamp()))

    async def contracts(self, municipality_code: str | None = None) -> list[Contract]:
        rows = await (self._all(_CONTRACTS) if municipality_code is None else
                      self._all(_CONTRACTS_OF, {"code": municipality_code}))
        return [Contract(r["municipality_code"], date.fromisoformat(r["starts_on"]),
                         r["center_commission_yen"], r["store_commission_yen"],
                         r["yearly_contribution_yen"]) for r in rows]

    async def contract_for(self, municipality_code: str, day: date) -> Contract:
        return contract_in_force(await self.contracts(municipality_code), municipality_code, day)

    # -- fee periods ---------------------------------------------------------------
    async def add_fee_period(self, period: FeePeriod, now: datetime) -> FeePeriod | None:
        """Insert unless it overlaps a period of the same type: one conditional
        write, so two concurrent requests cannot both get in. None on overlap."""
        f = t.fee_periods.c
        overlapping = exists().where(
            f.municipality_code == period.municipality_code, f.type == period.type,
            f.starts_on <= period.ends_on.isoformat(), f.ends_on >= period.starts_on.isoformat())
        values = select(literal(period.municipality_code), literal(period.type),
                        literal(period.fee_yen), literal(period.starts_on.isoformat()),
                        literal(period.ends_on.isoformat()), literal(now.timestamp()))
        async with self._write() as connection:
            if not self.database.is_sqlite:
                # PostgreSQL's NOT EXISTS does not see a concurrent uncommitted insert:
                # take the table's write lock for the millisecond of this check.
                await connection.exec_driver_sql(
                    "LOCK TABLE fee_periods IN SHARE ROW EXCLUSIVE MODE")
            result = await connection.execute(
                t.fee_periods.insert().from_select(
                    ["municipality_code", "type", "fee_yen", "starts_on", "ends_on",
                     "created_at"], values.where(~overlapping))
                .returning(f.id))
            new_id = result.scalar()
        if new_id is None:
            return None
        return FeePeriod(period.municipality_code, period.type, period.fee_yen,
                         period.starts_on, period.ends_on, int(new_id))

    async def fee_periods(self, municipality_code: str) -> list[FeePeriod]:
        rows = await self._all(_FEE_PERIODS, {"code": municipality_code})
        return [FeePeriod(r["municipality_code"], r["type"], r["fee_yen"],
                          date.fromisoformat(r["starts_on"]), date.fromisoformat(r["ends_on"]),
                          r["id"]) for r in rows]

    async def delete_fee_period(self, municipality_code: str, period_id: int) -> bool:
        f = t.fee_periods.c
        result = await self._run(delete(t.fee_periods).where(
            f.municipality_code == municipality_code, f.id == period_id))
        return result.rowcount == 1

    # -- refusals ----------------------------------------------------------------
    async def record_refusal(self, code: str, reason: str, municipality_code: str | None,
                             chain: str, terminal_id: str, at: datetime) -> None:
        await self._run(t.refusals.insert().values(
            code=code, reason=reason[:100], municipality_code=municipality_code,
            chain=chain[:100], terminal_id=terminal_id[:100], at=at.timestamp()))

    async def refusal_counts(self, start: datetime, end: datetime,
                             municipality: str | None) -> list[tuple[str, str, int]]:
        r = t.refusals.c
        n = func.count().label("n")
        where = [r.at >= start.timestamp(), r.at < end.timestamp()]
        if municipality:
            where.append(r.municipality_code == municipality)
        rows = await self._all(select(r.code, r.reason, n).where(*where)
                               .group_by(r.code, r.reason)
                               .order_by(n.desc(), r.code, r.reason))
        return [(row["code"], row["reason"], int(row["n"])) for row in rows]
