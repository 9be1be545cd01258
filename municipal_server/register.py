"""The resident register (住民基本台帳) of one municipality, its seal
registrations (印鑑登録) and issuance history (交付履歴), in SQLite.

Every read goes to the database: a clerk's change is in force for the very
next request (no nightly copy, no cache)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from konbini.sqlite import Database, open_database

from .issuance_claims import CLAIMS_SCHEMA, IssuanceClaims
from .outcomes import summary

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS households (
    household_id TEXT PRIMARY KEY, address TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS residents (
    resident_code TEXT PRIMARY KEY, member_id TEXT NOT NULL UNIQUE,
    household_id TEXT NOT NULL REFERENCES households(household_id),
    name TEXT NOT NULL, name_kana TEXT NOT NULL, birth_date TEXT NOT NULL, sex TEXT NOT NULL,
    relationship TEXT NOT NULL, status TEXT NOT NULL, moved_in_on TEXT NOT NULL,
    moved_in_reason TEXT NOT NULL, previous_address TEXT, support_measure INTEGER NOT NULL,
    nationality TEXT, household_order INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS residents_household ON residents(household_id);
CREATE TABLE IF NOT EXISTS seals (
    resident_code TEXT PRIMARY KEY REFERENCES residents(resident_code),
    image_png BLOB NOT NULL, status TEXT NOT NULL, registered_on TEXT NOT NULL,
    abolished_on TEXT);
CREATE TABLE IF NOT EXISTS issuance_history (
    request_id TEXT PRIMARY KEY, resident_code TEXT NOT NULL, type TEXT NOT NULL,
    copies INTEGER NOT NULL, options TEXT NOT NULL, issued_at TEXT NOT NULL,
    terminal_id TEXT NOT NULL, chain TEXT NOT NULL, store_id TEXT NOT NULL,
    certificate_numbers TEXT NOT NULL, response TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS issuance_resident ON issuance_history(resident_code);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tax_records (
    resident_code TEXT NOT NULL, fiscal_year INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (resident_code, fiscal_year));
CREATE TABLE IF NOT EXISTS family_registers (
    register_id TEXT PRIMARY KEY, domicile TEXT NOT NULL, head_name TEXT NOT NULL,
    compiled_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS koseki_persons (
    person_id TEXT PRIMARY KEY,
    register_id TEXT NOT NULL REFERENCES family_registers(register_id),
    position INTEGER NOT NULL, name TEXT NOT NULL, given_name TEXT NOT NULL,
    birth_date TEXT NOT NULL, father TEXT, mother TEXT, relationship TEXT NOT NULL,
    spouse_role TEXT, events TEXT NOT NULL, removed INTEGER NOT NULL DEFAULT 0,
    resident_code TEXT UNIQUE, addresses TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS koseki_register ON koseki_persons(register_id, position);
CREATE TABLE IF NOT EXISTS use_registrations (
    resident_code TEXT PRIMARY KEY, residence_code TEXT NOT NULL,
    registered_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS disasters (
    disaster_id TEXT PRIMARY KEY, name TEXT NOT NULL, occurred_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS damage_reports (
    disaster_id TEXT NOT NULL REFERENCES disasters(disaster_id),
    household_id TEXT NOT NULL REFERENCES households(household_id),
    property_address TEXT NOT NULL, damage_level TEXT NOT NULL, flooding TEXT,
    surveyed_on TEXT, PRIMARY KEY (disaster_id, household_id));
CREATE INDEX IF NOT EXISTS damage_household ON damage_reports(household_id);
CREATE TABLE IF NOT EXISTS cards (
    serial TEXT PRIMARY KEY, resident_code TEXT NOT NULL, credential TEXT NOT NULL,
    status TEXT NOT NULL, issued_at TEXT NOT NULL, status_reason TEXT);
CREATE INDEX IF NOT EXISTS cards_resident ON cards(resident_code);
CREATE TABLE IF NOT EXISTS koseki_notifications (
    notification_id INTEGER PRIMARY KEY AUTOINCREMENT,
    register_id TEXT NOT NULL REFERENCES family_registers(register_id),
    kind TEXT NOT NULL, filed_on TEXT NOT NULL, reflected_on TEXT);
CREATE INDEX IF NOT EXISTS koseki_notifications_register
    ON koseki_notifications(register_id, reflected_on);
CREATE TABLE IF NOT EXISTS clerk_log (
    entry INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL);
-- What became of each issued certificate, as the center reports it (outcomes.py).
CREATE TABLE IF NOT EXISTS issuance_outcomes (
    request_id TEXT NOT NULL, certificate_number TEXT NOT NULL, outcome TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', reported_at TEXT NOT NULL,
    PRIMARY KEY (request_id, certificate_number));
"""

# Columns added to ``residents`` after the first release: an existing register
# (a demo's var/) gains them on open, so nobody has to delete their data.
RESIDENT_COLUMNS_ADDED = (
    ("domicile", "TEXT"),  # 本籍 (Japanese nationals)
    ("domicile_head", "TEXT"),  # 筆頭者
    ("domicile_code", "TEXT"),  # the municipality that keeps the 戸籍
    ("residence_status", "TEXT"),  # 在留資格 (foreign residents)
    ("period_of_stay", "TEXT"),  # 在留期間
    ("period_expires_on", "TEXT"),  # 在留期間の満了の日
    ("foreign_category", "TEXT"),  # 法第30条の45に規定する区分
    ("status_on", "TEXT"),  # the day of the move out, scheduled move out or death
    ("address_set_on", "TEXT"),  # 住所を定めた年月日; NULL: the day they became resident
    ("notified_on", "TEXT"),  # 届出日 of that move (or birth); NULL: the same day
)

# Columns added to ``use_registrations``: a registration is pending until the
# clerk approves it; those made before the rule stay registered.
USE_REGISTRATION_COLUMNS_ADDED = (
    ("status", "TEXT NOT NULL DEFAULT 'registered'"),  # pending | registered
    ("approved_at", "TEXT"),
)
USE_PENDING, USE_REGISTERED = "pending", "registered"

# Statuses of a resident record.
RESIDENT = "resident"
MOVING_OUT = "moving-out"  # 転出予定
MOVED_OUT = "moved-out"  # 転出
DECEASED = "deceased"  # 死亡
IN_HOUSEHOLD = (RESIDENT, MOVING_OUT)
STATUSES = (RESIDENT, MOVING_OUT, MOVED_OUT, DECEASED)


@dataclass(frozen=True)
class ForeignStatus:
    """What a foreign resident's record holds beyond a Japanese national's."""

    residence_status: str  # 在留資格
    period_of_stay: str  # 在留期間
    period_expires_on: date  # 在留期間の満了の日
    category: str = "中長期在留者"  # 法第30条の45に規定する区分


@dataclass(frozen=True)
class Resident:
    resident_code: str  # 住民票コード: routing only, never printed
    member_id: str  # the id the kiosk sees for household selection
    household_id: str
    name: str
    name_kana: str
    birth_date: date
    sex: str  # "男" | "女"
    relationship: str  # 続柄 to the head of household
    status: str
    moved_in_on: date
    moved_in_reason: str
    previous_address: str | None = None
    support_measure: bool = False  # 支援措置
    nationality: str | None = None  # None for Japanese nationals
    household_order: int = 0
    domicile: str | None = None  # 本籍
    domicile_head: str | None = None  # 筆頭者
    domicile_code: str | None = None  # 本籍地の団体コード
    foreign: ForeignStatus | None = None
    status_on: date | None = None  # when the status took (or takes) effect
    address_set_on: date | None = None  # 住所を定めた年月日 (None: moved_in_on)
    notified_on: date | None = None  # 届出日 of the 転入・転居届 or 出生届 (None: moved_in_on)

    @property
    def address_set(self) -> date:
        """住所を定めた年月日, as printed."""
        return self.address_set_on or self.moved_in_on

    @property
    def notified(self) -> date:
        """届出日, as printed."""
        return self.notified_on or self.moved_in_on


@dataclass(frozen=True)
class Household:
    household_id: str
    address: str


@dataclass(frozen=True)
class SealRegistration:
    resident_code: str
    image_png: bytes
    status: str  # "active" | "abolished"
    registered_on: date
    abolished_on: date | None = None


@dataclass(frozen=True)
class TaxRecord:
    """One fiscal year's 住民税 assessment (課税台帳) of one resident."""

    resident_code: str
    fiscal_year: int  # 年度, on the income of the year before
    address: str  # address on 1 January of the fiscal year (賦課期日)
    gross_salary: int
    income_items: tuple[tuple[str, int], ...]
    deductions: tuple[tuple[str, int], ...]
    dependents: int
    municipal_income_levy: int
    municipal_per_capita: int
    prefectural_income_levy: int
    prefectural_per_capita: int

    @property
    def total_income(self) -> int:
        return sum(amount for _, amount in self.income_items)

    @property
    def total_deductions(self) -> int:
        return sum(amount for _, amount in self.deductions)

    @property
    def taxable_income(self) -> int:
        # 課税標準額 is rounded down to the thousand yen.
        return max(0, self.total_income - self.total_deductions) // 1000 * 1000


@dataclass(frozen=True)
class KosekiEntry:
    """One person recorded in a 戸籍, with the 附票 (address history) kept beside it."""

    person_id: str
    register_id: str
    position: int
    name: str
    given_name: str
    birth_date: date
    father: str | None
    mother: str | None
    relationship: str  # 続柄 to the parents, e.g. 長男
    spouse_role: str | None  # 配偶者区分
    events: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # 身分事項
    removed: bool = False  # 除籍
    resident_code: str | None = None  # the 附票 carries the 住民票コード
    addresses: tuple[tuple[str, date], ...] = ()  # 附票: (住所, 住所を定めた年月日)


@dataclass(frozen=True)
class FamilyRegister:
    """A 戸籍 whose 本籍 is in this municipality."""

    register_id: str
    domicile: str
    head_name: str  # 筆頭者
    compiled_on: date  # 編製日


@dataclass(frozen=True)
class Disaster:
    disaster_id: str
    name: str  # 災害名
    occurred_on: date


@dataclass(frozen=True)
class DamageReport:
    """The damage to a household's dwelling found by the municipality's survey (被害認定)."""

    disaster: Disaster
    household_id: str
    property_address: str
    damage_level: str
    flooding: str | None = None
    surveyed_on: date | None = None


@dataclass(frozen=True)
class IssuedCard:
    serial: str
    resident_code: str
    credential: str
    status: str
    issued_at: str


@dataclass(frozen=True)
class Issuance:
    request_id: str
    resident_code: str
    type: str
    copies: int
    options: dict[str, Any]
    response: dict[str, Any]


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _resident(row: sqlite3.Row) -> Resident:
    foreign = None
    if row["residence_status"]:
        foreign = ForeignStatus(row["residence_status"], row["period_of_stay"] or "",
                                date.fromisoformat(row["period_expires_on"]),
                                row["foreign_category"] or "中長期在留者")
    return Resident(
        row["resident_code"], row["member_id"], row["household_id"], row["name"],
        row["name_kana"], date.fromisoformat(row["birth_date"]), row["sex"],
        row["relationship"], row["status"], date.fromisoformat(row["moved_in_on"]),
        row["moved_in_reason"], row["previous_address"], bool(row["support_measure"]),
        row["nationality"], row["household_order"], row["domicile"], row["domicile_head"],
        row["domicile_code"], foreign, _day(row["status_on"]), _day(row["address_set_on"]),
        _day(row["notified_on"]))


def _resident_row(r: Resident) -> tuple[Any, ...]:
    f = r.foreign
    return (r.resident_code, r.member_id, r.household_id, r.name, r.name_kana,
            r.birth_date.isoformat(), r.sex, r.relationship, r.status,
            r.moved_in_on.isoformat(), r.moved_in_reason, r.previous_address,
            int(r.support_measure), r.nationality, r.household_order, r.domicile,
            r.domicile_head, r.domicile_code, f.residence_status if f else None,
            f.period_of_stay if f else None, f.period_expires_on.isoformat() if f else None,
            f.category if f else None, r.status_on.isoformat() if r.status_on else None,
            r.address_set_on.isoformat() if r.address_set_on else None,
            r.notified_on.isoformat() if r.notified_on else None)


_RESIDENT_INSERT = (
    "INSERT INTO residents (resident_code, member_id, household_id, name, name_kana, "
    "birth_date, sex, relationship, status, moved_in_on, moved_in_reason, previous_address, "
    "support_measure, nationality, household_order, domicile, domicile_head, domicile_code, "
    "residence_status, period_of_stay, period_expires_on, foreign_category, status_on, "
    "address_set_on, notified_on) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")


def _koseki_entry(row: sqlite3.Row) -> KosekiEntry:
    events = tuple((kind, tuple((k, v) for k, v in details))
                   for kind, details in json.loads(row["events"]))
    addresses = tuple((a, date.fromisoformat(d)) for a, d in json.loads(row["addresses"]))
    return KosekiEntry(
        row["person_id"], row["register_id"], row["position"], row["name"], row["given_name"],
        date.fromisoformat(row["birth_date"]), row["father"], row["mother"],
        row["relationship"], row["spouse_role"], events, bool(row["removed"]),
        row["resident_code"], addresses)


def _tax_record(resident_code: str, fiscal_year: int, data: dict[str, Any]) -> TaxRecord:
    return TaxRecord(
        resident_code, fiscal_year, data["address"], data["gross_salary"],
        tuple((k, v) for k, v in data["income_items"]),
        tuple((k, v) for k, v in data["deductions"]), data["dependents"],
        data["municipal_income_levy"], data["municipal_per_capita"],
        data["prefectural_income_levy"], data["prefectural_per_capita"])


class UnknownRecord(LookupError):
    """The record a clerk's change refers to does not exist."""


class Register:
    """A small interface over the municipality's SQLite database.

    Writes go through one lock and commit before they return, so the next
    request (from any kiosk) reads the change."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._write_lock = asyncio.Lock()
        # request_id claims: issuance once across workers (issuance_claims.py).
        self.claims = IssuanceClaims(db, self._write_lock)

    @classmethod
    async def open(cls, path: Path, *, create: bool = True) -> Register:
        """``create``: make and upgrade the tables (the migration step,
        ``python -m municipal_server migrate``); a worker only opens."""
        if not create:
            return cls(await open_database(path))
        db = await open_database(path, SCHEMA + CLAIMS_SCHEMA)
        async with db.execute("PRAGMA table_info(residents)") as cur:
            present = {row["name"] for row in await cur.fetchall()}
        for column, kind in RESIDENT_COLUMNS_ADDED:
            if column not in present:
                await db.execute(f"ALTER TABLE residents ADD COLUMN {column} {kind}")
        async with db.execute("PRAGMA table_info(use_registrations)") as cur:
            present = {row["name"] for row in await cur.fetchall()}
        for column, kind in USE_REGISTRATION_COLUMNS_ADDED:
            if column not in present:
                await db.execute(f"ALTER TABLE use_registrations ADD COLUMN {column} {kind}")
        await db.commit()
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def _one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        async with self._db.execute(sql, args) as cur:
            return await cur.fetchone()

    async def _all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        async with self._db.execute(sql, args) as cur:
            return list(await cur.fetchall())

    async def _write(self, statements: Iterable[tuple[str, tuple[Any, ...]]],
                     *, must_change: bool = False) -> None:
        """Run ``statements`` in one transaction; with ``must_change``, raise
        ``UnknownRecord`` (and change nothing) when the first one touched no row."""
        async with self._write_lock:
            try:
                for n, (sql, args) in enumerate(statements):
                    cursor = await self._db.execute(sql, args)
                    if must_change and n == 0 and cursor.rowcount == 0:
                        raise UnknownRecord(sql.split()[1])
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise

    async def log(self, at: datetime, action: str, target: str) -> None:
        """The clerk's audit trail (操作記録): what was done to which record, no contents."""
        await self._write([("INSERT INTO clerk_log (at, action, target) VALUES (?,?,?)",
                            (at.isoformat(), action, target))])

    # -- register -----------------------------------------------------------
    async def add_household(self, household: Household, members: Iterable[Resident]) -> None:
        await self._write([("INSERT INTO households VALUES (?, ?)",
                            (household.household_id, household.address)),
                           *((_RESIDENT_INSERT, _resident_row(r)) for r in members)])

    async def add_households(self, batch: Iterable[tuple[Household, Iterable[Resident]]]
                             ) -> None:
        """Many households in one transaction (seeding a large register)."""
        async with self._write_lock:
            try:
                for household, members in batch:
                    await self._db.execute("INSERT INTO households VALUES (?, ?)",
                                           (household.household_id, household.address))
                    await self._db.executemany(_RESIDENT_INSERT,
                                               [_resident_row(r) for r in members])
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise

    async def add_member(self, resident: Resident) -> None:
        """A birth or a move into an existing household."""
        await self._write([(_RESIDENT_INSERT, _resident_row(resident))])

    async def resident(self, resident_code: str) -> Resident | None:
        row = await self._one("SELECT * FROM residents WHERE resident_code = ?", resident_code)
        return None if row is None else _resident(row)

    async def household(self, household_id: str) -> Household | None:
        row = await self._one("SELECT * FROM households WHERE household_id = ?", household_id)
        return None if row is None else Household(row["household_id"], row["address"])

    async def household_members(self, household_id: str) -> list[Resident]:
        """Current members, head first; those who left the household are not members."""
        rows = await self._all(
            "SELECT * FROM residents WHERE household_id = ? AND status IN (?, ?) "
            "ORDER BY household_order, resident_code", household_id, *IN_HOUSEHOLD)
        return [_resident(row) for row in rows]

    async def find_residents(self, name: str, limit: int = 20) -> list[Resident]:
        """Residents whose name or kana contains ``name`` (the counter's search)."""
        pattern = "%" + name.replace("%", "").replace("_", "") + "%"
        rows = await self._all("SELECT * FROM residents WHERE name LIKE ? OR name_kana LIKE ? "
                               "ORDER BY resident_code LIMIT ?", pattern, pattern, limit)
        return [_resident(row) for row in rows]

    async def resident_codes(self, limit: int = 200) -> list[str]:
        """Resident codes in a stable order (a dev fault's "another resident")."""
        rows = await self._all("SELECT resident_code FROM residents ORDER BY resident_code "
                               "LIMIT ?", limit)
        return [row["resident_code"] for row in rows]

    async def resident_count(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM residents")
        return int(row["n"]) if row else 0

    async def set_status(self, resident_code: str, status: str, on: date) -> None:
        """Record a move out (scheduled or done) or a death (異動)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        await self._write([("UPDATE residents SET status = ?, status_on = ? "
                            "WHERE resident_code = ?", (status, on.isoformat(), resident_code))],
                          must_change=True)

    async def set_moved_in(self, resident_code: str, on: date) -> None:
        """Correct the day a resident moved in (住民となった年月日), which is also the day
        they set up this address and notified it."""
        await self._write([("UPDATE residents SET moved_in_on = ?, address_set_on = ?, "
                            "notified_on = ? WHERE resident_code = ?",
                            (on.isoformat(), on.isoformat(), on.isoformat(), resident_code))])

    async def set_support_measure(self, resident_code: str, active: bool) -> None:
        """支援措置: a victim of domestic violence or stalking is never issued at a kiosk."""
        await self._write([("UPDATE residents SET support_measure = ? WHERE resident_code = ?",
                            (int(active), resident_code))], must_change=True)

    # -- seals ----------------------------------------------------------------
    async def register_seal(self, seal: SealRegistration) -> None:
        await self._write([(
            "INSERT OR REPLACE INTO seals VALUES (?,?,?,?,?)",
            (seal.resident_code, seal.image_png, seal.status, seal.registered_on.isoformat(),
             seal.abolished_on.isoformat() if seal.abolished_on else None))])

    async def abolish_seal(self, resident_code: str, on: date) -> None:
        """廃止: the registration stays on record but certifies nothing any more."""
        await self._write([("UPDATE seals SET status='abolished', abolished_on=? "
                            "WHERE resident_code=? AND status='active'",
                            (on.isoformat(), resident_code))], must_change=True)

    async def seal(self, resident_code: str) -> SealRegistration | None:
        row = await self._one("SELECT * FROM seals WHERE resident_code = ?", resident_code)
        if row is None:
            return None
        return SealRegistration(
            row["resident_code"], bytes(row["image_png"]), row["status"],
            date.fromisoformat(row["registered_on"]), _day(row["abolished_on"]))

    # -- tax (課税台帳) ------------------------------------------------------
    async def record_tax(self, record: TaxRecord) -> None:
        data = {"address": record.address, "gross_salary": record.gross_salary,
                "income_items": record.income_items, "deductions": record.deductions,
                "dependents": record.dependents,
                "municipal_income_levy": record.municipal_income_levy,
                "municipal_per_capita": record.municipal_per_capita,
                "prefectural_income_levy": record.prefectural_income_levy,
                "prefectural_per_capita": record.prefectural_per_capita}
        await self._write([("INSERT OR REPLACE INTO tax_records VALUES (?, ?, ?)",
                            (record.resident_code, record.fiscal_year,
                             json.dumps(data, ensure_ascii=False)))])

    async def tax_records(self, resident_code: str) -> dict[int, TaxRecord]:
        rows = await self._all("SELECT * FROM tax_records WHERE resident_code = ?",
                               resident_code)
        return {row["fiscal_year"]: _tax_record(resident_code, row["fiscal_year"],
                                                json.loads(row["record"])) for row in rows}

    # -- family registers (戸籍) and their 附票 --------------------------------
    async def add_family_register(self, register: FamilyRegister,
                                  persons: Iterable[KosekiEntry]) -> None:
        await self._write([
            ("INSERT INTO family_registers VALUES (?,?,?,?)",
             (register.register_id, register.domicile, register.head_name,
              register.compiled_on.isoformat())),
            *(("INSERT INTO koseki_persons VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (p.person_id, register.register_id, p.position, p.name, p.given_name,
                p.birth_date.isoformat(), p.father, p.mother, p.relationship, p.spouse_role,
                json.dumps(p.events, ensure_ascii=False), int(p.removed), p.resident_code,
                json.dumps([(a, d.isoformat()) for a, d in p.addresses], ensure_ascii=False)))
              for p in persons)])

    async def koseki_entry(self, resident_code: str) -> KosekiEntry | None:
        """The person whose 附票 carries this 住民票コード, if their 本籍 is here."""
        row = await self._one("SELECT * FROM koseki_persons WHERE resident_code = ?",
                              resident_code)
        return None if row is None else _koseki_entry(row)

    async def family_register(self, register_id: str
                              ) -> tuple[FamilyRegister, list[KosekiEntry]] | None:
        row = await self._one("SELECT * FROM family_registers WHERE register_id = ?",
                              register_id)
        if row is None:
            return None
        persons = await self._all("SELECT * FROM koseki_persons WHERE register_id = ? "
                                  "ORDER BY position", register_id)
        return (FamilyRegister(row["register_id"], row["domicile"], row["head_name"],
                               date.fromisoformat(row["compiled_on"])),
                [_koseki_entry(p) for p in persons])

    # -- use registration (本籍地の利用登録) ------------------------------------
    async def register_use(self, resident_code: str, residence_code: str,
                           at: datetime) -> bool:
        """Record an application for use registration, pending until the clerk
        approves it; False if it was already there."""
        async with self._write_lock:
            cursor = await self._db.execute(
                "INSERT OR IGNORE INTO use_registrations "
                "(resident_code, residence_code, registered_at, status) VALUES (?,?,?,?)",
                (resident_code, residence_code, at.isoformat(), USE_PENDING))
            await self._db.commit()
        return cursor.rowcount == 1

    async def use_registration_status(self, resident_code: str) -> str | None:
        """``pending``, ``registered``, or None when never applied for."""
        row = await self._one("SELECT status FROM use_registrations WHERE resident_code = ?",
                              resident_code)
        return None if row is None else str(row["status"])

    async def use_registered(self, resident_code: str) -> bool:
        return await self.use_registration_status(resident_code) == USE_REGISTERED

    async def approve_use_registration(self, resident_code: str, at: datetime) -> None:
        """The clerk's approval: from now on the kiosk issues this 戸籍."""
        await self._write([("UPDATE use_registrations SET status = ?, approved_at = ? "
                            "WHERE resident_code = ?",
                            (USE_REGISTERED, at.isoformat(), resident_code))], must_change=True)

    async def pending_use_registrations(self) -> list[dict[str, str]]:
        rows = await self._all("SELECT resident_code, residence_code, registered_at "
                               "FROM use_registrations WHERE status = ? ORDER BY registered_at",
                               USE_PENDING)
        return [dict(row) for row in rows]

    # -- notifications filed against a 戸籍 (届出), not yet entered ------------------
    async def file_notification(self, register_id: str, kind: str, filed_on: date) -> int:
        """A 届出 (marriage, birth …) received for this 戸籍: until it is entered
        (``reflect_notifications``) the register is not certified at a kiosk."""
        async with self._write_lock:
            cursor = await self._db.execute(
                "INSERT INTO koseki_notifications (register_id, kind, filed_on) "
                "SELECT register_id, ?, ? FROM family_registers WHERE register_id = ?",
                (kind, filed_on.isoformat(), register_id))
            if cursor.rowcount == 0:
                await self._db.rollback()
                raise UnknownRecord("family_registers")
            await self._db.commit()
        return int(cursor.lastrowid or 0)

    async def reflect_notifications(self, register_id: str, on: date) -> None:
        await self._write([("UPDATE koseki_notifications SET reflected_on = ? "
                            "WHERE register_id = ? AND reflected_on IS NULL",
                            (on.isoformat(), register_id))])

    async def notification_pending(self, register_id: str) -> bool:
        return await self._one("SELECT 1 FROM koseki_notifications WHERE register_id = ? "
                               "AND reflected_on IS NULL", register_id) is not None

    # -- disasters (罹災) ------------------------------------------------------
    async def add_disaster(self, disaster: Disaster) -> None:
        await self._write([("INSERT INTO disasters VALUES (?,?,?)",
                            (disaster.disaster_id, disaster.name,
                             disaster.occurred_on.isoformat()))])

    async def disaster(self, disaster_id: str) -> Disaster | None:
        row = await self._one("SELECT * FROM disasters WHERE disaster_id = ?", disaster_id)
        return None if row is None else Disaster(row["disaster_id"], row["name"],
                                                 date.fromisoformat(row["occurred_on"]))

    async def record_damage(self, report: DamageReport) -> None:
        await self._write([("INSERT OR REPLACE INTO damage_reports VALUES (?,?,?,?,?,?)",
                            (report.disaster.disaster_id, report.household_id,
                             report.property_address, report.damage_level, report.flooding,
                             report.surveyed_on.isoformat() if report.surveyed_on else None))])

    async def damage_reports(self, household_id: str) -> list[DamageReport]:
        """The household's 罹災 records, the latest disaster first."""
        rows = await self._all(
            "SELECT d.*, r.household_id, r.property_address, r.damage_level, r.flooding, "
            "r.surveyed_on FROM damage_reports r JOIN disasters d USING (disaster_id) "
            "WHERE r.household_id = ? ORDER BY d.occurred_on DESC, d.disaster_id", household_id)
        return [DamageReport(Disaster(r["disaster_id"], r["name"],
                                      date.fromisoformat(r["occurred_on"])),
                             r["household_id"], r["property_address"], r["damage_level"],
                             r["flooding"], _day(r["surveyed_on"])) for r in rows]

    # -- cards issued at the counter ---------------------------------------------
    async def record_card(self, card: IssuedCard) -> None:
        await self._write([("INSERT OR REPLACE INTO cards VALUES (?,?,?,?,?,NULL)",
                            (card.serial, card.resident_code, card.credential, card.status,
                             card.issued_at))])

    async def set_card_status(self, serial: str, status: str, reason: str) -> None:
        await self._write([("UPDATE cards SET status = ?, status_reason = ? WHERE serial = ?",
                            (status, reason, serial))])

    async def cards(self, resident_code: str) -> list[IssuedCard]:
        rows = await self._all("SELECT * FROM cards WHERE resident_code = ? ORDER BY issued_at",
                               resident_code)
        return [IssuedCard(r["serial"], r["resident_code"], r["credential"], r["status"],
                           r["issued_at"]) for r in rows]

    # -- issuance history -------------------------------------------------
    async def issuance(self, request_id: str) -> Issuance | None:
        row = await self._one("SELECT * FROM issuance_history WHERE request_id = ?", request_id)
        if row is None:
            return None
        return Issuance(row["request_id"], row["resident_code"], row["type"], row["copies"],
                        json.loads(row["options"]), json.loads(row["response"]))

    async def issuance_history(self, resident_code: str) -> list[dict[str, Any]]:
        """交付履歴 of one resident, newest first, without the PDFs."""
        rows = await self._all(
            "SELECT request_id, type, copies, issued_at, terminal_id, chain, store_id, "
            "certificate_numbers FROM issuance_history WHERE resident_code = ? "
            "ORDER BY issued_at DESC", resident_code)
        history = []
        for row in rows:
            numbers = json.loads(row["certificate_numbers"])
            outcomes = await self.issuance_outcomes(row["request_id"])
            history.append({**dict(row), "certificate_numbers": numbers,
                            # Addition (reconciliation): undelivered until the center reports.
                            "outcome": summary(numbers, {n: o["outcome"]
                                                         for n, o in outcomes.items()}),
                            "outcomes": [{"certificate_number": n, **o}
                                         for n, o in sorted(outcomes.items())]})
        return history

    async def issued_numbers(self, request_id: str) -> list[str] | None:
        """The certificate numbers a request was issued, or None if it never was."""
        row = await self._one("SELECT certificate_numbers FROM issuance_history "
                              "WHERE request_id = ?", request_id)
        return None if row is None else list(json.loads(row["certificate_numbers"]))

    async def issuance_outcomes(self, request_id: str) -> dict[str, dict[str, str]]:
        """Each reported copy's outcome, reason and when it was reported."""
        rows = await self._all("SELECT certificate_number, outcome, reason, reported_at "
                               "FROM issuance_outcomes WHERE request_id = ?", request_id)
        return {r["certificate_number"]: {"outcome": r["outcome"], "reason": r["reason"],
                                          "reported_at": r["reported_at"]} for r in rows}

    async def record_outcomes(self, request_id: str, outcomes: list[tuple[str, str, str]],
                              at: datetime) -> None:
        """The center's report; a later report of a copy replaces the earlier one
        (delivered, then voided by the municipality)."""
        await self._write([(
            "INSERT INTO issuance_outcomes VALUES (?,?,?,?,?) "
            "ON CONFLICT(request_id, certificate_number) DO UPDATE SET "
            "outcome=excluded.outcome, reason=excluded.reason, "
            "reported_at=excluded.reported_at",
            (request_id, number, outcome, reason, at.isoformat()))
            for number, outcome, reason in outcomes])

    async def next_certificate_numbers(self, count: int, year: int) -> list[int]:
        """Reserve ``count`` consecutive serial numbers for ``year``."""
        name = f"certificate-{year}"
        async with self._write_lock:
            # Need not survive a power cut by itself: a number is only used by an
            # issuance, whose durable record (after this) makes the count durable too.
            row = await self._db.write_returning(
                "INSERT INTO counters VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + ? RETURNING value",
                (name, count, count), durable=False)
        last = int(row["value"]) if row else count
        return list(range(last - count + 1, last + 1))

    async def record_issuance(self, issuance: Issuance, issued_at: datetime,
                              kiosk: dict[str, str], numbers: list[str]) -> None:
        await self._write([(
            "INSERT INTO issuance_history VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (issuance.request_id, issuance.resident_code, issuance.type, issuance.copies,
             json.dumps(issuance.options), issued_at.isoformat(), kiosk["terminal_id"],
             kiosk["chain"], kiosk["store_id"], json.dumps(numbers),
             json.dumps(issuance.response)))])

    # -- bulk loading (a synthetic register at scale) -----------------------------
    async def add_bulk(self, households: Iterable[tuple[Household, Iterable[Resident]]],
                       seals: Iterable[SealRegistration] = (),
                       tax_records: Iterable[TaxRecord] = ()) -> None:
        """Households, their seal registrations and 課税台帳 records in one
        transaction, a handful of statements for the lot (seeding 100,000 residents)."""
        households = list(households)
        async with self._write_lock:
            try:
                await self._db.executemany("INSERT INTO households VALUES (?, ?)", [
                    (h.household_id, h.address) for h, _ in households])
                await self._db.executemany(_RESIDENT_INSERT, [
                    _resident_row(r) for _, members in households for r in members])
                await self._db.executemany("INSERT INTO seals VALUES (?,?,?,?,?)", [
                    (s.resident_code, s.image_png, s.status, s.registered_on.isoformat(),
                     s.abolished_on.isoformat() if s.abolished_on else None) for s in seals])
                await self._db.executemany("INSERT INTO tax_records VALUES (?, ?, ?)", [
                    (t.resident_code, t.fiscal_year, json.dumps({
                        "address": t.address, "gross_salary": t.gross_salary,
                        "income_items": t.income_items, "deductions": t.deductions,
                        "dependents": t.dependents,
                        "municipal_income_levy": t.municipal_income_levy,
                        "municipal_per_capita": t.municipal_per_capita,
                        "prefectural_income_levy": t.prefectural_income_levy,
                        "prefectural_per_capita": t.prefectural_per_capita},
                        ensure_ascii=False)) for t in tax_records])
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise

    async def last_resident_code(self, low: str, high: str) -> str | None:
        """The greatest 住民票コード in [low, high) (where a numbering left off)."""
        row = await self._one("SELECT MAX(resident_code) AS code FROM residents "
                              "WHERE resident_code >= ? AND resident_code < ?", low, high)
        return row["code"] if row else None
