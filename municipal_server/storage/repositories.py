"""The resident register (住民基本台帳) of one municipality, its seal
registrations (印鑑登録) and issuance history (交付履歴), on SQLite or
PostgreSQL (SQLAlchemy Core).

Every read goes to the database: a clerk's change is in force for the very
next request (no nightly copy, no cache). Every method is a transaction of
its own, or part of a unit of work (``async with register.unit_of_work() as
uow``): a clerk's change and its audit entry commit together."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text, bindparam, func, literal, or_, select, text, update
from sqlalchemy.engine import RowMapping

from konbini.clock import TOKYO
from konbini.db import Database, Repository, insert, sqlite_url
from konbini.migrations import upgrade

from ..issuance_claims import IssuanceClaims
from ..outcomes import summary
from ..residents import (
    IN_HOUSEHOLD,
    STATUSES,
    USE_PENDING,
    USE_REGISTERED,
    DamageReport,
    Disaster,
    FamilyRegister,
    ForeignStatus,
    Household,
    Issuance,
    IssuedCard,
    KosekiEntry,
    Resident,
    SealRegistration,
    TaxRecord,
    UnknownRecord,
)
from . import tables as t

MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate_database(url: str) -> tuple[str | None, str | None]:
    """Create or upgrade the register's database to the newest revision, in place."""
    return await upgrade(url, MIGRATIONS)


def instant_text(value: float | None) -> str | None:
    """A stored instant (epoch seconds) as the wire shows it: ISO 8601 in Japan time."""
    return None if value is None else datetime.fromtimestamp(value, TOKYO).isoformat()


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _resident(row: RowMapping) -> Resident:
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


def _resident_row(r: Resident) -> dict[str, Any]:
    f = r.foreign
    return {
        "resident_code": r.resident_code, "member_id": r.member_id,
        "household_id": r.household_id, "name": r.name, "name_kana": r.name_kana,
        "birth_date": r.birth_date.isoformat(), "sex": r.sex, "relationship": r.relationship,
        "status": r.status, "moved_in_on": r.moved_in_on.isoformat(),
        "moved_in_reason": r.moved_in_reason, "previous_address": r.previous_address,
        "support_measure": int(r.support_measure), "nationality": r.nationality,
        "household_order": r.household_order, "domicile": r.domicile,
        "domicile_head": r.domicile_head, "domicile_code": r.domicile_code,
        "residence_status": f.residence_status if f else None,
        "period_of_stay": f.period_of_stay if f else None,
        "period_expires_on": f.period_expires_on.isoformat() if f else None,
        "foreign_category": f.category if f else None,
        "status_on": r.status_on.isoformat() if r.status_on else None,
        "address_set_on": r.address_set_on.isoformat() if r.address_set_on else None,
        "notified_on": r.notified_on.isoformat() if r.notified_on else None}


def _koseki_entry(row: RowMapping) -> KosekiEntry:
    events = tuple((kind, tuple((k, v) for k, v in details))
                   for kind, details in json.loads(row["events"]))
    addresses = tuple((a, date.fromisoformat(d)) for a, d in json.loads(row["addresses"]))
    return KosekiEntry(
        row["person_id"], row["register_id"], row["position"], row["name"], row["given_name"],
        date.fromisoformat(row["birth_date"]), row["father"], row["mother"],
        row["relationship"], row["spouse_role"], events, bool(row["removed"]),
        row["resident_code"], addresses)


def _tax_json(record: TaxRecord) -> str:
    return json.dumps({
        "address": record.address, "gross_salary": record.gross_salary,
        "income_items": record.income_items, "deductions": record.deductions,
        "dependents": record.dependents,
        "municipal_income_levy": record.municipal_income_levy,
        "municipal_per_capita": record.municipal_per_capita,
        "prefectural_income_levy": record.prefectural_income_levy,
        "prefectural_per_capita": record.prefectural_per_capita}, ensure_ascii=False)


def _tax_record(resident_code: str, fiscal_year: int, data: dict[str, Any]) -> TaxRecord:
    return TaxRecord(
        resident_code, fiscal_year, data["address"], data["gross_salary"],
        tuple((k, v) for k, v in data["income_items"]),
        tuple((k, v) for k, v in data["deductions"]), data["dependents"],
        data["municipal_income_levy"], data["municipal_per_capita"],
        data["prefectural_income_levy"], data["prefectural_per_capita"])


def _seal_row(seal: SealRegistration) -> dict[str, Any]:
    return {"resident_code": seal.resident_code, "image_png": seal.image_png,
            "status": seal.status, "registered_on": seal.registered_on.isoformat(),
            "abolished_on": seal.abolished_on.isoformat() if seal.abolished_on else None}


# Text, not the dialect's insert(): SQLAlchemy 2.0 never caches an INSERT … ON
# CONFLICT, so these two (once an issuance each) were compiled every time, at
# ~0.5–0.9 ms (issue 12). The same text on SQLite and PostgreSQL.
_NEXT_NUMBERS = text(
    "INSERT INTO counters (name, value) VALUES (:name, :count) ON CONFLICT (name)"
    " DO UPDATE SET value = counters.value + :count RETURNING value")
_RECORD_OUTCOME = text(
    "INSERT INTO issuance_outcomes (request_id, certificate_number, outcome, reason,"
    " reported_at) VALUES (:request_id, :certificate_number, :outcome, :reason,"
    " :reported_at) ON CONFLICT (request_id, certificate_number) DO UPDATE SET"
    " outcome = excluded.outcome, reason = excluded.reason,"
    " reported_at = excluded.reported_at")


# The reads of every menu and issuance, built once: SQLAlchemy builds a statement
# and its cache key anew on each call otherwise (~40 µs a statement; issue 12).
# Only the statement objects are kept, never a row.
_RESIDENT = select(t.residents).where(t.residents.c.resident_code == bindparam("code"))
# The resident with their household's address: one statement, not two.
_RESIDENT_AT_HOME = select(t.residents, t.households.c.address).join(
    t.households, t.households.c.household_id == t.residents.c.household_id).where(
    t.residents.c.resident_code == bindparam("code"))
_HOUSEHOLD = select(t.households).where(t.households.c.household_id == bindparam("household"))
_MEMBERS = select(t.residents).where(
    t.residents.c.household_id == bindparam("household"),
    t.residents.c.status.in_(IN_HOUSEHOLD)).order_by(
    t.residents.c.household_order, t.residents.c.resident_code)
_SEAL = select(t.seals).where(t.seals.c.resident_code == bindparam("code"))
_TAX_RECORDS = select(t.tax_records).where(t.tax_records.c.resident_code == bindparam("code"))
_KOSEKI_ENTRY = select(t.koseki_persons).where(
    t.koseki_persons.c.resident_code == bindparam("code"))
_FAMILY_REGISTER = select(t.family_registers).where(
    t.family_registers.c.register_id == bindparam("register"))
_FAMILY_PERSONS = select(t.koseki_persons).where(
    t.koseki_persons.c.register_id == bindparam("register")).order_by(
    t.koseki_persons.c.position)
_USE_STATUS = select(t.use_registrations.c.status).where(
    t.use_registrations.c.resident_code == bindparam("code"))
_NOTIFICATION_PENDING = select(t.koseki_notifications.c.notification_id).where(
    t.koseki_notifications.c.register_id == bindparam("register"),
    t.koseki_notifications.c.reflected_on.is_(None)).limit(1)
_DAMAGE_REPORTS = (
    select(t.disasters.c.disaster_id, t.disasters.c.name, t.disasters.c.occurred_on,
           t.damage_reports.c.household_id, t.damage_reports.c.property_address,
           t.damage_reports.c.damage_level, t.damage_reports.c.flooding,
           t.damage_reports.c.surveyed_on)
    .select_from(t.damage_reports.join(
        t.disasters, t.disasters.c.disaster_id == t.damage_reports.c.disaster_id))
    .where(t.damage_reports.c.household_id == bindparam("household"))
    .order_by(t.disasters.c.occurred_on.desc(), t.disasters.c.disaster_id))
_ISSUED_NUMBERS = select(t.issuance_history.c.certificate_numbers).where(
    t.issuance_history.c.request_id == bindparam("request"))
_RECORD_ISSUANCE = t.issuance_history.insert()  # the values as parameters: compiled once
_OUTCOMES = select(
    t.issuance_outcomes.c.certificate_number, t.issuance_outcomes.c.outcome,
    t.issuance_outcomes.c.reason, t.issuance_outcomes.c.reported_at).where(
    t.issuance_outcomes.c.request_id == bindparam("request"))


class Register(Repository):
    """The municipality's register over its database (SQLite or PostgreSQL)."""

    def __init__(self, database: Database, connection: Any = None) -> None:
        super().__init__(database, connection)
        # request_id claims: issuance once across workers (issuance_claims.py).
        self.claims = IssuanceClaims(database, connection)

    @classmethod
    async def open(cls, target: str | Path, *, migrate: bool = False) -> Register:
        """Open the register at ``target`` (a URL, or a SQLite file). The schema
        is made by ``python -m municipal_server migrate``; ``migrate=True`` runs
        that first (tests and tools working on a register of their own)."""
        url = sqlite_url(target) if isinstance(target, Path) else target
        if migrate:
            await migrate_database(url)
        return cls(Database.open(url))

    async def close(self) -> None:
        await self.database.close()

    def bound_to(self, connection: Any) -> Register:
        """The same interface in a transaction someone else opened (a unit of work
        of issuance_claims)."""
        return self._bound(connection)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Register]:
        """The same interface, every read in one read transaction (one snapshot of
        the live register; nothing kept after the block). Inside a unit of work:
        that unit. A request's reads cost one transaction instead of one each
        (issue 12)."""
        if self._connection is not None:
            yield self
            return
        async with self.database.read() as connection:
            yield self._bound(connection)

    async def _must_change(self, statement: Any, what: str) -> None:
        """A clerk's change to one record: ``UnknownRecord`` (nothing changed) when
        there is no such record."""
        if (await self._run(statement)).rowcount == 0:
            raise UnknownRecord(what)

    async def log(self, at: datetime, action: str, target: str) -> None:
        """The clerk's audit trail (操作記録): what was done to which record, no contents."""
        await self._run(t.clerk_log.insert().values(at=at.timestamp(), action=action,
                                                    target=target))

    # -- register -----------------------------------------------------------
    async def add_household(self, household: Household, members: Iterable[Resident]) -> None:
        await self.add_households([(household, members)])

    async def add_households(self, batch: Iterable[tuple[Household, Iterable[Resident]]]
                             ) -> None:
        """Many households in one transaction (seeding a large register)."""
        batch = [(h, [_resident_row(r) for r in members]) for h, members in batch]
        async with self._write() as connection:
            for household, members in batch:
                await connection.execute(t.households.insert().values(
                    household_id=household.household_id, address=household.address))
                if members:
                    await connection.execute(t.residents.insert(), members)

    async def add_member(self, resident: Resident) -> None:
        """A birth or a move into an existing household."""
        await self._run(t.residents.insert().values(**_resident_row(resident)))

    async def resident(self, resident_code: str) -> Resident | None:
        row = await self._one(_RESIDENT, {"code": resident_code})
        return None if row is None else _resident(row)

    async def resident_at_home(self, resident_code: str) -> tuple[Resident, Household] | None:
        """The resident and their household, or None (no such resident, or no household)."""
        row = await self._one(_RESIDENT_AT_HOME, {"code": resident_code})
        if row is None:
            return None
        return _resident(row), Household(row["household_id"], row["address"])

    async def household(self, household_id: str) -> Household | None:
        row = await self._one(_HOUSEHOLD, {"household": household_id})
        return None if row is None else Household(row["household_id"], row["address"])

    async def household_members(self, household_id: str) -> list[Resident]:
        """Current members, head first; those who left the household are not members."""
        rows = await self._all(_MEMBERS, {"household": household_id})
        return [_resident(row) for row in rows]

    async def find_residents(self, name: str, limit: int = 20) -> list[Resident]:
        """Residents whose name or kana contains ``name`` (the counter's search)."""
        pattern = "%" + name.replace("%", "").replace("_", "") + "%"
        r = t.residents.c
        rows = await self._all(select(t.residents).where(
            or_(r.name.like(pattern), r.name_kana.like(pattern)))
            .order_by(r.resident_code).limit(limit))
        return [_resident(row) for row in rows]

    async def resident_codes(self, limit: int = 200) -> list[str]:
        """Resident codes in a stable order (a dev fault's "another resident")."""
        r = t.residents.c
        rows = await self._all(select(r.resident_code).order_by(r.resident_code).limit(limit))
        return [row["resident_code"] for row in rows]

    async def resident_count(self) -> int:
        return int(await self._scalar(select(func.count()).select_from(t.residents)) or 0)

    async def set_status(self, resident_code: str, status: str, on: date) -> None:
        """Record a move out (scheduled or done) or a death (異動)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        await self._must_change(update(t.residents)
                                .where(t.residents.c.resident_code == resident_code)
                                .values(status=status, status_on=on.isoformat()), "residents")

    async def set_moved_in(self, resident_code: str, on: date) -> None:
        """Correct the day a resident moved in (住民となった年月日), which is also the day
        they set up this address and notified it."""
        await self._run(update(t.residents).where(t.residents.c.resident_code == resident_code)
                        .values(moved_in_on=on.isoformat(), address_set_on=on.isoformat(),
                                notified_on=on.isoformat()))

    async def set_support_measure(self, resident_code: str, active: bool) -> None:
        """支援措置: a victim of domestic violence or stalking is never issued at a kiosk."""
        await self._must_change(update(t.residents)
                                .where(t.residents.c.resident_code == resident_code)
                                .values(support_measure=int(active)), "residents")

    # -- seals ----------------------------------------------------------------
    async def register_seal(self, seal: SealRegistration) -> None:
        async with self._write() as connection:
            statement = insert(connection, t.seals).values(**_seal_row(seal))
            await connection.execute(statement.on_conflict_do_update(
                index_elements=["resident_code"],
                set_={c: statement.excluded[c] for c in (
                    "image_png", "status", "registered_on", "abolished_on")}))

    async def abolish_seal(self, resident_code: str, on: date) -> None:
        """廃止: the registration stays on record but certifies nothing any more."""
        s = t.seals.c
        await self._must_change(update(t.seals).where(
            s.resident_code == resident_code, s.status == "active")
            .values(status="abolished", abolished_on=on.isoformat()), "seals")

    async def seal(self, resident_code: str) -> SealRegistration | None:
        row = await self._one(_SEAL, {"code": resident_code})
        if row is None:
            return None
        return SealRegistration(
            row["resident_code"], bytes(row["image_png"]), row["status"],
            date.fromisoformat(row["registered_on"]), _day(row["abolished_on"]))

    # -- tax (課税台帳) ------------------------------------------------------
    async def record_tax(self, record: TaxRecord) -> None:
        async with self._write() as connection:
            statement = insert(connection, t.tax_records).values(
                resident_code=record.resident_code, fiscal_year=record.fiscal_year,
                record=_tax_json(record))
            await connection.execute(statement.on_conflict_do_update(
                index_elements=["resident_code", "fiscal_year"],
                set_={"record": statement.excluded.record}))

    async def tax_records(self, resident_code: str) -> dict[int, TaxRecord]:
        rows = await self._all(_TAX_RECORDS, {"code": resident_code})
        return {row["fiscal_year"]: _tax_record(resident_code, row["fiscal_year"],
                                                json.loads(row["record"])) for row in rows}

    # -- family registers (戸籍) and their 附票 --------------------------------
    async def add_family_register(self, register: FamilyRegister,
                                  persons: Iterable[KosekiEntry]) -> None:
        rows = [{
            "person_id": p.person_id, "register_id": register.register_id,
            "position": p.position, "name": p.name, "given_name": p.given_name,
            "birth_date": p.birth_date.isoformat(), "father": p.father, "mother": p.mother,
            "relationship": p.relationship, "spouse_role": p.spouse_role,
            "events": json.dumps(p.events, ensure_ascii=False), "removed": int(p.removed),
            "resident_code": p.resident_code,
            "addresses": json.dumps([(a, d.isoformat()) for a, d in p.addresses],
                                    ensure_ascii=False)} for p in persons]
        async with self._write() as connection:
            await connection.execute(t.family_registers.insert().values(
                register_id=register.register_id, domicile=register.domicile,
                head_name=register.head_name, compiled_on=register.compiled_on.isoformat()))
            if rows:
                await connection.execute(t.koseki_persons.insert(), rows)

    async def koseki_entry(self, resident_code: str) -> KosekiEntry | None:
        """The person whose 附票 carries this 住民票コード, if their 本籍 is here."""
        row = await self._one(_KOSEKI_ENTRY, {"code": resident_code})
        return None if row is None else _koseki_entry(row)

    async def family_register(self, register_id: str
                              ) -> tuple[FamilyRegister, list[KosekiEntry]] | None:
        row = await self._one(_FAMILY_REGISTER, {"register": register_id})
        if row is None:
            return None
        persons = await self._all(_FAMILY_PERSONS, {"register": register_id})
        return (FamilyRegister(row["register_id"], row["domicile"], row["head_name"],
                               date.fromisoformat(row["compiled_on"])),
                [_koseki_entry(p) for p in persons])

    # -- use registration (本籍地の利用登録) ------------------------------------
    async def register_use(self, resident_code: str, residence_code: str,
                           at: datetime) -> bool:
        """Record an application for use registration, pending until the clerk
        approves it; False if it was already there."""
        async with self._write() as connection:
            result = await connection.execute(insert(connection, t.use_registrations).values(
                resident_code=resident_code, residence_code=residence_code,
                registered_at=at.timestamp(), status=USE_PENDING).on_conflict_do_nothing())
        return result.rowcount == 1

    async def use_registration_status(self, resident_code: str) -> str | None:
        """``pending``, ``registered``, or None when never applied for."""
        row = await self._one(_USE_STATUS, {"code": resident_code})
        return None if row is None else str(row["status"])

    async def use_registered(self, resident_code: str) -> bool:
        return await self.use_registration_status(resident_code) == USE_REGISTERED

    async def approve_use_registration(self, resident_code: str, at: datetime) -> None:
        """The clerk's approval: from now on the kiosk issues this 戸籍."""
        await self._must_change(update(t.use_registrations)
                                .where(t.use_registrations.c.resident_code == resident_code)
                                .values(status=USE_REGISTERED, approved_at=at.timestamp()),
                                "use_registrations")

    async def pending_use_registrations(self) -> list[dict[str, str]]:
        u = t.use_registrations.c
        rows = await self._all(select(u.resident_code, u.residence_code, u.registered_at)
                               .where(u.status == USE_PENDING).order_by(u.registered_at))
        return [{**dict(row), "registered_at": instant_text(row["registered_at"])}
                for row in rows]

    # -- notifications filed against a 戸籍 (届出), not yet entered ------------------
    async def file_notification(self, register_id: str, kind: str, filed_on: date) -> int:
        """A 届出 (marriage, birth …) received for this 戸籍: until it is entered
        (``reflect_notifications``) the register is not certified at a kiosk."""
        f = t.family_registers.c
        n = t.koseki_notifications
        async with self._write() as connection:
            result = await connection.execute(
                n.insert().from_select(
                    ["register_id", "kind", "filed_on"],
                    select(f.register_id, literal(kind, Text),
                           literal(filed_on.isoformat(), Text))
                    .where(f.register_id == register_id))
                .returning(n.c.notification_id))
            number = result.scalar()
        if number is None:
            raise UnknownRecord("family_registers")
        return int(number)

    async def reflect_notifications(self, register_id: str, on: date) -> None:
        n = t.koseki_notifications.c
        await self._run(update(t.koseki_notifications).where(
            n.register_id == register_id, n.reflected_on.is_(None))
            .values(reflected_on=on.isoformat()))

    async def notification_pending(self, register_id: str) -> bool:
        return await self._one(_NOTIFICATION_PENDING, {"register": register_id}) is not None

    # -- disasters (罹災) ------------------------------------------------------
    async def add_disaster(self, disaster: Disaster) -> None:
        await self._run(t.disasters.insert().values(
            disaster_id=disaster.disaster_id, name=disaster.name,
            occurred_on=disaster.occurred_on.isoformat()))

    async def disaster(self, disaster_id: str) -> Disaster | None:
        row = await self._one(select(t.disasters)
                              .where(t.disasters.c.disaster_id == disaster_id))
        return None if row is None else Disaster(row["disaster_id"], row["name"],
                                                 date.fromisoformat(row["occurred_on"]))

    async def record_damage(self, report: DamageReport) -> None:
        async with self._write() as connection:
            statement = insert(connection, t.damage_reports).values(
                disaster_id=report.disaster.disaster_id, household_id=report.household_id,
                property_address=report.property_address, damage_level=report.damage_level,
                flooding=report.flooding,
                surveyed_on=report.surveyed_on.isoformat() if report.surveyed_on else None)
            await connection.execute(statement.on_conflict_do_update(
                index_elements=["disaster_id", "household_id"],
                set_={c: statement.excluded[c] for c in (
                    "property_address", "damage_level", "flooding", "surveyed_on")}))

    async def damage_reports(self, household_id: str) -> list[DamageReport]:
        """The household's 罹災 records, the latest disaster first."""
        rows = await self._all(_DAMAGE_REPORTS, {"household": household_id})
        return [DamageReport(Disaster(row["disaster_id"], row["name"],
                                      date.fromisoformat(row["occurred_on"])),
                             row["household_id"], row["property_address"],
                             row["damage_level"], row["flooding"], _day(row["surveyed_on"]))
                for row in rows]

    # -- cards issued at the counter ---------------------------------------------
    async def record_card(self, card: IssuedCard) -> None:
        async with self._write() as connection:
            statement = insert(connection, t.cards).values(
                serial=card.serial, resident_code=card.resident_code,
                credential=card.credential, status=card.status,
                issued_at=datetime.fromisoformat(card.issued_at).timestamp(),
                status_reason=None)
            await connection.execute(statement.on_conflict_do_update(
                index_elements=["serial"],
                set_={c: statement.excluded[c] for c in (
                    "resident_code", "credential", "status", "issued_at", "status_reason")}))

    async def set_card_status(self, serial: str, status: str, reason: str) -> None:
        await self._run(update(t.cards).where(t.cards.c.serial == serial)
                        .values(status=status, status_reason=reason))

    async def cards(self, resident_code: str) -> list[IssuedCard]:
        c = t.cards.c
        rows = await self._all(select(t.cards).where(c.resident_code == resident_code)
                               .order_by(c.issued_at))
        return [IssuedCard(r["serial"], r["resident_code"], r["credential"], r["status"],
                           instant_text(r["issued_at"])) for r in rows]

    # -- issuance history -------------------------------------------------
    async def issuance(self, request_id: str) -> Issuance | None:
        row = await self._one(select(t.issuance_history)
                              .where(t.issuance_history.c.request_id == request_id))
        if row is None:
            return None
        return Issuance(row["request_id"], row["resident_code"], row["type"], row["copies"],
                        json.loads(row["options"]), json.loads(row["response"]))

    async def issuance_history(self, resident_code: str) -> list[dict[str, Any]]:
        """交付履歴 of one resident, newest first, without the PDFs."""
        h = t.issuance_history.c
        rows = await self._all(
            select(h.request_id, h.type, h.copies, h.issued_at, h.terminal_id, h.chain,
                   h.store_id, h.certificate_numbers)
            .where(h.resident_code == resident_code).order_by(h.issued_at.desc()))
        history = []
        for row in rows:
            numbers = json.loads(row["certificate_numbers"])
            outcomes = await self.issuance_outcomes(row["request_id"])
            history.append({**dict(row), "certificate_numbers": numbers,
                            "issued_at": instant_text(row["issued_at"]),
                            # Addition (reconciliation): undelivered until the center reports.
                            "outcome": summary(numbers, {n: o["outcome"]
                                                         for n, o in outcomes.items()}),
                            "outcomes": [{"certificate_number": n, **o}
                                         for n, o in sorted(outcomes.items())]})
        return history

    async def issued_numbers(self, request_id: str) -> list[str] | None:
        """The certificate numbers a request was issued, or None if it never was."""
        row = await self._one(_ISSUED_NUMBERS, {"request": request_id})
        return None if row is None else list(json.loads(row["certificate_numbers"]))

    async def issuance_outcomes(self, request_id: str) -> dict[str, dict[str, str]]:
        """Each reported copy's outcome, reason and when it was reported."""
        rows = await self._all(_OUTCOMES, {"request": request_id})
        return {r["certificate_number"]: {"outcome": r["outcome"], "reason": r["reason"],
                                          "reported_at": instant_text(r["reported_at"])}
                for r in rows}

    async def record_outcomes(self, request_id: str, outcomes: list[tuple[str, str, str]],
                              at: datetime) -> None:
        """The center's report; a later report of a copy replaces the earlier one
        (delivered, then voided by the municipality)."""
        if not outcomes:
            return
        async with self._write() as connection:
            await connection.execute(_RECORD_OUTCOME,
                [{"request_id": request_id, "certificate_number": number, "outcome": outcome,
                  "reason": reason, "reported_at": at.timestamp()}
                 for number, outcome, reason in outcomes])

    async def next_certificate_numbers(self, count: int, year: int) -> list[int]:
        """Reserve ``count`` consecutive serial numbers for ``year``: one
        conditional write (``INSERT … ON CONFLICT DO UPDATE … RETURNING``), so
        two workers never get the same number."""
        async with self._write() as connection:
            result = await connection.execute(_NEXT_NUMBERS, {
                "name": f"certificate-{year}", "count": count})
            last = int(result.scalar_one())
        return list(range(last - count + 1, last + 1))

    async def record_issuance(self, issuance: Issuance, issued_at: datetime,
                              kiosk: dict[str, str], numbers: list[str]) -> None:
        await self._run(_RECORD_ISSUANCE, dict(
            request_id=issuance.request_id, resident_code=issuance.resident_code,
            type=issuance.type, copies=issuance.copies, options=json.dumps(issuance.options),
            issued_at=issued_at.timestamp(), terminal_id=kiosk["terminal_id"],
            chain=kiosk["chain"], store_id=kiosk["store_id"],
            certificate_numbers=json.dumps(numbers), response=json.dumps(issuance.response)))

    # -- bulk loading (a synthetic register at scale) -----------------------------
    async def add_bulk(self, households: Iterable[tuple[Household, Iterable[Resident]]],
                       seals: Iterable[SealRegistration] = (),
                       tax_records: Iterable[TaxRecord] = ()) -> None:
        """Households, their seal registrations and 課税台帳 records in one
        transaction, a handful of statements for the lot (seeding 100,000 residents)."""
        households = list(households)
        rows = [
            (t.households, [{"household_id": h.household_id, "address": h.address}
                            for h, _ in households]),
            (t.residents, [_resident_row(r) for _, members in households for r in members]),
            (t.seals, [_seal_row(s) for s in seals]),
            (t.tax_records, [{"resident_code": x.resident_code, "fiscal_year": x.fiscal_year,
                              "record": _tax_json(x)} for x in tax_records])]
        async with self._write() as connection:
            for table, values in rows:
                if values:
                    await connection.execute(table.insert(), values)

    async def last_resident_code(self, low: str, high: str) -> str | None:
        """The greatest 住民票コード in [low, high) (where a numbering left off)."""
        r = t.residents.c
        return await self._scalar(select(func.max(r.resident_code)).where(
            r.resident_code >= low, r.resident_code < high))


__all__ = ["Register", "UnknownRecord", "migrate_database"]
