"""Putting the persona residents into an empty register, and keeping the
date-bound ones true on later days."""

from __future__ import annotations

from datetime import date

from .personas import (
    PersonaHousehold,
    persona_damage_reports,
    persona_family_registers,
    persona_households,
    persona_pending_notifications,
    persona_tax_records,
    resident_code,
    seal_for,
    synthetic_household,
)
from .register import Register, SealRegistration


async def seed_personas(register: Register, code: str, today: date, *,
                        synthetic: int = 0, address_prefix: str = "") -> int:
    """The personas of ``code`` (residents, seals, 戸籍, tax, 罹災), plus
    ``synthetic`` numbered one-person households."""
    households: list[PersonaHousehold] = persona_households(code, today)
    households += [synthetic_household(code, address_prefix, i) for i in range(synthetic)]
    count = 0
    for persona in households:
        await register.add_household(persona.household, [r for _, r in persona.members])
        for key, resident in persona.members:
            count += 1
            if key in persona.seals or key in persona.abolished_seals:
                await register.register_seal(SealRegistration(
                    resident.resident_code, seal_for(resident.name), "active",
                    date(2016, 4, 1)))
            if key in persona.abolished_seals:
                await register.abolish_seal(resident.resident_code, date(2024, 4, 1))
    for family_register, persons in persona_family_registers(code, today):
        await register.add_family_register(family_register, persons)
    for register_id, kind, filed_on in persona_pending_notifications(code, today):
        await register.file_notification(register_id, kind, filed_on)
    for record in persona_tax_records(code, today):
        await register.record_tax(record)
    for report in persona_damage_reports(code):
        if await register.disaster(report.disaster.disaster_id) is None:
            await register.add_disaster(report.disaster)
        await register.record_damage(report)
    return count


async def refresh_personas(register: Register, code: str, today: date) -> None:
    """The ``moved-in-today`` persona moved in on the day the server starts,
    so a demo register seeded last week still shows the refusal; personas added
    since that register was seeded join it."""
    await add_missing_personas(register, code, today)
    await register.set_moved_in(resident_code(code, "moved-in-today"), today)


async def add_missing_personas(register: Register, code: str, today: date) -> int:
    """Persona households and 戸籍 a register seeded by an older release lacks
    (an existing demo var/ gets the new personas without being deleted)."""
    added = 0
    for persona in persona_households(code, today):
        if await register.household(persona.household.household_id) is not None:
            continue
        await register.add_household(persona.household, [r for _, r in persona.members])
        for key, resident in persona.members:
            added += 1
            if key in persona.seals:
                await register.register_seal(SealRegistration(
                    resident.resident_code, seal_for(resident.name), "active",
                    date(2016, 4, 1)))
    pending = persona_pending_notifications(code, today)
    for family_register, persons in persona_family_registers(code, today):
        if await register.family_register(family_register.register_id) is not None:
            continue
        await register.add_family_register(family_register, persons)
        for register_id, kind, filed_on in pending:
            if register_id == family_register.register_id:
                await register.file_notification(register_id, kind, filed_on)
    return added
