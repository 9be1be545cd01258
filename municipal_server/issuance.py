"""Issuing certificates (証明書の発行): check the live register, render
each copy as its own numbered PDF, and record it in the issuance history.

The domain decisions are pure (``select_members``, ``juminhyo_input``,
``inkan_input``); ``Issuer`` is the thin I/O layer around them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import weakref
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from konbini.clock import TOKYO, parse_instant
from konbini.fonts import RENDER_LOCK
from konbini.problems import Problem, invalid_request
from konbini.wire import CertificateType

from .eligibility import resident_refusal, type_refusal
from .profile import Profile
from .register import Household, Issuance, Register, Resident, SealRegistration
from .render.inkan import render_inkan
from .render.inputs import InkanInput, JuminhyoInput, Person
from .render.juminhyo import render_juminhyo

UNSUPPORTED_ITEMS = ("domicile", "nationality")  # 本籍・筆頭者, 国籍・在留資格


def issue_day(at: str) -> date:
    """The day of issuance in Japan, from the center's ``at``."""
    try:
        return parse_instant(at).astimezone(TOKYO).date()
    except ValueError as exc:
        raise invalid_request([{"field": "at", "message": "not an ISO 8601 time"}]) from exc


def certificate_number(code: str, year: int, serial: int) -> str:
    """証明書番号: municipality, year, serial, e.g. ``131016-2026-0000042``."""
    return f"{code}-{year}-{serial:07d}"


def select_members(household: Sequence[Resident],
                   members: str | list[str] | None) -> tuple[list[Resident], bool]:
    """The members to print and whether that is the whole household.

    ``"household"`` (or nothing) means every current member; a list must name
    current members of the holder's own household."""
    if members is None or members == "household":
        return list(household), True
    by_id = {m.member_id: m for m in household}
    outside = [m for m in members if m not in by_id]
    if outside:
        raise Problem("member-not-in-household",
                      "a requested member is not in the cardholder's household")
    chosen = [m for m in household if m.member_id in set(members)]
    return chosen, len(chosen) == len(household)


def _person(member: Resident, show_relationship: bool) -> Person:
    return Person(member.name, member.name_kana, member.birth_date, member.sex,
                  member.relationship if show_relationship else None, member.moved_in_on,
                  member.moved_in_reason, member.previous_address,
                  use_western_dates=member.nationality is not None)


def juminhyo_input(profile: Profile, household: Household, members: list[Resident],
                   head: Resident | None, *, whole_household: bool, show_relationship: bool,
                   number: str, day: date, copy_index: int, copies: int) -> JuminhyoInput:
    return JuminhyoInput(
        municipality=profile.municipality, certificate_number=number, issued_on=day,
        address=household.address, head_of_household=head.name if head else "",
        members=tuple(_person(m, show_relationship) for m in members),
        show_relationship=show_relationship, copy_index=copy_index, copies=copies,
        whole_household=whole_household)


def inkan_input(profile: Profile, holder: Resident, address: str, seal: SealRegistration,
                *, number: str, day: date) -> InkanInput:
    return InkanInput(
        municipality=profile.municipality, certificate_number=number, issued_on=day,
        name=holder.name, name_kana=holder.name_kana, birth_date=holder.birth_date,
        sex=holder.sex, address=address, seal_image_png=seal.image_png,
        use_western_dates=holder.nationality is not None)


class Issuer:
    def __init__(self, profile: Profile, register: Register) -> None:
        self.profile = profile
        self.register = register
        # One lock per request id, so a retry that races its original waits for
        # it and then returns the very same certificates.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    async def eligible_holder(self, resident_code: str, day: date
                              ) -> tuple[Resident, Household]:
        holder = await self.register.resident(resident_code)
        household = await self.register.household(holder.household_id) if holder else None
        if holder is None or household is None:
            raise Problem("resident-ineligible", "not a resident of this municipality",
                          reason="not-resident", message="住民登録がありません")
        refusal = resident_refusal(holder, household.address, day)
        if refusal:
            raise Problem("resident-ineligible", refusal.message, reason=refusal.reason,
                          message=refusal.message)
        return holder, household

    async def menu(self, resident_code: str, at: str) -> dict[str, Any]:
        day = issue_day(at)
        holder, household = await self.eligible_holder(resident_code, day)
        seal = await self.register.seal(resident_code)
        items = []
        for service in self.profile.services:
            cert_type = CertificateType(service["type"])
            refusal = type_refusal(cert_type.value, seal)
            item: dict[str, Any] = {"type": cert_type.value, "label": cert_type.label,
                                    "fee_yen": service["fee_yen"], "available": refusal is None}
            if refusal:
                item.update(reason=refusal.reason, message=refusal.message)
            items.append(item)
        members = await self.register.household_members(household.household_id)
        return {
            "items": items,
            "household": [{"member_id": m.member_id, "name": m.name,
                           "relationship": m.relationship,
                           "self": m.resident_code == holder.resident_code} for m in members],
            "max_copies": 10,
        }

    async def issue(self, request: dict[str, Any]) -> dict[str, Any]:
        request_id = request["request_id"]
        lock = self._locks.setdefault(request_id, asyncio.Lock())
        async with lock:
            done = await self.register.issuance(request_id)
            if done is not None:
                if (done.resident_code, done.type, done.copies) != (
                        request["resident_code"], request["type"], request["copies"]):
                    raise Problem("conflict", "this request_id was used for another request")
                return done.response
            return await self._issue_new(request)

    async def _issue_new(self, request: dict[str, Any]) -> dict[str, Any]:
        day = issue_day(request["at"])
        cert_type = request["type"]
        fee = self.profile.fee(cert_type)
        if fee is None:
            raise Problem("type-unavailable", "this municipality does not offer this type",
                          reason="not-offered", message="この証明書は発行できません")
        holder, household = await self.eligible_holder(request["resident_code"], day)
        seal = await self.register.seal(holder.resident_code)
        refusal = type_refusal(cert_type, seal)
        if refusal:
            raise Problem("type-unavailable", refusal.message, reason=refusal.reason,
                          message=refusal.message)

        copies: int = request["copies"]
        options: dict[str, Any] = request["options"]
        # Printing these items comes with the full 住民票 layout; until then a
        # request for them is refused rather than silently left off the paper.
        not_yet = [name for name in UNSUPPORTED_ITEMS if options.get(name)]
        if not_yet:
            raise invalid_request([{"field": f"options.{name}",
                                    "message": "this item cannot be printed yet"}
                                   for name in not_yet])
        serials = await self.register.next_certificate_numbers(copies, day.year)
        numbers = [certificate_number(self.profile.code, day.year, s) for s in serials]
        if cert_type == "juminhyo":
            current = await self.register.household_members(household.household_id)
            members, whole = select_members(current, options.get("members"))
            head = next((m for m in current if m.relationship == "世帯主"), None)
            inputs: list[Any] = [juminhyo_input(
                self.profile, household, members, head, whole_household=whole,
                show_relationship=bool(options.get("relationship")), number=number, day=day,
                copy_index=index, copies=copies) for index, number in enumerate(numbers, 1)]
            render: Any = render_juminhyo
        else:
            assert seal is not None
            inputs = [inkan_input(self.profile, holder, household.address, seal,
                                  number=number, day=day) for number in numbers]
            render = render_inkan

        certificates = []
        for value, number in zip(inputs, numbers, strict=True):
            # Rendering is CPU work: off the event loop, so other kiosks go on.
            pdf = await asyncio.to_thread(_render_locked, render, value)
            certificates.append({"certificate_number": number,
                                 "pdf": base64.b64encode(pdf).decode("ascii"),
                                 "sha256": hashlib.sha256(pdf).hexdigest(), "fee_yen": fee})
        response = {"fee_yen": fee * copies, "certificates": certificates}
        await self.register.record_issuance(
            Issuance(request["request_id"], holder.resident_code, cert_type, copies, options,
                     response),
            datetime.now(TOKYO), request["kiosk"], numbers)
        return response


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
