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

import aiosqlite

from konbini.sqlite import open_database

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
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# Statuses of a resident record.
RESIDENT = "resident"
MOVING_OUT = "moving-out"  # 転出予定
MOVED_OUT = "moved-out"  # 転出
DECEASED = "deceased"  # 死亡
IN_HOUSEHOLD = (RESIDENT, MOVING_OUT)


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
class Issuance:
    request_id: str
    resident_code: str
    type: str
    copies: int
    options: dict[str, Any]
    response: dict[str, Any]


def _resident(row: sqlite3.Row) -> Resident:
    return Resident(
        row["resident_code"], row["member_id"], row["household_id"], row["name"],
        row["name_kana"], date.fromisoformat(row["birth_date"]), row["sex"],
        row["relationship"], row["status"], date.fromisoformat(row["moved_in_on"]),
        row["moved_in_reason"], row["previous_address"], bool(row["support_measure"]),
        row["nationality"], row["household_order"])


class Register:
    """A small interface over the municipality's SQLite database."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Register:
        return cls(await open_database(path, SCHEMA))

    async def close(self) -> None:
        await self._db.close()

    # -- register -----------------------------------------------------------
    async def add_household(self, household: Household, members: Iterable[Resident]) -> None:
        async with self._write_lock:
            await self._db.execute("INSERT INTO households VALUES (?, ?)",
                                   (household.household_id, household.address))
            for r in members:
                await self._db.execute(
                    "INSERT INTO residents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (r.resident_code, r.member_id, r.household_id, r.name, r.name_kana,
                     r.birth_date.isoformat(), r.sex, r.relationship, r.status,
                     r.moved_in_on.isoformat(), r.moved_in_reason, r.previous_address,
                     int(r.support_measure), r.nationality, r.household_order))
            await self._db.commit()

    async def resident(self, resident_code: str) -> Resident | None:
        async with self._db.execute("SELECT * FROM residents WHERE resident_code = ?",
                                    (resident_code,)) as cur:
            row = await cur.fetchone()
        return None if row is None else _resident(row)

    async def household(self, household_id: str) -> Household | None:
        async with self._db.execute("SELECT * FROM households WHERE household_id = ?",
                                    (household_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else Household(row["household_id"], row["address"])

    async def household_members(self, household_id: str) -> list[Resident]:
        """Current members, head first; those who left the household are not members."""
        async with self._db.execute(
                "SELECT * FROM residents WHERE household_id = ? AND status IN (?, ?) "
                "ORDER BY household_order, resident_code",
                (household_id, *IN_HOUSEHOLD)) as cur:
            return [_resident(row) for row in await cur.fetchall()]

    async def resident_count(self) -> int:
        async with self._db.execute("SELECT COUNT(*) AS n FROM residents") as cur:
            row = await cur.fetchone()
        return int(row["n"]) if row else 0

    # -- seals ----------------------------------------------------------------
    async def register_seal(self, seal: SealRegistration) -> None:
        async with self._write_lock:
            await self._db.execute(
                "INSERT OR REPLACE INTO seals VALUES (?,?,?,?,?)",
                (seal.resident_code, seal.image_png, seal.status,
                 seal.registered_on.isoformat(),
                 seal.abolished_on.isoformat() if seal.abolished_on else None))
            await self._db.commit()

    async def abolish_seal(self, resident_code: str, on: date) -> None:
        """廃止: the registration stays on record but certifies nothing any more."""
        async with self._write_lock:
            await self._db.execute(
                "UPDATE seals SET status='abolished', abolished_on=? WHERE resident_code=?",
                (on.isoformat(), resident_code))
            await self._db.commit()

    async def seal(self, resident_code: str) -> SealRegistration | None:
        async with self._db.execute("SELECT * FROM seals WHERE resident_code = ?",
                                    (resident_code,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return SealRegistration(
            row["resident_code"], bytes(row["image_png"]), row["status"],
            date.fromisoformat(row["registered_on"]),
            date.fromisoformat(row["abolished_on"]) if row["abolished_on"] else None)

    # -- issuance history -------------------------------------------------
    async def issuance(self, request_id: str) -> Issuance | None:
        async with self._db.execute("SELECT * FROM issuance_history WHERE request_id = ?",
                                    (request_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return Issuance(row["request_id"], row["resident_code"], row["type"], row["copies"],
                        json.loads(row["options"]), json.loads(row["response"]))

    async def next_certificate_numbers(self, count: int, year: int) -> list[int]:
        """Reserve ``count`` consecutive serial numbers for ``year``."""
        name = f"certificate-{year}"
        async with self._write_lock:
            await self._db.execute(
                "INSERT INTO counters VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + ?", (name, count, count))
            async with self._db.execute("SELECT value FROM counters WHERE name = ?",
                                        (name,)) as cur:
                row = await cur.fetchone()
            await self._db.commit()
        last = int(row["value"]) if row else count
        return list(range(last - count + 1, last + 1))

    async def record_issuance(self, issuance: Issuance, issued_at: datetime,
                              kiosk: dict[str, str], numbers: list[str]) -> None:
        async with self._write_lock:
            await self._db.execute(
                "INSERT INTO issuance_history VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (issuance.request_id, issuance.resident_code, issuance.type, issuance.copies,
                 json.dumps(issuance.options), issued_at.isoformat(), kiosk["terminal_id"],
                 kiosk["chain"], kiosk["store_id"], json.dumps(numbers),
                 json.dumps(issuance.response)))
            await self._db.commit()
