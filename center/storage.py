"""The center's database: identifiers, types, times, amounts and digests.

Never names, addresses or personal data; PDFs only for the 10 minutes an
order may be downloaded. Times are stored as epoch seconds (REAL)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from konbini.sqlite import Database, open_database, truncate_wal

from .calendar import MaintenanceWindow
from .ledger_store import LEDGER_SCHEMA, EntryContext, LedgerStore
from .model import orders as order_model
from .model.settlement import jst_date
from .municipalities import Registration, parse_services
from .shared_state import SHARED_SCHEMA, SharedState

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS municipalities (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, prefecture TEXT NOT NULL,
    endpoint TEXT NOT NULL, services TEXT NOT NULL, status TEXT NOT NULL,
    registered_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS maintenance_windows (
    id INTEGER PRIMARY KEY, municipality_code TEXT, starts_at REAL NOT NULL,
    ends_at REAL NOT NULL, reason TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS jpki_certificates (
    serial TEXT PRIMARY KEY, municipality_code TEXT NOT NULL, resident_code TEXT NOT NULL,
    credential TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    not_before REAL NOT NULL, not_after REAL NOT NULL, issued_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS jpki_resident ON jpki_certificates(municipality_code, resident_code);
CREATE TABLE IF NOT EXISTS use_registrations (
    serial TEXT NOT NULL, domicile_code TEXT NOT NULL, registered_at REAL NOT NULL,
    PRIMARY KEY (serial, domicile_code));
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL, chain TEXT NOT NULL,
    store_id TEXT NOT NULL, credential TEXT NOT NULL, challenge BLOB,
    challenge_issued_at REAL NOT NULL, created_at REAL NOT NULL, last_seen_at REAL NOT NULL,
    authenticated_at REAL, serial TEXT, municipality_code TEXT, resident_code TEXT,
    closed_at REAL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, terminal_id TEXT NOT NULL,
    request_id TEXT NOT NULL, municipality_code TEXT NOT NULL, type TEXT NOT NULL,
    copies INTEGER NOT NULL, fee_yen INTEGER NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, download_until REAL NOT NULL,
    charged_yen INTEGER, refunded_yen INTEGER, settled_at REAL);
CREATE TABLE IF NOT EXISTS certificates (
    certificate_id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(order_id),
    certificate_number TEXT NOT NULL, type TEXT NOT NULL, municipality_code TEXT NOT NULL,
    sha256 TEXT NOT NULL, front_sha256 TEXT NOT NULL, fee_yen INTEGER NOT NULL,
    status TEXT NOT NULL, void_reason TEXT, issued_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS certificates_order ON certificates(order_id);
CREATE TABLE IF NOT EXISTS order_pdfs (
    certificate_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, pdf BLOB NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS request_budgets (
    key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at REAL NOT NULL,
    allowed INTEGER NOT NULL);
-- Incidents (issue 14): identifiers and codes only, never personal data.
CREATE TABLE IF NOT EXISTS incidents (
    incident_id TEXT PRIMARY KEY, kind TEXT NOT NULL, municipality_code TEXT NOT NULL,
    status TEXT NOT NULL, order_id TEXT, certificate_id TEXT, request_id TEXT,
    terminal_id TEXT, detail_code TEXT, note TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL, acknowledged_at REAL, resolved_at REAL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_municipality ON incidents(municipality_code, created_at);
-- Outcomes owed to municipal servers (交付履歴の照合), kept until acknowledged.
CREATE TABLE IF NOT EXISTS outcome_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL,
    municipality_code TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
    created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL, delivered_at REAL, result INTEGER);
CREATE INDEX IF NOT EXISTS outcome_outbox_request ON outcome_outbox(request_id);
CREATE INDEX IF NOT EXISTS outcome_outbox_due ON outcome_outbox(delivered_at, next_attempt_at);
-- Terminal registry: a kiosk is known by its certificate's fingerprint, not its CN.
CREATE TABLE IF NOT EXISTS terminals (
    fingerprint TEXT PRIMARY KEY, terminal_id TEXT NOT NULL, chain TEXT NOT NULL,
    store_id TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', hours TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', enrolled_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chains (
    chain TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', smartphone INTEGER NOT NULL,
    updated_at REAL NOT NULL);
""" + LEDGER_SCHEMA + SHARED_SCHEMA


# Columns added after the first release: an existing center.db (a demo's var/)
# gains them on open. The terminal's certificate fingerprint (center/terminals.py).
COLUMNS_ADDED: tuple[tuple[str, str, str], ...] = (
    ("sessions", "terminal_fingerprint", "TEXT"),
    ("orders", "terminal_fingerprint", "TEXT"),
)


def ts(value: datetime) -> float:
    return value.timestamp()


def dt(value: float) -> datetime:
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


class CenterStore:
    """A small interface over the center's SQLite database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # One connection is shared by every coroutine; a write (one statement
        # or several) holds the lock so another's commit can never land in
        # the middle of it.
        self._write_lock = asyncio.Lock()
        # The settlement ledger, contracts, fee periods and refusals (center/ledger_store.py).
        self.ledger = LedgerStore(db, self._write_lock)
        # Leases, rate budgets, Idempotency-Keys, dev settings: what every worker shares.
        self.shared = SharedState(db, self._write_lock)

    @classmethod
    async def open(cls, path: Path, *, create: bool = True) -> CenterStore:
        """``create``: apply the schema and add the columns added since
        (``python -m center migrate``); a worker of ``serve --workers N`` only
        opens what the migration made."""
        if not create:
            return cls(await open_database(path))
        db = await open_database(path, SCHEMA)
        for table, column, kind in COLUMNS_ADDED:
            async with db.execute(f"PRAGMA table_info({table})") as cur:
                present = {row["name"] for row in await cur.fetchall()}
            if column not in present:
                await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        await db.commit()
        return cls(db)

    async def ping(self) -> None:
        """One round trip to the database (``GET /readyz``)."""
        async with self._db.execute("SELECT 1") as cur:
            await cur.fetchone()

    async def scrub_deleted_pdfs(self) -> bool:
        """After PDFs were deleted (zeroed in place by secure_delete), truncate
        the WAL, which still holds the pages they were written in. The upkeep
        does it once a round rather than each settlement: a TRUNCATE
        checkpoint per order cost 10-12 ms more (benchmarks/pdf_retention.py)
        and waits for the other workers' readers."""
        async with self._write_lock:
            return await truncate_wal(self._db)

    async def close(self) -> None:
        await self._db.close()

    # -- for domain modules that keep their own tables (incidents, terminals) --
    @contextlib.asynccontextmanager
    async def writing(self, *, durable: bool = True) -> AsyncIterator[Database]:
        """One write transaction under the store's lock: committed on exit,
        rolled back on any error. ``durable=False``: the commit does not wait
        for the disk (konbini/sqlite.py), for bookkeeping whose loss to a power
        cut only repeats an idempotent step."""
        async with self._write_lock, self._db.relaxed(not durable):
            try:
                yield self._db
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._db.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    # -- municipalities ---------------------------------------------------
    async def upsert_municipality(self, registration: Registration, services: list[dict],
                                  status: str, now: datetime) -> bool:
        """Insert or update; True when the municipality is new."""
        async with self._write_lock:
            async with self._db.execute(
                    "SELECT 1 FROM municipalities WHERE code = ?", (registration.code,)) as cur:
                existed = await cur.fetchone() is not None
            await self._db.execute(
                """INSERT INTO municipalities VALUES (?,?,?,?,?,?,?,?)
                   ON CONFLICT(code) DO UPDATE SET name=excluded.name,
                   prefecture=excluded.prefecture, endpoint=excluded.endpoint,
                   services=excluded.services, status=excluded.status,
                   updated_at=excluded.updated_at""",
                (registration.code, registration.name, registration.prefecture,
                 registration.endpoint, json.dumps(services, ensure_ascii=False), status,
                 ts(now), ts(now)))
            await self._db.commit()
            return not existed

    async def municipality(self, code: str) -> tuple[Registration, str] | None:
        async with self._db.execute(
                "SELECT * FROM municipalities WHERE code = ?", (code,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        services = json.loads(row["services"])
        registration = Registration(row["code"], row["name"], row["prefecture"],
                                    row["endpoint"], parse_services(services))
        return registration, row["status"]

    async def set_municipality_status(self, code: str, status: str, now: datetime) -> None:
        async with self._write_lock:
            await self._db.execute("UPDATE municipalities SET status=?, updated_at=? WHERE code=?",
                                   (status, ts(now), code))
            await self._db.commit()

    async def municipality_codes(self) -> list[str]:
        async with self._db.execute("SELECT code FROM municipalities ORDER BY code") as cur:
            return [row["code"] for row in await cur.fetchall()]

    async def delete_municipality(self, code: str) -> bool:
        async with self._write_lock:
            cur = await self._db.execute("DELETE FROM municipalities WHERE code=?", (code,))
            await self._db.execute("DELETE FROM maintenance_windows WHERE municipality_code=?",
                                   (code,))
            await self._db.commit()
            return cur.rowcount > 0

    async def add_maintenance(self, municipality_code: str | None,
                              window: MaintenanceWindow) -> int:
        async with self._write_lock:
            cur = await self._db.execute(
                "INSERT INTO maintenance_windows (municipality_code, starts_at, ends_at, reason) "
                "VALUES (?,?,?,?)",
                (municipality_code, ts(window.starts_at), ts(window.ends_at), window.reason))
            await self._db.commit()
            return int(cur.lastrowid or 0)

    async def maintenance(self, municipality_code: str | None,
                          now: datetime) -> list[MaintenanceWindow]:
        """Windows not yet over: the municipality's, or center-wide ones for None."""
        query = ("SELECT * FROM maintenance_windows WHERE ends_at > ? AND "
                 + ("municipality_code IS NULL" if municipality_code is None
                    else "municipality_code = ?") + " ORDER BY starts_at")
        params: tuple[Any, ...] = (ts(now),) if municipality_code is None else (
            ts(now), municipality_code)
        async with self._db.execute(query, params) as cur:
            rows = await cur.fetchall()
        return [MaintenanceWindow(dt(r["starts_at"]), dt(r["ends_at"]), r["reason"])
                for r in rows]

    # -- JPKI registry ----------------------------------------------------
    async def add_card(self, serial: str, municipality_code: str, resident_code: str,
                       credential: str, not_before: datetime, not_after: datetime,
                       now: datetime) -> None:
        async with self._write_lock:
            await self._db.execute(
                "INSERT INTO jpki_certificates VALUES (?,?,?,?,?,?,?,?,?,?)",
                (serial, municipality_code, resident_code, credential, "valid", "",
                 ts(not_before), ts(not_after), ts(now), ts(now)))
            await self._db.commit()

    async def card(self, serial: str) -> CardRecord | None:
        async with self._db.execute(
                "SELECT * FROM jpki_certificates WHERE serial = ?", (serial,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return CardRecord(row["serial"], row["municipality_code"], row["resident_code"],
                          row["credential"], row["status"], dt(row["not_after"]))

    async def set_card_status(self, serial: str, status: str, reason: str,
                              now: datetime) -> None:
        async with self._write_lock:
            await self._db.execute(
                "UPDATE jpki_certificates SET status=?, reason=?, updated_at=? WHERE serial=?",
                (status, reason, ts(now), serial))
            await self._db.commit()

    async def resident_cards(self, municipality_code: str, resident_code: str) -> list[str]:
        """Serials of every certificate issued to one resident, in issue order."""
        async with self._db.execute(
                "SELECT serial FROM jpki_certificates WHERE municipality_code = ? AND "
                "resident_code = ? ORDER BY issued_at", (municipality_code, resident_code)) as cur:
            return [row["serial"] for row in await cur.fetchall()]

    # -- use registrations (本籍地の利用登録): card → the municipality of its 本籍 ---
    async def add_use_registration(self, serial: str, domicile_code: str,
                                   now: datetime) -> None:
        async with self._write_lock:
            await self._db.execute("INSERT OR IGNORE INTO use_registrations VALUES (?,?,?)",
                                   (serial, domicile_code, ts(now)))
            await self._db.commit()

    async def use_registrations(self, serial: str) -> list[str]:
        """The domicile municipalities this card is registered with."""
        async with self._db.execute(
                "SELECT domicile_code FROM use_registrations WHERE serial = ? "
                "ORDER BY registered_at", (serial,)) as cur:
            return [row["domicile_code"] for row in await cur.fetchall()]

    # -- sessions -----------------------------------------------------------
    async def create_session(self, session_id: str, terminal_id: str, chain: str,
                             store_id: str, credential: str, challenge: bytes,
                             now: datetime, terminal_fingerprint: str | None = None) -> None:
        async with self._write_lock:
            # A session's steps need not survive a power cut: the kiosk starts over.
            await self._db.write(
                "INSERT INTO sessions (session_id, terminal_id, chain, store_id, credential, "
                "challenge, challenge_issued_at, created_at, last_seen_at, "
                "terminal_fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (session_id, terminal_id, chain, store_id, credential, challenge, ts(now), ts(now),
                 ts(now), terminal_fingerprint), durable=False)

    async def session(self, session_id: str) -> SessionRecord | None:
        async with self._db.execute(
                "SELECT * FROM sessions WHERE session_id = ?", (session_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return SessionRecord(
            row["session_id"], row["terminal_id"], row["chain"], row["store_id"],
            row["credential"], row["challenge"], dt(row["challenge_issued_at"]),
            dt(row["last_seen_at"]), row["authenticated_at"] is not None, row["serial"],
            row["municipality_code"], row["resident_code"], row["closed_at"] is not None,
            row["terminal_fingerprint"])

    async def consume_challenge(self, session_id: str) -> bool:
        """Atomically take the session's challenge; False if it was already used."""
        async with self._write_lock:
            return await self._db.write(
                "UPDATE sessions SET challenge = NULL "
                "WHERE session_id = ? AND challenge IS NOT NULL",
                (session_id,), durable=False) == 1

    async def authenticate_session(self, session_id: str, serial: str, municipality_code: str,
                                   resident_code: str, credential: str, now: datetime) -> None:
        async with self._write_lock:
            await self._db.write(
                "UPDATE sessions SET authenticated_at=?, serial=?, municipality_code=?, "
                "resident_code=?, credential=?, last_seen_at=? WHERE session_id=?",
                (ts(now), serial, municipality_code, resident_code, credential, ts(now),
                 session_id), durable=False)

    async def touch_session(self, session_id: str, now: datetime) -> None:
        async with self._write_lock:
            await self._db.write("UPDATE sessions SET last_seen_at=? WHERE session_id=?",
                                 (ts(now), session_id), durable=False)

    async def close_session(self, session_id: str, now: datetime) -> None:
        """The card was removed: forget whose session it was."""
        async with self._write_lock:
            # Lost to a power cut at worst: the upkeep closes idle sessions alike.
            await self._db.write(
                "UPDATE sessions SET closed_at=?, resident_code=NULL, challenge=NULL "
                "WHERE session_id=?", (ts(now), session_id), durable=False)

    async def close_idle_sessions(self, idle_before: datetime, now: datetime) -> int:
        async with self._write_lock:
            cur = await self._db.execute(
                "UPDATE sessions SET closed_at=?, resident_code=NULL, challenge=NULL "
                "WHERE closed_at IS NULL AND last_seen_at < ?", (ts(now), ts(idle_before)))
            await self._db.commit()
            return cur.rowcount

        # -- orders -------------------------------------------------------------
    async def create_order(self, order: OrderRecord, request_id: str, now: datetime,
                           certificates: Iterable[tuple[CertificateRecord, bytes]],
                           also: Iterable[tuple[str, tuple[Any, ...]]] = ()) -> None:
        """Record an issued order with its certificates and their PDFs, in one
        transaction; ``also``: statements of other modules that belong to the
        same use case (the order's intent dropped from the outbox)."""
        async with self._write_lock:
            await self._db.execute(
                "INSERT INTO orders (order_id, session_id, terminal_id, request_id, "
                "municipality_code, type, copies, fee_yen, status, created_at, download_until, "
                "terminal_fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (order.order_id, order.session_id, order.terminal_id, request_id,
                 order.municipality_code, order.type, order.copies, order.fee_yen, order.status,
                 ts(now), ts(order.download_until), order.terminal_fingerprint))
            for cert, pdf in certificates:
                await self._db.execute(
                    "INSERT INTO certificates VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (cert.certificate_id, cert.order_id, cert.certificate_number, cert.type,
                     cert.municipality_code, cert.sha256, cert.front_sha256, cert.fee_yen,
                     cert.status, None, ts(cert.issued_at)))
                await self._db.execute("INSERT INTO order_pdfs VALUES (?,?,?,?)",
                                       (cert.certificate_id, cert.order_id, pdf,
                                        ts(order.download_until)))
            for sql, params in also:
                await self._db.execute(sql, params)
            await self._db.commit()

    async def order(self, order_id: str) -> OrderRecord | None:
        async with self._db.execute("SELECT * FROM orders WHERE order_id = ?",
                                    (order_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return OrderRecord(row["order_id"], row["session_id"], row["terminal_id"],
                           row["municipality_code"], row["type"], row["copies"], row["fee_yen"],
                           row["status"], dt(row["download_until"]), row["charged_yen"],
                           row["refunded_yen"], row["terminal_fingerprint"])

    async def order_certificates(self, order_id: str) -> list[CertificateRecord]:
        async with self._db.execute(
                "SELECT * FROM certificates WHERE order_id = ? ORDER BY certificate_number",
                (order_id,)) as cur:
            rows = await cur.fetchall()
        return [self._certificate(row) for row in rows]

    async def certificate(self, certificate_id: str) -> CertificateRecord | None:
        async with self._db.execute("SELECT * FROM certificates WHERE certificate_id = ?",
                                    (certificate_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else self._certificate(row)

    @staticmethod
    def _certificate(row: sqlite3.Row) -> CertificateRecord:
        return CertificateRecord(row["certificate_id"], row["order_id"],
                                 row["certificate_number"], row["type"],
                                 row["municipality_code"], row["sha256"], row["front_sha256"],
                                 row["fee_yen"], row["status"], dt(row["issued_at"]))

    async def certificate_with_void_reason(
            self, certificate_id: str) -> tuple[CertificateRecord, str | None] | None:
        """The certificate and, if void, why (the inquiry site's record check)."""
        async with self._db.execute("SELECT * FROM certificates WHERE certificate_id = ?",
                                    (certificate_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else (self._certificate(row), row["void_reason"])

    async def order_pdf(self, certificate_id: str) -> bytes | None:
        async with self._db.execute("SELECT pdf FROM order_pdfs WHERE certificate_id = ?",
                                    (certificate_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else bytes(row["pdf"])

    async def settle_order(self, order_id: str, printed: set[str],
                           failed: dict[str, str], now: datetime) -> tuple[int, int] | None:
        """Record the print result once: charge the printed copies, void and
        refund the rest. None if the order was already settled or voided."""
        async with self._write_lock:
            return await self._settle(order_id, printed, failed, now)

    async def _settle(self, order_id: str, printed: set[str], failed: dict[str, str],
                      now: datetime, final_status: str = "settled") -> tuple[int, int] | None:
        """Settle with a conditional write: ``UPDATE … WHERE status = 'issued'``
        takes the order, so a kiosk's result and the 10-minute void (in this
        process or another) can never both settle it; the loser gets None."""
        try:
            async with self._db.execute(
                    "SELECT o.*, s.chain, s.store_id FROM orders o LEFT JOIN sessions s "
                    "ON s.session_id = o.session_id WHERE o.order_id = ?", (order_id,)) as cur:
                row = await cur.fetchone()
            if row is None or row["status"] != order_model.OrderStatus.ISSUED:
                await self._db.rollback()
                return None
            copies = [order_model.Copy(c.certificate_id, c.fee_yen)
                      for c in await self.order_certificates(order_id)]
            settlement = (order_model.void(copies)
                          if final_status == order_model.OrderStatus.VOIDED
                          else order_model.settle(copies, printed, failed))
            cur = await self._db.execute(
                "UPDATE orders SET status=?, charged_yen=?, refunded_yen=?, settled_at=? "
                "WHERE order_id=? AND status=?",
                (settlement.status.value, settlement.charged_yen, settlement.refunded_yen,
                 ts(now), order_id, order_model.OrderStatus.ISSUED.value))
            if cur.rowcount != 1:
                await self._db.rollback()
                return None
            for copy in settlement.copies:
                await self._db.execute(
                    "UPDATE certificates SET status=?, void_reason=? WHERE certificate_id=?",
                    (copy.status.value, copy.void_reason, copy.certificate_id))
            contract = await self.ledger.contract_for(row["municipality_code"],
                                                      jst_date(dt(row["created_at"])))
            await self.ledger.book(EntryContext(
                order_id, row["municipality_code"], row["chain"] or "", row["store_id"] or "",
                row["terminal_id"], row["type"], row["created_at"]),
                settlement.copies, contract, ts(now))
            await self._db.execute("DELETE FROM order_pdfs WHERE order_id = ?", (order_id,))
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        return settlement.charged_yen, settlement.refunded_yen

    async def expire_orders(self, now: datetime) -> list[str]:
        """Void and refund orders whose result never came within the window."""
        async with self._db.execute(
                "SELECT order_id FROM orders WHERE status='issued' AND download_until <= ?",
                (ts(now),)) as cur:
            expired = [row["order_id"] for row in await cur.fetchall()]
        async with self._write_lock:
            for order_id in expired:
                await self._settle(order_id, set(), {}, now,
                                   final_status=order_model.OrderStatus.VOIDED)
            await self._db.execute("DELETE FROM order_pdfs WHERE expires_at <= ?", (ts(now),))
            await self._db.commit()
        return expired

    # -- request budgets (center/rate_limit.py) ------------------------------
    async def take_token(self, key: str, per_second: float, burst: float, now: float) -> float:
        """Refill ``key``'s bucket for the time passed and take one token, in one
        statement (atomic across processes): 0.0 if taken, else seconds to wait."""
        refilled = "MIN(:burst, tokens + MAX(0.0, :now - updated_at) * :rate)"
        async with self._write_lock:
            # Every kiosk request takes a token: one hand-off, and no fsync (a
            # budget lost to a power cut is only a bucket full again).
            row = await self._db.write_returning(
                "INSERT INTO request_budgets (key, tokens, updated_at, allowed) "
                "VALUES (:key, :burst - 1, :now, 1) ON CONFLICT (key) DO UPDATE SET "
                f"tokens = {refilled} - (CASE WHEN {refilled} >= 1 THEN 1 ELSE 0 END), "
                f"allowed = (CASE WHEN {refilled} >= 1 THEN 1 ELSE 0 END), "
                "updated_at = MAX(updated_at, :now) RETURNING tokens, allowed",
                {"key": key, "burst": burst, "now": now, "rate": per_second}, durable=False)
        assert row is not None
        return 0.0 if row["allowed"] else (1.0 - float(row["tokens"])) / per_second

    async def forget_idle_budgets(self, idle_before: float) -> None:
        """Drop buckets untouched since ``idle_before`` (they would be full again)."""
        async with self._write_lock:
            await self._db.execute("DELETE FROM request_budgets WHERE updated_at < ?",
                                   (idle_before,))
            await self._db.commit()

    async def count(self, table: str) -> int:
        if table not in {"orders", "certificates", "sessions", "order_pdfs", "jpki_certificates",
                         "municipalities", "maintenance_windows"}:
            raise ValueError(table)
        async with self._db.execute(f"SELECT COUNT(*) AS n FROM {table}") as cur:
            row = await cur.fetchone()
        return int(row["n"]) if row else 0

    async def operational_gauges(self, idle_after: datetime) -> OperationalGauges:
        """Open sessions seen since ``idle_after``, orders awaiting their print
        result, municipalities by status."""
        async with self._db.execute(
                "SELECT COUNT(*) AS n FROM sessions WHERE closed_at IS NULL AND last_seen_at >= ?",
                (ts(idle_after),)) as cur:
            row = await cur.fetchone()
            sessions = int(row["n"]) if row else 0
        async with self._db.execute(
                "SELECT COUNT(*) AS n FROM orders WHERE status = 'issued'") as cur:
            row = await cur.fetchone()
            awaiting = int(row["n"]) if row else 0
        async with self._db.execute(
                "SELECT status, COUNT(*) AS n FROM municipalities GROUP BY status") as cur:
            by_status = {r["status"]: int(r["n"]) for r in await cur.fetchall()}
        return OperationalGauges(sessions, awaiting, by_status)

    async def terminals(self, limit: int = 200) -> list[TerminalRecord]:
        """Terminals from their sessions and the ledger's charged copies, by id."""
        async with self._db.execute(
                "SELECT terminal_id, MAX(chain) AS chain, MAX(store_id) AS store_id, "
                "MAX(seen) AS seen, SUM(sessions) AS sessions, SUM(open) AS open, "
                "SUM(printed) AS printed FROM ("
                " SELECT terminal_id, chain, store_id, last_seen_at AS seen, 1 AS sessions,"
                " (closed_at IS NULL) AS open, 0 AS printed FROM sessions"
                " UNION ALL SELECT terminal_id, chain, store_id, issued_at, 0, 0, 1"
                " FROM ledger_entries WHERE kind = 'charge')"
                " GROUP BY terminal_id ORDER BY terminal_id LIMIT ?", (limit,)) as cur:
            rows = await cur.fetchall()
        return [TerminalRecord(r["terminal_id"], r["chain"] or "", r["store_id"] or "",
                               dt(r["seen"]), int(r["sessions"]), int(r["open"]),
                               int(r["printed"])) for r in rows]
