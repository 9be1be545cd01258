"""The center's storage interface over SQLite or PostgreSQL (SQLAlchemy Core).

Every method is one transaction of its own, or part of the unit of work it
was given (``async with store.unit_of_work() as uow``). Correctness comes from
the database, never from a lock in one process: a challenge is consumed and an
order settled by conditional writes (``UPDATE … WHERE … RETURNING``), so two
workers (or the kiosk's result and the 10-minute void) can never both win."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    TextClause,
    bindparam,
    case,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import RowMapping

from konbini.db import Database, Repository, insert, sqlite_url
from konbini.migrations import upgrade

from ..calendar import MaintenanceWindow
from ..model import orders as order_model
from ..model.settlement import jst_date
from ..municipalities import Registration, parse_services
from . import tables as t
from .incidents import IncidentStore
from .ledger import EntryContext, LedgerStore
from .outbox import OutboxStore
from .shared_state import SharedState
from .terminals import TerminalStore

# The rate limit's bucket, refilled and taken in one statement, once per kiosk
# request. Text, not Core: SQLAlchemy 2.0 never caches a dialect's INSERT … ON
# CONFLICT, and compiling this one cost ~0.65 ms of CPU per request (issue 12).
# The SET expressions all see the row as it was before the update.
_TAKE_TOKEN = """
INSERT INTO request_budgets ("key", tokens, updated_at, allowed)
VALUES (:key, CAST(:full AS DOUBLE PRECISION), CAST(:now AS DOUBLE PRECISION), 1)
ON CONFLICT ("key") DO UPDATE SET
  tokens = {refilled} - CASE WHEN {refilled} >= 1 THEN 1 ELSE 0 END,
  allowed = CASE WHEN {refilled} >= 1 THEN 1 ELSE 0 END,
  updated_at = {greatest}(request_budgets.updated_at, CAST(:now AS DOUBLE PRECISION))
RETURNING tokens, allowed"""
_REFILLED = ("{least}(CAST(:burst AS DOUBLE PRECISION), request_budgets.tokens + {greatest}("
             "CAST(0.0 AS DOUBLE PRECISION), CAST(:now AS DOUBLE PRECISION) "
             "- request_budgets.updated_at) * CAST(:rate AS DOUBLE PRECISION))")


def _take_token_sql(least: str, greatest: str) -> TextClause:
    refilled = _REFILLED.format(least=least, greatest=greatest)
    return text(_TAKE_TOKEN.format(refilled=refilled, greatest=greatest))


_TAKE_TOKEN_SQLITE = _take_token_sql("min", "max")
_TAKE_TOKEN_POSTGRES = _take_token_sql("least", "greatest")

# The statements of an issuance's requests, built once with bind parameters and
# executed with values (issue 12): built on every call, SQLAlchemy constructed
# and coerced each one and generated its cache key anew (~15 % of the center's
# CPU with what else is in center/storage). Only statement objects are kept
# here, never a row: every request still reads the live database.
_m, _w, _s = t.municipalities, t.maintenance_windows, t.sessions
_MUNICIPALITY = select(_m).where(_m.c.code == bindparam("code"))
_CARD = select(t.jpki_certificates).where(t.jpki_certificates.c.serial == bindparam("serial"))
_USE_REGISTRATIONS = (select(t.use_registrations.c.domicile_code)
                      .where(t.use_registrations.c.serial == bindparam("serial"))
                      .order_by(t.use_registrations.c.registered_at))
# Windows not yet over: center-wide ones, a set of municipalities' ones, or both.
_CURRENT = _w.c.ends_at > bindparam("now")
_NAMED = _w.c.municipality_code.in_(bindparam("codes", expanding=True))
_MAINTENANCE = {
    (True, False): select(_w).where(_CURRENT, _w.c.municipality_code.is_(None)),
    (False, True): select(_w).where(_CURRENT, _NAMED),
    (True, True): select(_w).where(_CURRENT, or_(_w.c.municipality_code.is_(None), _NAMED)),
}
_MAINTENANCE = {k: v.order_by(_w.c.starts_at) for k, v in _MAINTENANCE.items()}
_ADD_SESSION = _s.insert()  # the values as parameters: compiled once
_SESSION = select(_s).where(_s.c.session_id == bindparam("session"))
_CONSUME_CHALLENGE = update(_s).where(
    _s.c.session_id == bindparam("session"), _s.c.challenge.is_not(None)).values(challenge=None)
_AUTHENTICATE_SESSION = update(_s).where(_s.c.session_id == bindparam("session")).values(
    authenticated_at=bindparam("now"), serial=bindparam("b_serial"),
    municipality_code=bindparam("b_municipality"), resident_code=bindparam("b_resident"),
    credential=bindparam("b_credential"), last_seen_at=bindparam("now"))
_TOUCH_SESSION = update(_s).where(_s.c.session_id == bindparam("session")).values(
    last_seen_at=bindparam("now"))
_CLOSE_SESSION = update(_s).where(_s.c.session_id == bindparam("session")).values(
    closed_at=bindparam("now"), resident_code=None, challenge=None)
_ADD_ORDER = t.orders.insert()
_ADD_CERTIFICATES = t.certificates.insert()
_ADD_PDFS = t.order_pdfs.insert()
_ORDER = select(t.orders).where(t.orders.c.order_id == bindparam("order"))
_ORDER_CERTIFICATES = (select(t.certificates)
                       .where(t.certificates.c.order_id == bindparam("order"))
                       .order_by(t.certificates.c.certificate_number))
_CERTIFICATE = select(t.certificates).where(
    t.certificates.c.certificate_id == bindparam("certificate"))
_ORDER_PDF = select(t.order_pdfs.c.pdf).where(
    t.order_pdfs.c.certificate_id == bindparam("certificate"))
_o = t.orders.c
# The conditional write that takes an issued order for its settlement (or void).
_TAKE_ORDER = (update(t.orders)
               .where(_o.order_id == bindparam("order"),
                      _o.status == order_model.OrderStatus.ISSUED.value)
               .values(status=bindparam("b_status"), charged_yen=bindparam("b_charged"),
                       refunded_yen=bindparam("b_refunded"), settled_at=bindparam("now"))
               .returning(_o.municipality_code, _o.session_id, _o.terminal_id, _o.type,
                          _o.created_at,
                          # Where the kiosk stands (its session's), for the ledger: in
                          # this statement, not a read of its own. Verbatim SQL: SQLite's
                          # compiler drops the table names in RETURNING, and a subquery
                          # needs them (the same text on both engines).
                          *(literal_column(f"(SELECT sessions.{column} FROM sessions WHERE "
                                           "sessions.session_id = orders.session_id)")
                            .label(column) for column in ("chain", "store_id"))))
# Executed with one parameter set per copy: one statement, not one per copy.
_SETTLE_CERTIFICATE = (update(t.certificates)
                       .where(t.certificates.c.certificate_id == bindparam("certificate"))
                       .values(status=bindparam("b_status"),
                               void_reason=bindparam("b_reason")))
_DELETE_ORDER_PDFS = delete(t.order_pdfs).where(t.order_pdfs.c.order_id == bindparam("order"))


def ts(value: datetime) -> float:
    """An instant as stored: epoch seconds."""
    return value.timestamp()


def dt(value: float) -> datetime:
    """A stored instant as a timezone-aware datetime (UTC)."""
    return datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True)
class CardRecord:
    serial: str
    municipality_code: str
    resident_code: str
    credential: str
    status: str
    not_after: datetime


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    terminal_id: str
    chain: str
    store_id: str
    credential: str
    challenge: bytes | None
    challenge_issued_at: datetime
    last_seen_at: datetime
    authenticated: bool
    serial: str | None
    municipality_code: str | None
    resident_code: str | None
    closed: bool
    terminal_fingerprint: str | None = None


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    session_id: str
    terminal_id: str
    municipality_code: str
    type: str
    copies: int
    fee_yen: int
    status: str
    download_until: datetime
    charged_yen: int | None
    refunded_yen: int | None
    terminal_fingerprint: str | None = None


@dataclass(frozen=True)
class TerminalRecord:
    """A kiosk terminal as the center has seen it (the operator's console)."""

    terminal_id: str
    chain: str
    store_id: str
    last_seen_at: datetime
    sessions: int
    open_sessions: int
    printed: int


@dataclass(frozen=True)
class OperationalGauges:
    """States the metrics read at each scrape (never counted in a process)."""

    open_sessions: int
    orders_awaiting_result: int
    municipalities_by_status: dict[str, int]


@dataclass(frozen=True)
class CertificateRecord:
    certificate_id: str
    order_id: str
    certificate_number: str
    type: str
    municipality_code: str
    sha256: str
    front_sha256: str
    fee_yen: int
    status: str
    issued_at: datetime


MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate_database(url: str) -> tuple[str | None, str | None]:
    """Create or upgrade the center's database to the newest revision, in place."""
    return await upgrade(url, MIGRATIONS)


COUNTABLE = {"orders": t.orders, "certificates": t.certificates, "sessions": t.sessions,
             "order_pdfs": t.order_pdfs, "jpki_certificates": t.jpki_certificates,
             "municipalities": t.municipalities,
             "maintenance_windows": t.maintenance_windows}


def _certificate(row: RowMapping) -> CertificateRecord:
    return CertificateRecord(row["certificate_id"], row["order_id"], row["certificate_number"],
                             row["type"], row["municipality_code"], row["sha256"],
                             row["front_sha256"], row["fee_yen"], row["status"],
                             dt(row["issued_at"]))


class CenterStore(Repository):
    """The center's database: municipalities, JPKI registry, sessions, orders,
    certificates, and (``ledger``) the settlement ledger."""

    def __init__(self, database: Database, connection: Any = None) -> None:
        super().__init__(database, connection)
        # The settlement ledger, contracts, fee periods and refusals, in the same
        # unit of work as this store when it has one.
        self.ledger = LedgerStore(database, connection)
        # Leases, rate budgets, Idempotency-Keys, dev settings: what every worker shares.
        self.shared = SharedState(database, connection)
        # Incidents and the voids of certificates (center/incidents.py).
        self.incidents = IncidentStore(database, connection)
        # Outcomes owed to municipal servers (center/reconciliation.py).
        self.outbox = OutboxStore(database, connection)
        # The terminal registry and chains (center/terminals.py).
        self.registry = TerminalStore(database, connection)

    @classmethod
    async def open(cls, target: str | Path, *, migrate: bool = False) -> CenterStore:
        """Open the database at ``target`` (a URL, or a SQLite file). The schema
        is made by ``python -m center migrate``; ``migrate=True`` runs that
        first (tests and tools working on a database of their own)."""
        url = sqlite_url(target) if isinstance(target, Path) else target
        if migrate:
            await migrate_database(url)
        return cls(Database.open(url))

    async def close(self) -> None:
        await self.database.close()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[CenterStore]:
        """The same interface, every read in one read transaction (issue 12: a
        transaction costs ~0.3-0.7 ms of CPU in SQLAlchemy however small, so a
        request reads what it needs in one). Inside a unit of work: that unit."""
        if self._connection is not None:
            yield self
            return
        async with self.database.read() as connection:
            yield self._bound(connection)

    async def ping(self) -> None:
        """One round trip to the database (``GET /readyz``); raises when unreachable."""
        await self._scalar(select(literal(1)))

    async def scrub_deleted_pdfs(self) -> bool:
        """After PDFs were deleted (zeroed in place by SQLite's secure_delete),
        truncate the WAL, which still holds the pages they were written in.
        PostgreSQL: ``order_pdfs`` is unlogged (c0006), and rewriting it drops
        the files its deleted PDFs were written in (konbini/db.py ``rewrite``)."""
        scrubbed = await self.database.checkpoint()
        await self.database.rewrite("order_pdfs")
        return scrubbed

    # -- municipalities ---------------------------------------------------
    async def upsert_municipality(self, registration: Registration, services: list[dict],
                                  status: str, now: datetime) -> bool:
        """Insert or update; True when the municipality is new."""
        async with self._write() as connection:
            existed = (await connection.execute(
                select(literal(1)).where(t.municipalities.c.code == registration.code))
            ).first() is not None
            statement = insert(connection, t.municipalities).values(
                code=registration.code, name=registration.name,
                prefecture=registration.prefecture, endpoint=registration.endpoint,
                services=json.dumps(services, ensure_ascii=False), status=status,
                registered_at=ts(now), updated_at=ts(now))
            await connection.execute(statement.on_conflict_do_update(
                index_elements=["code"],
                set_={c: statement.excluded[c] for c in (
                    "name", "prefecture", "endpoint", "services", "status", "updated_at")}))
        return not existed

    async def municipality(self, code: str) -> tuple[Registration, str] | None:
        row = await self._one(_MUNICIPALITY, {"code": code})
        if row is None:
            return None
        registration = Registration(row["code"], row["name"], row["prefecture"],
                                    row["endpoint"], parse_services(json.loads(row["services"])))
        return registration, row["status"]

    async def set_municipality_status(self, code: str, status: str, now: datetime) -> None:
        await self._run(update(t.municipalities).where(t.municipalities.c.code == code)
                        .values(status=status, updated_at=ts(now)))

    async def municipality_codes(self) -> list[str]:
        rows = await self._all(select(t.municipalities.c.code)
                               .order_by(t.municipalities.c.code))
        return [row["code"] for row in rows]

    async def delete_municipality(self, code: str) -> bool:
        async with self._write() as connection:
            result = await connection.execute(
                delete(t.municipalities).where(t.municipalities.c.code == code))
            await connection.execute(delete(t.maintenance_windows).where(
                t.maintenance_windows.c.municipality_code == code))
        return result.rowcount > 0

    async def add_maintenance(self, municipality_code: str | None,
                              window: MaintenanceWindow) -> int:
        async with self._write() as connection:
            result = await connection.execute(
                t.maintenance_windows.insert().values(
                    municipality_code=municipality_code, starts_at=ts(window.starts_at),
                    ends_at=ts(window.ends_at), reason=window.reason)
                .returning(t.maintenance_windows.c.id))
            return int(result.scalar_one())

    async def maintenance(self, municipality_code: str | None,
                          now: datetime) -> list[MaintenanceWindow]:
        """Windows not yet over: the municipality's, or center-wide ones for None."""
        return (await self.maintenance_of([municipality_code], now))[municipality_code]

    async def maintenance_of(self, codes: Iterable[str | None], now: datetime,
                             ) -> dict[str | None, list[MaintenanceWindow]]:
        """Windows not yet over for each of ``codes`` (None: center-wide), in one
        statement: what :meth:`maintenance` gives for each."""
        wanted = list(dict.fromkeys(codes))
        named = [code for code in wanted if code is not None]
        found: dict[str | None, list[MaintenanceWindow]] = {code: [] for code in wanted}
        if not wanted:
            return found
        params: dict[str, Any] = {"now": ts(now)}
        if named:
            params["codes"] = named
        rows = await self._all(_MAINTENANCE[None in wanted, bool(named)], params)
        for r in rows:
            found[r["municipality_code"]].append(
                MaintenanceWindow(dt(r["starts_at"]), dt(r["ends_at"]), r["reason"]))
        return found

    # -- JPKI registry ----------------------------------------------------
    async def add_card(self, serial: str, municipality_code: str, resident_code: str,
                       credential: str, not_before: datetime, not_after: datetime,
                       now: datetime) -> None:
        await self._run(t.jpki_certificates.insert().values(
            serial=serial, municipality_code=municipality_code, resident_code=resident_code,
            credential=credential, status="valid", reason="", not_before=ts(not_before),
            not_after=ts(not_after), issued_at=ts(now), updated_at=ts(now)))

    async def card(self, serial: str) -> CardRecord | None:
        row = await self._one(_CARD, {"serial": serial})
        if row is None:
            return None
        return CardRecord(row["serial"], row["municipality_code"], row["resident_code"],
                          row["credential"], row["status"], dt(row["not_after"]))

    async def set_card_status(self, serial: str, status: str, reason: str,
                              now: datetime) -> None:
        await self._run(update(t.jpki_certificates)
                        .where(t.jpki_certificates.c.serial == serial)
                        .values(status=status, reason=reason, updated_at=ts(now)))

    async def resident_cards(self, municipality_code: str, resident_code: str) -> list[str]:
        """Serials of every certificate issued to one resident, in issue order."""
        c = t.jpki_certificates.c
        rows = await self._all(select(c.serial).where(
            c.municipality_code == municipality_code, c.resident_code == resident_code)
            .order_by(c.issued_at))
        return [row["serial"] for row in rows]

    # -- use registrations (本籍地の利用登録): card → the municipality of its 本籍 ---
    async def add_use_registration(self, serial: str, domicile_code: str,
                                   now: datetime) -> None:
        async with self._write() as connection:
            await connection.execute(insert(connection, t.use_registrations).values(
                serial=serial, domicile_code=domicile_code, registered_at=ts(now))
                .on_conflict_do_nothing())

    async def use_registrations(self, serial: str) -> list[str]:
        """The domicile municipalities this card is registered with."""
        rows = await self._all(_USE_REGISTRATIONS, {"serial": serial})
        return [row["domicile_code"] for row in rows]

    # -- sessions -----------------------------------------------------------
    async def create_session(self, session_id: str, terminal_id: str, chain: str,
                             store_id: str, credential: str, challenge: bytes,
                             now: datetime, terminal_fingerprint: str | None = None) -> None:
        await self._run(_ADD_SESSION, dict(
            session_id=session_id, terminal_id=terminal_id, chain=chain, store_id=store_id,
            credential=credential, challenge=challenge, challenge_issued_at=ts(now),
            created_at=ts(now), last_seen_at=ts(now),
            terminal_fingerprint=terminal_fingerprint))

    async def session(self, session_id: str) -> SessionRecord | None:
        row = await self._one(_SESSION, {"session": session_id})
        if row is None:
            return None
        return SessionRecord(
            row["session_id"], row["terminal_id"], row["chain"], row["store_id"],
            row["credential"], None if row["challenge"] is None else bytes(row["challenge"]),
            dt(row["challenge_issued_at"]), dt(row["last_seen_at"]),
            row["authenticated_at"] is not None, row["serial"], row["municipality_code"],
            row["resident_code"], row["closed_at"] is not None, row["terminal_fingerprint"])

    async def consume_challenge(self, session_id: str) -> bool:
        """Atomically take the session's challenge; False if it was already used
        (by this worker or another)."""
        result = await self._run(_CONSUME_CHALLENGE, {"session": session_id})
        return result.rowcount == 1

    async def authenticate_session(self, session_id: str, serial: str, municipality_code: str,
                                   resident_code: str, credential: str, now: datetime) -> None:
        await self._run(_AUTHENTICATE_SESSION, {
            "session": session_id, "now": ts(now), "b_serial": serial,
            "b_municipality": municipality_code, "b_resident": resident_code,
            "b_credential": credential})

    async def touch_session(self, session_id: str, now: datetime) -> None:
        await self._run(_TOUCH_SESSION, {"session": session_id, "now": ts(now)})

    async def close_session(self, session_id: str, now: datetime) -> None:
        """The card was removed: forget whose session it was."""
        await self._run(_CLOSE_SESSION, {"session": session_id, "now": ts(now)})

    async def close_idle_sessions(self, idle_before: datetime, now: datetime) -> int:
        c = t.sessions.c
        result = await self._run(update(t.sessions).where(
            c.closed_at.is_(None), c.last_seen_at < ts(idle_before))
            .values(closed_at=ts(now), resident_code=None, challenge=None))
        return result.rowcount

    # -- orders -------------------------------------------------------------
    async def create_order(self, order: OrderRecord, request_id: str, now: datetime,
                           certificates: Iterable[tuple[CertificateRecord, bytes]]) -> None:
        """Record an issued order with its certificates and their PDFs, in one
        transaction (or in the unit of work: with the order's intent dropped
        from the outbox, center/kiosk_api.py)."""
        certificates = list(certificates)
        async with self._write() as connection:
            await connection.execute(_ADD_ORDER, dict(
                order_id=order.order_id, session_id=order.session_id,
                terminal_id=order.terminal_id, request_id=request_id,
                municipality_code=order.municipality_code, type=order.type,
                copies=order.copies, fee_yen=order.fee_yen, status=order.status,
                created_at=ts(now), download_until=ts(order.download_until),
                terminal_fingerprint=order.terminal_fingerprint))
            if not certificates:
                return
            await connection.execute(_ADD_CERTIFICATES, [
                {"certificate_id": c.certificate_id, "order_id": c.order_id,
                 "certificate_number": c.certificate_number, "type": c.type,
                 "municipality_code": c.municipality_code, "sha256": c.sha256,
                 "front_sha256": c.front_sha256, "fee_yen": c.fee_yen, "status": c.status,
                 "void_reason": None, "issued_at": ts(c.issued_at)}
                for c, _ in certificates])
            await connection.execute(_ADD_PDFS, [
                {"certificate_id": c.certificate_id, "order_id": c.order_id, "pdf": pdf,
                 "expires_at": ts(order.download_until)} for c, pdf in certificates])

    async def order(self, order_id: str) -> OrderRecord | None:
        row = await self._one(_ORDER, {"order": order_id})
        if row is None:
            return None
        return OrderRecord(row["order_id"], row["session_id"], row["terminal_id"],
                           row["municipality_code"], row["type"], row["copies"], row["fee_yen"],
                           row["status"], dt(row["download_until"]), row["charged_yen"],
                           row["refunded_yen"], row["terminal_fingerprint"])

    async def order_certificates(self, order_id: str) -> list[CertificateRecord]:
        rows = await self._all(_ORDER_CERTIFICATES, {"order": order_id})
        return [_certificate(row) for row in rows]

    async def certificate(self, certificate_id: str) -> CertificateRecord | None:
        found = await self.certificate_with_void_reason(certificate_id)
        return None if found is None else found[0]

    async def certificate_with_void_reason(
            self, certificate_id: str) -> tuple[CertificateRecord, str | None] | None:
        """The certificate and, if void, why (the inquiry site's record check)."""
        row = await self._one(_CERTIFICATE, {"certificate": certificate_id})
        return None if row is None else (_certificate(row), row["void_reason"])

    async def order_pdf(self, certificate_id: str) -> bytes | None:
        row = await self._one(_ORDER_PDF, {"certificate": certificate_id})
        return None if row is None else bytes(row["pdf"])

    async def settle_order(self, order_id: str, printed: set[str],
                           failed: dict[str, str], now: datetime,
                           certificates: list[CertificateRecord] | None = None,
                           ) -> tuple[int, int] | None:
        """Record the print result once: charge the printed copies, void and
        refund the rest. None if the order was already settled or voided.
        ``certificates``: the order's, when the caller read them in this unit of
        work already (they change only with the settlement this takes)."""
        # The WAL keeps the deleted PDF's pages until the upkeep's checkpoint
        # (scrub_deleted_pdfs, once a round: one per settlement cost 10-12 ms).
        return await self._settle(order_id, printed, failed, now, certificates=certificates)

    async def _settle(self, order_id: str, printed: set[str], failed: dict[str, str],
                      now: datetime, final_status: str = "settled",
                      certificates: list[CertificateRecord] | None = None,
                      ) -> tuple[int, int] | None:
        """Settle with a conditional write: ``UPDATE … WHERE status = 'issued'
        RETURNING`` takes the order, so a kiosk's result and the 10-minute void
        (in this worker or another) can never both settle it; the loser gets None.
        The order, its certificates, the ledger entries and the deletion of the
        PDFs commit together."""
        async with self.unit_of_work() as uow:
            connection = uow._connection
            if certificates is None or uow is not self:
                certificates = await uow.order_certificates(order_id)
            copies = [order_model.Copy(c.certificate_id, c.fee_yen) for c in certificates]
            settlement = (order_model.void(copies)
                          if final_status == order_model.OrderStatus.VOIDED
                          else order_model.settle(copies, printed, failed))
            taken = (await connection.execute(_TAKE_ORDER, {
                "order": order_id, "b_status": settlement.status.value,
                "b_charged": settlement.charged_yen, "b_refunded": settlement.refunded_yen,
                "now": ts(now)})).mappings().first()
            if taken is None:
                return None  # settled or voided already: nothing written
            if settlement.copies:
                await connection.execute(_SETTLE_CERTIFICATE, [
                    {"certificate": copy.certificate_id, "b_status": copy.status.value,
                     "b_reason": copy.void_reason} for copy in settlement.copies])
            contract = await uow.ledger.contract_for(taken["municipality_code"],
                                                     jst_date(dt(taken["created_at"])))
            await uow.ledger.book(EntryContext(
                order_id, taken["municipality_code"], taken["chain"] or "",
                taken["store_id"] or "", taken["terminal_id"], taken["type"],
                taken["created_at"]), settlement.copies, contract, ts(now))
            await connection.execute(_DELETE_ORDER_PDFS, {"order": order_id})
        return settlement.charged_yen, settlement.refunded_yen

    async def expire_orders(
            self, now: datetime,
            then: Callable[[CenterStore, str, datetime], Awaitable[None]] | None = None,
    ) -> list[str]:
        """Void and refund orders whose result never came within the window; each
        in its own transaction, each a conditional write (another worker may be
        settling the same order this instant). ``then(uow, order_id, now)`` writes
        what follows a void (its incident, the outcome owed) in the void's own
        transaction, so a lost connection cannot keep one without the other."""
        o = t.orders.c
        rows = await self._all(select(o.order_id).where(
            o.status == order_model.OrderStatus.ISSUED.value, o.download_until <= ts(now)))
        voided = []
        for row in rows:
            async with self.unit_of_work() as uow:
                if await uow._settle(row["order_id"], set(), {}, now,
                                     final_status=order_model.OrderStatus.VOIDED) is None:
                    continue
                if then is not None:
                    await then(uow, row["order_id"], now)
            voided.append(row["order_id"])
        await self._run(delete(t.order_pdfs).where(t.order_pdfs.c.expires_at <= ts(now)))
        return voided

    # -- request budgets (center/rate_limit.py) ------------------------------
    async def take_token(self, key: str, per_second: float, burst: float, now: float) -> float:
        """Refill ``key``'s bucket for the time passed and take one token, in one
        statement (atomic across processes): 0.0 if taken, else seconds to wait."""
        async with self._write() as connection:
            row = (await connection.execute(
                _TAKE_TOKEN_SQLITE if self.database.is_sqlite else _TAKE_TOKEN_POSTGRES,
                {"key": key, "full": burst - 1, "burst": burst, "now": now,
                 "rate": per_second})).mappings().one()
        return 0.0 if row["allowed"] else (1.0 - float(row["tokens"])) / per_second

    async def forget_idle_budgets(self, idle_before: float) -> None:
        """Drop buckets untouched since ``idle_before`` (they would be full again)."""
        await self._run(delete(t.request_budgets)
                        .where(t.request_budgets.c.updated_at < idle_before))

    async def count(self, table: str) -> int:
        if table not in COUNTABLE:
            raise ValueError(table)
        return int(await self._scalar(select(func.count()).select_from(COUNTABLE[table])) or 0)

    async def operational_gauges(self, idle_after: datetime) -> OperationalGauges:
        """Open sessions seen since ``idle_after``, orders awaiting their print
        result, municipalities by status."""
        s, o, m = t.sessions.c, t.orders.c, t.municipalities.c
        async with self._read() as connection:
            sessions = (await connection.execute(select(func.count()).where(
                s.closed_at.is_(None), s.last_seen_at >= ts(idle_after)))).scalar()
            awaiting = (await connection.execute(select(func.count()).where(
                o.status == order_model.OrderStatus.ISSUED.value))).scalar()
            by_status = {r.status: int(r.n) for r in await connection.execute(
                select(m.status, func.count().label("n")).group_by(m.status))}
        return OperationalGauges(int(sessions or 0), int(awaiting or 0), by_status)

    async def terminals(self, limit: int = 200) -> list[TerminalRecord]:
        """Terminals from their sessions and the ledger's charged copies, by id."""
        s, e = t.sessions.c, t.ledger_entries.c
        seen = union_all(
            select(s.terminal_id, s.chain, s.store_id, s.last_seen_at.label("seen"),
                   literal(1).label("sessions"),
                   case((s.closed_at.is_(None), 1), else_=0).label("open"),
                   literal(0).label("printed")),
            select(e.terminal_id, e.chain, e.store_id, e.issued_at, literal(0), literal(0),
                   literal(1)).where(e.kind == "charge")).subquery()
        rows = await self._all(
            select(seen.c.terminal_id, func.max(seen.c.chain).label("chain"),
                   func.max(seen.c.store_id).label("store_id"),
                   func.max(seen.c.seen).label("seen"),
                   func.sum(seen.c.sessions).label("sessions"),
                   func.sum(seen.c.open).label("open"),
                   func.sum(seen.c.printed).label("printed"))
            .group_by(seen.c.terminal_id).order_by(seen.c.terminal_id).limit(limit))
        return [TerminalRecord(r["terminal_id"], r["chain"] or "", r["store_id"] or "",
                               dt(r["seen"]), int(r["sessions"]), int(r["open"]),
                               int(r["printed"])) for r in rows]


__all__ = ["CardRecord", "CenterStore", "CertificateRecord", "EntryContext", "OperationalGauges",
           "OrderRecord", "SessionRecord", "TerminalRecord", "dt", "ts"]
