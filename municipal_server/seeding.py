"""Putting the persona residents into an empty register."""

from __future__ import annotations

from datetime import date

from .personas import PersonaHousehold, persona_households, seal_for, synthetic_household
from .register import Register, SealRegistration


async def seed_personas(register: Register, code: str, today: date, *,
                        synthetic: int = 0, address_prefix: str = "") -> int:
    """The personas of ``code``, plus ``synthetic`` numbered one-person households."""
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
    return count
