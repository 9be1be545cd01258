"""The per-terminal request budget across every worker.

``center/rate_limit.py`` defines the budget (its ``rate`` per second and
``burst``); the bucket itself lives in the database (``rate_buckets``,
center/shared_state.py), refilled and spent by one conditional upsert per
request, so N workers give a terminal the same budget as one, not N times
it. Wall-clock time: every worker shares it."""

from __future__ import annotations

import time

from .rate_limit import RateLimiter
from .shared_state import SharedState


async def take(limiter: RateLimiter, shared: SharedState, terminal: str) -> float:
    """0.0 if the terminal may go on; otherwise the seconds until it may."""
    return await shared.take_token(terminal, time.time(), limiter.rate, limiter.burst)
