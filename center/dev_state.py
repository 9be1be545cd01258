"""The test environment's clock and faults (``--dev``), shared by every worker.

``PUT /v1/dev/clock`` or ``/v1/dev/faults`` reaches one worker; it writes the
setting to the database (``dev_settings``) and every worker applies it before
its next request and its next upkeep round, so a tester who moves the clock
moves the whole center. The clock is kept as an offset from real time, which
every process shares. ``python -m center migrate`` clears the settings: they
belong to one run of a test environment."""

from __future__ import annotations

from typing import Any

from .context import CenterContext

CLOCK, FAULTS = "clock", "faults"


async def save_clock(ctx: CenterContext) -> None:
    ctx.dev_generation += 1
    await ctx.store.shared.set_dev_setting(CLOCK, {"offset_seconds": ctx.clock.offset_seconds})
    ctx.dev_generation += 1  # a read made while the write was under way saw the old value


async def save_faults(ctx: CenterContext) -> None:
    ctx.dev_generation += 1
    faults = ctx.municipal.faults
    await ctx.store.shared.set_dev_setting(FAULTS, {
        "down": sorted(faults.down), "slow": sorted(faults.slow),
        "endpoints": faults.endpoints, "wrong_person": sorted(faults.wrong_person),
        "foreign_page": sorted(faults.foreign_page)})
    ctx.dev_generation += 1


async def apply(ctx: CenterContext) -> None:
    """Take the clock and faults another worker may have set."""
    generation = ctx.dev_generation
    take(ctx, generation, await ctx.store.shared.dev_settings())


def take(ctx: CenterContext, generation: int, settings: dict[str, Any]) -> None:
    """Apply ``settings`` read since ``ctx.dev_generation`` was ``generation``
    (center/admission.py reads them in the request's admission transaction)."""
    if ctx.dev_generation != generation:
        return  # this process set newer ones while the read was under way
    if CLOCK in settings:
        ctx.clock.set_offset(float(settings[CLOCK]["offset_seconds"]))
    if FAULTS in settings:
        faults = settings[FAULTS]
        ctx.municipal.faults.set(down=frozenset(faults["down"]), slow=frozenset(faults["slow"]),
                                 endpoints=dict(faults["endpoints"]),
                                 wrong_person=frozenset(faults.get("wrong_person", ())),
                                 foreign_page=frozenset(faults.get("foreign_page", ())))

