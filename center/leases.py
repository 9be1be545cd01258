"""Jobs that must run once for the whole center, not once per worker.

The upkeep (void orders after 10 minutes, close idle sessions, re-check
municipal servers) runs in every worker's loop, but a round does its work
only in the worker that holds the ``upkeep`` lease: a row in the database
taken by one conditional upsert (``center/storage/shared_state.py``). The holder
renews it every round; if it dies, another worker takes it once it lapses."""

from __future__ import annotations

import time

from konbini.workers import holder_id

from .storage.shared_state import SharedState

UPKEEP = "upkeep"


class Lease:
    """One named lease as seen from one process."""

    def __init__(self, shared: SharedState, name: str, ttl_seconds: float,
                 holder: str | None = None) -> None:
        self.shared, self.name, self.ttl = shared, name, ttl_seconds
        self.holder = holder or holder_id()

    async def hold(self, now: float | None = None) -> bool:
        """Take or renew; True while this process holds the lease."""
        return await self.shared.claim_lease(
            self.name, self.holder, time.time() if now is None else now, self.ttl)

    async def release(self) -> None:
        """On a clean stop, so another worker need not wait for the lapse."""
        await self.shared.release_lease(self.name, self.holder)
