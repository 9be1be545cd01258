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
    await _save(ctx, CLOCK, {"offset_seconds": ctx.clock.offset_seconds})


async def save_faults(ctx: CenterContext) -> None:
    faults = ctx.municipal.faults
    await _save(ctx, FAULTS, {
        "down": sorted(faults.down), "slow": sorted(faults.slow),
        "endpoints": faults.endpoints, "wrong_person": sorted(faults.wrong_person),
        "foreign_page": sorted(faults.foreign_page)})


async def _save(ctx: CenterContext, name: str, value: dict[str, Any]) -> None:
    """Write what this process has just set. No read of the shared settings
    begun before the write ends is applied (see :func:`take`): it may hold the
    value being replaced."""
    ctx.dev_generation += 1
    ctx.dev_writes += 1
    try:
        await ctx.store.shared.set_dev_setting(name, value)
    finally:
        ctx.dev_writes -= 1
        ctx.dev_generation += 1


async def apply(ctx: CenterContext) -> None:
    """Take the clock and faults another worker may have set."""
    generation = ctx.dev_generation
    take(ctx, generation, await ctx.store.shared.dev_settings())


def take(ctx: CenterContext, generation: int, settings: dict[str, Any]) -> None:
    """Apply ``settings`` read since ``ctx.dev_generation`` was ``generation``
    (center/admission.py reads them in the request's admission transaction)."""
    if ctx.dev_generation != generation or ctx.dev_writes:
        return  # this process set newer ones while the read was under way
    if CLOCK in settings:
        ctx.clock.set_offset(float(settings[CLOCK]["offset_seconds"]))
    if FAULTS in settings:
        faults = settings[FAULTS]
        ctx.municipal.faults.set(down=frozenset(faults["down"]), slow=frozenset(faults["slow"]),
                                 endpoints=dict(faults["endpoints"]),
                                 wrong_person=frozenset(faults.get("wrong_person", ())),
                                 foreign_page=frozenset(faults.get("foreign_page", ())))

