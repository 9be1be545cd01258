"""The dev clock and faults shared by every worker (center/dev_state.py): a
read of the shared settings that overlaps this process's own write is never
applied, since it may hold the value being replaced (CI found ``PUT
/v1/dev/faults`` answering the faults it had just replaced)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from center import dev_state
from center.municipal_client import MunicipalFaults
from konbini.clock import Clock

OLD = {"faults": {"down": [], "slow": [], "endpoints": {}}}


class SlowSharedSettings:
    """The database: a write that takes a while, reads that answer what was committed."""

    def __init__(self) -> None:
        self.committed: dict[str, Any] = dict(OLD)
        self.writing = asyncio.Event()
        self.finish = asyncio.Event()

    async def set_dev_setting(self, name: str, value: dict[str, Any]) -> None:
        self.writing.set()
        await self.finish.wait()
        self.committed = {**self.committed, name: value}

    async def dev_settings(self) -> dict[str, Any]:
        return dict(self.committed)


async def test_a_read_begun_and_ended_during_the_write_is_not_applied() -> None:
    shared = SlowSharedSettings()
    ctx: Any = SimpleNamespace(store=SimpleNamespace(shared=shared), clock=Clock(),
                               municipal=SimpleNamespace(faults=MunicipalFaults()),
                               dev_generation=0, dev_writes=0)
    ctx.municipal.faults.set(down=frozenset({"131016"}), slow=frozenset(), endpoints={})
    saving = asyncio.create_task(dev_state.save_faults(ctx))
    await shared.writing.wait()
    await dev_state.apply(ctx)  # another request's read: it sees the old row
    assert ctx.municipal.faults.down == {"131016"}
    shared.finish.set()
    await saving
    await dev_state.apply(ctx)  # after the write, reads apply again
    assert ctx.municipal.faults.down == {"131016"}
    shared.committed = {"faults": {"down": ["452017"], "slow": [], "endpoints": {}}}
    await dev_state.apply(ctx)  # another worker's setting is taken
    assert ctx.municipal.faults.down == {"452017"}
