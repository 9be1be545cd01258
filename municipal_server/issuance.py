"""Issuing certificates (証明書の発行): check the live register, render
each copy as its own numbered PDF, and record it in the issuance history.

The domain decisions are pure (``eligibility``, ``documents``, ``tax``);
``Issuer`` is the thin I/O layer that reads the register for one request.

Two bases: a resident asks their own municipality (``residence``), or a
person whose 本籍 is here but who lives elsewhere asks for their family
register after the use registration (``domicile``)."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pikepdf

from konbini.clock import TOKYO, parse_instant
from konbini.fonts import RENDER_LOCK
from konbini.problems import Problem, invalid_request
from konbini.subject_binding import subject_tag
from konbini.wire import (
    FAMILY_REGISTER_TYPES,
    MAX_COPIES,
    TAX_TYPES,
    TYPE_OPTIONS,
    CertificateType,
)

from . import dev_faults, documents
from .eligibility import (
    NO_DOMICILE,
    USE_REGISTRATION_REQUIRED,
    HolderFacts,
    Refusal,
    age_on,
    persons_on_request,
    resident_refusal,
    type_refusal,
)
from .issuance_claims import Answer, without_pdfs
from .profile import Profile
from .register import (
    MOVING_OUT,
    USE_PENDING,
    USE_REGISTERED,
    DamageReport,
    FamilyRegister,
    Household,
    Issuance,
    KosekiEntry,
    Register,
    Resident,
    TaxRecord,
)
from .render.fuhyo import render_fuhyo
from .render.inkan import render_inkan
from .render.inputs import JuminhyoInput, Person
from .render.juminhyo import render_juminhyo
from .render.juminhyo_kisai import render_juminhyo_kisai
from .render.koseki import render_koseki
from .render.risai import render_risai
from .render.tax import render_tax
from .tax import offered_fiscal_years

RESIDENCE, DOMICILE = "residence", "domicile"


def issue_day(at: str) -> date:
    """The day of issuance in Japan, from the center's ``at``."""
    try:
        return parse_instant(at).astimezone(TOKYO).date()
    except ValueError as exc:
        raise invalid_request([{"field": "at", "message": "not an ISO 8601 time"}]) from exc


def certificate_number(code: str, year: int, serial: int) -> str:
    """証明書番号: municipality, year, serial, e.g. ``131016-2026-0000042``."""
    return f"{code}-{year}-{serial:07d}"


def _refuse(code: str, refusal: Refusal) -> Problem:
    return Problem(code, refusal.message, reason=refusal.reason, message=refusal.message)


@dataclass(frozen=True)
class Holder:
    """The cardholder as this municipality knows them, for one request."""

    resident_code: str
    resident: Resident | None  # None when only the 戸籍 is kept here
    household: Household | None
    facts: HolderFacts
    # Read with the rest in the same transaction, so that no handler reads them twice.
    members: tuple[Resident, ...] = ()  # the household's current members, head first
    damage_reports: tuple[DamageReport, ...] = ()  # the household's 罹災, latest first
    tax_records: Mapping[int, TaxRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """A request checked against the register, its numbers taken: what to render."""

    request: dict[str, Any]
    day: date
    cert_type: CertificateType
    options: dict[str, Any]
    fee: int
    holder: Holder
    numbers: list[str]
    renders: list[Callable[[], bytes]]
    stated: dict[str, Any]  # what each certificate's entry states beside its PDF


class Issuer:
    def __init__(self, profile: Profile, register: Register,
                 subject_key: bytes | None = None) -> None:
        self.profile = profile
        self.register = register
        # Issue 14: the key of the subject marks every page carries (None: no marks,
        # and the center refuses the certificates).
        self.subject_key = subject_key

    # -- who is asking -------------------------------------------------------
    async def eligible_holder(self, resident_code: str, day: date,
                              register: Register | None = None) -> tuple[Resident, Household]:
        found = await (register or self.register).resident_at_home(resident_code)
        if found is None:
            raise Problem("resident-ineligible", "not a resident of this municipality",
                          reason="not-resident", message="住民登録がありません")
        holder, household = found
        refusal = resident_refusal(holder, household.address, day)
        if refusal:
            raise _refuse("resident-ineligible", refusal)
        return holder, household

    async def holder(self, resident_code: str, day: date, basis: str = RESIDENCE,
                     register: Register | None = None) -> Holder:
        """Everything the rules need about the cardholder, read now from the register:
        in ``register`` (a request's transaction) when given, else in a read
        transaction of its own."""
        if register is None:
            async with self.register.reading() as reading:
                return await self.holder(resident_code, day, basis, reading)
        koseki = await register.koseki_entry(resident_code)
        if basis == DOMICILE:
            if koseki is not None and age_on(koseki.birth_date, day) < 15:
                raise Problem("resident-ineligible", "15歳未満の方はご利用いただけません",
                              reason="under-15", message="15歳未満の方はご利用いただけません")
            status = await register.use_registration_status(resident_code)
            return Holder(resident_code, None, None, HolderFacts(
                koseki=koseki, needs_use_registration=status != USE_REGISTERED,
                use_registration_pending=status == USE_PENDING,
                koseki_pending=await self._koseki_pending(koseki, register)))
        resident, household = await self.eligible_holder(resident_code, day, register)
        years = offered_fiscal_years(day, self.profile.tax_years)
        taxed = await register.tax_records(resident_code)
        reports = await register.damage_reports(household.household_id)
        members = await register.household_members(household.household_id)
        return Holder(resident_code, resident, household, HolderFacts(
            seal=await register.seal(resident_code),
            tax_years=tuple(y for y in years if y in taxed),
            koseki=koseki,
            domicile_elsewhere=bool(resident.domicile_code
                                    and resident.domicile_code != self.profile.code),
            disaster_ids=tuple(r.disaster.disaster_id for r in reports),
            household_moving_out=any(m.status == MOVING_OUT for m in members),
            koseki_pending=await self._koseki_pending(koseki, register)),
            members=tuple(members), damage_reports=tuple(reports), tax_records=taxed)

    async def _koseki_pending(self, koseki: KosekiEntry | None, register: Register) -> bool:
        return koseki is not None and await register.notification_pending(koseki.register_id)

    # -- the menu -------------------------------------------------------------
    async def menu(self, resident_code: str, at: str, basis: str = RESIDENCE
                   ) -> dict[str, Any]:
        day = issue_day(at)
        async with self.register.reading() as register:  # one snapshot, one transaction
            holder = await self.holder(resident_code, day, basis, register)
            family: list[tuple[FamilyRegister, list[KosekiEntry]] | None] = []
            items = []
            for service in self.profile.services:
                cert_type = CertificateType(service["type"])
                if basis == DOMICILE and cert_type not in FAMILY_REGISTER_TYPES:
                    continue
                refusal = type_refusal(cert_type.value, holder.facts)
                item: dict[str, Any] = {"type": cert_type.value, "label": cert_type.label,
                                        "fee_yen": service["fee_yen"],
                                        "available": refusal is None}
                if refusal:
                    item.update(reason=refusal.reason, message=refusal.message)
                    if refusal is USE_REGISTRATION_REQUIRED and holder.resident is not None:
                        # Where to register: the holder's own 本籍, shown only to them.
                        item["domicile_code"] = holder.resident.domicile_code
                elif cert_type in TAX_TYPES:
                    item["fiscal_years"] = list(holder.facts.tax_years)
                elif cert_type in (CertificateType.KOSEKI_KOJIN,
                                   CertificateType.KOSEKI_FUHYO):
                    koseki = holder.facts.koseki
                    if koseki is not None and not family:  # read once for both types
                        family.append(await register.family_register(koseki.register_id))
                    item["persons"] = _persons(cert_type, koseki, family[0] if family else None)
                elif cert_type is CertificateType.RISAI:
                    item["disasters"] = [{"disaster_id": r.disaster.disaster_id,
                                          "name": r.disaster.name,
                                          "occurred_on": r.disaster.occurred_on.isoformat()}
                                         for r in holder.damage_reports]
                items.append(item)
        household = [{"member_id": m.member_id, "name": m.name,
                      "relationship": m.relationship,
                      "self": m.resident_code == resident_code} for m in holder.members]
        return {"items": items, "household": household, "max_copies": MAX_COPIES}

    # -- 本籍地の利用登録 -----------------------------------------------------------
    async def register_use(self, resident_code: str, residence_code: str, at: str
                           ) -> dict[str, Any]:
        """A person who lives in ``residence_code`` registers to have this
        municipality's family-register certificates at a kiosk."""
        day = issue_day(at)
        koseki = await self.register.koseki_entry(resident_code)
        if residence_code == self.profile.code:
            raise Problem("conflict", "a resident needs no use registration at home")
        if koseki is None or koseki.removed:
            raise _refuse("type-unavailable", NO_DOMICILE)
        if age_on(koseki.birth_date, day) < 15:
            raise Problem("resident-ineligible", "15歳未満の方はご利用いただけません",
                          reason="under-15", message="15歳未満の方はご利用いただけません")
        created = await self.register.register_use(resident_code, residence_code,
                                                   parse_instant(at))
        # Pending until the clerk approves it (approve-use-registration).
        status = await self.register.use_registration_status(resident_code)
        return {"status": status or USE_PENDING, "created": created}

    # -- issuing ----------------------------------------------------------------
    def tagger(self, number: str) -> documents.Tagger | None:
        """The subject digests of certificate ``number`` (konbini.subject_binding)."""
        if self.subject_key is None:
            return None
        return functools.partial(subject_tag, self.subject_key, number)

    async def issue(self, request: dict[str, Any], fault: str | None = None) -> dict[str, Any]:
        """``fault``: a dev fault the center asked for (``dev_faults``), test servers only.
        Once per request_id across every worker: a claim in the database
        (municipal_server/issuance_claims.py), not a lock in this process. The
        register is read, and the serial numbers taken, in the claim's own
        transaction: a refusal rolls back the claim with them (issue 12)."""
        return await self.register.claims.issue_once(
            request, lambda prepared: self._render(prepared, fault),
            prepare=lambda connection: self._prepare(
                request, self.register.bound_to(connection)))

    async def _prepare(self, request: dict[str, Any], register: Register) -> Prepared:
        """The checks, the register's answer and the serial numbers, in ``register``'s
        transaction: a refusal takes no number, and all see one snapshot of the
        live register."""
        day = issue_day(request["at"])
        cert_type = CertificateType(request["type"])
        options: dict[str, Any] = request["options"]
        allowed = TYPE_OPTIONS.get(cert_type, frozenset())
        wrong = [name for name in options if name not in allowed]
        if wrong:
            raise invalid_request([{"field": f"options.{name}",
                                    "message": f"not an option of {cert_type.value}"}
                                   for name in wrong])
        basis = request.get("basis", RESIDENCE)
        fee = self.profile.fee(cert_type.value)
        if fee is None or (basis == DOMICILE and cert_type not in FAMILY_REGISTER_TYPES):
            raise Problem("type-unavailable", "this municipality does not offer this type",
                          reason="not-offered", message="この証明書は発行できません")
        copies: int = request["copies"]
        holder = await self.holder(request["resident_code"], day, basis, register)
        refusal = type_refusal(cert_type.value, holder.facts)
        if refusal:
            raise _refuse("type-unavailable", refusal)
        serials = await register.next_certificate_numbers(copies, day.year)
        numbers = [certificate_number(self.profile.code, day.year, s) for s in serials]
        render, inputs, subjects = await self._documents(cert_type, holder, options,
                                                         numbers, day, register)
        stated: dict[str, Any] = {"type": cert_type.value, "subjects": subjects}
        if cert_type is CertificateType.JUMINHYO and holder.household is not None:
            # A 住民票 of chosen members need not show the holder: the household it
            # is drawn from (the holder's) is stated too.
            stated["household"] = _codes(m.resident_code for m in holder.members)
        if cert_type in (CertificateType.KOSEKI_KOJIN, CertificateType.KOSEKI_FUHYO) and (
                holder.facts.koseki is not None):
            # 個人事項 or 附票 of another person of the holder's 戸籍 (option ``person``):
            # the 戸籍 it is drawn from (the holder's) is stated too.
            found = await register.family_register(holder.facts.koseki.register_id)
            stated["family_register"] = [documents.koseki_subject(p)
                                         for p in (found[1] if found else [])]
        return Prepared(request, day, cert_type, options, fee, holder, numbers,
                        [functools.partial(_render_locked, render, value) for value in inputs],
                        stated)

    async def _render(self, prepared: Prepared, fault: str | None = None) -> Answer:
        """The certificates (off the event loop), and the 交付履歴 to record with them."""
        p = prepared
        renders = p.renders
        if fault is not None:
            renders = await dev_faults.misrender(self, fault, p.cert_type, p.holder,
                                                 p.options, p.numbers, p.day, renders)
        certificates = []
        for make, number in zip(renders, p.numbers, strict=True):
            # Rendering is CPU work: off the event loop, so other kiosks go on.
            pdf = await asyncio.to_thread(make)
            # Issue 14: whose it is, its type and its pages, stated beside the PDF; the
            # center checks them against the marks written into every page.
            certificates.append({"certificate_number": number,
                                 "pdf": base64.b64encode(pdf).decode("ascii"),
                                 "sha256": hashlib.sha256(pdf).hexdigest(), "fee_yen": p.fee,
                                 "pages": page_count(pdf), **p.stated})
        copies = len(p.numbers)
        response = {"fee_yen": p.fee * copies, "certificates": certificates}
        issuance = Issuance(p.request["request_id"], p.holder.resident_code, p.cert_type.value,
                            copies, p.options, without_pdfs(response))  # 交付履歴: no PDFs
        issued_at = datetime.now(TOKYO)

        async def record(connection: Any) -> None:
            # In the transaction that stores the answer for retries (issuance_claims).
            await self.register.bound_to(connection).record_issuance(
                issuance, issued_at, p.request["kiosk"], p.numbers)

        return Answer(response, record)

    async def _documents(self, cert_type: CertificateType, holder: Holder,
                         options: dict[str, Any], numbers: list[str], day: date,
                         register: Register | None = None,
                         ) -> tuple[Callable[[Any], bytes], list[Any], list[str]]:
        """The renderer, one input per copy, and the 住民票コード of the persons on them
        (the subjects, issue 14); what the holder's read left out is read in
        ``register`` (the request's transaction) when given."""
        profile, facts = self.profile, holder.facts
        reader = register or self.register
        if cert_type in FAMILY_REGISTER_TYPES:
            koseki: KosekiEntry | None = facts.koseki
            assert koseki is not None  # type_refusal saw to it
            found = await reader.family_register(koseki.register_id)
            if found is None:
                raise _refuse("type-unavailable", NO_DOMICILE)
            family_register, persons = found
            wanted = options.get("person")
            if wanted is not None:
                # Another person of the same 戸籍: only one the menu offered.
                koseki = next((p for p in persons_on_request(cert_type, koseki, persons)
                               if p.person_id == wanted), None)
                if koseki is None:
                    raise invalid_request([{"field": "options.person",
                                            "message": "not a person of this family register "
                                                       "that can be certified"}])
            if cert_type is CertificateType.KOSEKI_FUHYO:
                return render_fuhyo, [documents.fuhyo_input(
                    profile, family_register, koseki, number=n, day=day, tag=self.tagger(n))
                    for n in numbers], [documents.koseki_subject(koseki)]
            chosen = persons if cert_type is CertificateType.KOSEKI_ZENBU else [koseki]
            return render_koseki, [documents.koseki_input(
                profile, cert_type, family_register, persons, koseki, number=n, day=day,
                tag=self.tagger(n)) for n in numbers], [documents.koseki_subject(p)
                                                         for p in chosen]

        resident, household = holder.resident, holder.household
        assert resident is not None and household is not None
        if cert_type is CertificateType.JUMINHYO:
            current = list(holder.members)
            members, whole = documents.select_members(current, options.get("members"))
            head = next((m for m in current if m.relationship == "世帯主"), None)
            return render_juminhyo, [documents.juminhyo_input(
                profile, household, members, head, whole_household=whole,
                show_relationship=bool(options.get("relationship")),
                show_domicile=bool(options.get("domicile")),
                show_nationality=bool(options.get("nationality")),
                number=n, day=day, copy_index=i, copies=len(numbers), tag=self.tagger(n))
                for i, n in enumerate(numbers, 1)], _codes(m.resident_code for m in members)
        if cert_type is CertificateType.JUMINHYO_KISAI:
            return render_juminhyo_kisai, [documents.kisai_input(
                profile, resident, household.address, number=n, day=day, tag=self.tagger(n))
                for n in numbers], [resident.resident_code]
        if cert_type is CertificateType.INKAN:
            assert facts.seal is not None
            return render_inkan, [documents.inkan_input(
                profile, resident, household.address, facts.seal, number=n, day=day,
                tag=self.tagger(n)) for n in numbers], [resident.resident_code]
        if cert_type in TAX_TYPES:
            year = options.get("fiscal_year", facts.tax_years[0])
            if year not in facts.tax_years:
                raise _refuse("type-unavailable", no_tax_record_for(year))
            record = holder.tax_records[year]
            return render_tax, [documents.tax_input(profile, cert_type, resident, record,
                                                    number=n, day=day, tag=self.tagger(n))
                                for n in numbers], [resident.resident_code]
        if cert_type is CertificateType.RISAI:
            reports = holder.damage_reports
            wanted = options.get("disaster_id", reports[0].disaster.disaster_id)
            report = next((r for r in reports if r.disaster.disaster_id == wanted), None)
            if report is None:
                raise _refuse("type-unavailable", Refusal(
                    "no-disaster-record", "指定の災害について罹災の記録がありません"))
            members = list(holder.members)
            head = next((m for m in members if m.relationship == "世帯主"), None)
            return render_risai, [documents.risai_input(
                profile, report, head, number=n, day=day, tag=self.tagger(n), household=members)
                for n in numbers], _codes(m.resident_code for m in members)
        raise _refuse("type-unavailable", Refusal("not-offered", "この証明書は発行できません"))


def _persons(cert_type: CertificateType, koseki: KosekiEntry | None,
             found: tuple[FamilyRegister, list[KosekiEntry]] | None) -> list[dict[str, Any]]:
    """The menu's choice of person for 個人事項 and 附票, the holder first (pure)."""
    if koseki is None:
        return []
    persons = persons_on_request(cert_type, koseki, found[1] if found else [koseki])
    persons.sort(key=lambda p: p.person_id != koseki.person_id)
    return [{"person_id": p.person_id, "name": p.name,
             "self": p.person_id == koseki.person_id} for p in persons]


def _codes(resident_codes: Iterable[str | None]) -> list[str]:
    return [code for code in resident_codes if code]


def page_count(pdf: bytes) -> int:
    """How many pages a rendered certificate has."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def no_tax_record_for(year: int) -> Refusal:
    return Refusal("no-tax-record", f"{year}年度の課税の記録がないため交付できません")


def _render_locked(render: Any, value: Any) -> bytes:
    with RENDER_LOCK:
        return render(value)


def warm_up(profile: Profile) -> None:
    """Render one throwaway certificate so the first resident does not wait
    for the font to load and the official seal to be drawn (~150 ms)."""
    today = date.today()
    person = Person("見本 太郎", "みほん たろう", date(1980, 1, 1), "男", "世帯主", today, "転入",
                    None)
    _render_locked(render_juminhyo, JuminhyoInput(profile.municipality, "warm-up", today,
                                                  "見本", "見本 太郎", (person,), True))
