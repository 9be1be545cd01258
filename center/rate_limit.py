"""Request budgets (token buckets), 429 ``rate-limited`` past them.

Two budgets: each kiosk terminal's on the mutual-TLS API (keyed by its
certificate's fingerprint, sized by its CN), and each client address's uploads to the public inquiry
site. The buckets live in the center's database, not in a process's memory,
so every worker process of the center draws from the same budget. They run
on real time (never the test environment's movable clock: moving it must not
refill or freeze anyone's budget).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from konbini.problems import Problem, problem_response

TERMINAL = "terminal"
UPLOAD = "upload"

_SPEC = re.compile(r"(?P<key>[a-z]+:[^=\s,]+)=(?P<per_minute>[0-9]+)(?:/(?P<burst>[0-9]+))?")


@dataclass(frozen=True)
class Budget:
    """``per_minute`` requests on average, ``burst`` at once."""

    per_minute: int
    burst: int

    @classmethod
    def of(cls, per_minute: int, burst: int | None = None) -> Budget:
        if per_minute < 1 or (burst is not None and burst < 1):
            raise ValueError("a budget allows at least one request")
        return cls(per_minute, burst if burst is not None else max(10, per_minute // 6))

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


def parse_budgets(text: str) -> dict[str, Budget]:
    """``terminal:kiosk-0001=60000/10000 upload:127.0.0.1=600`` (space or comma
    separated ``KIND:NAME=PER_MINUTE[/BURST]``) → budgets by bucket key."""
    budgets: dict[str, Budget] = {}
    for item in filter(None, re.split(r"[\s,]+", text.strip())):
        match = _SPEC.fullmatch(item)
        if match is None:
            raise ValueError(f"a budget is KIND:NAME=PER_MINUTE[/BURST], not {item!r}")
        burst = match["burst"]
        budgets[match["key"]] = Budget.of(int(match["per_minute"]),
                                          int(burst) if burst else None)
    return budgets


class BudgetStore(Protocol):
    async def take_token(self, key: str, per_second: float, burst: float,
                         now: float) -> float: ...


@dataclass
class RateLimiter:
    """Budgets by kind (``terminal``, ``upload``), with overrides per bucket key."""

    store: BudgetStore
    defaults: Mapping[str, Budget]
    overrides: Mapping[str, Budget] = field(default_factory=dict)
    clock: Callable[[], float] = time.time

    def budget(self, key: str) -> Budget:
        return self.overrides.get(key) or self.defaults[key.split(":", 1)[0]]

    async def allow(self, kind: str, name: str, budget_name: str | None = None) -> float:
        """0.0 if allowed; otherwise the seconds until the next request may go.
        The bucket is ``name``'s; its size ``budget_name``'s override (default
        ``name``): a terminal's bucket is its certificate's, its size set by CN."""
        key = f"{kind}:{name}"
        budget = self.budget(f"{kind}:{budget_name or name}")
        return await self.store.take_token(key, budget.per_second, float(budget.burst),
                                           self.clock())

    async def check(self, kind: str, name: str, detail: str,
                    budget_name: str | None = None) -> None:
        """Raise :class:`RateLimited` past the budget."""
        wait = await self.allow(kind, name, budget_name)
        if wait > 0:
            raise RateLimited(detail, wait)


class RateLimited(Exception):
    """Past a budget: answer 429 ``rate-limited`` with ``Retry-After``."""

    def __init__(self, detail: str, wait: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.wait = wait

    def response(self) -> web.Response:
        problem = Problem("rate-limited", self.detail,
                          retry_after_seconds=max(0.01, round(self.wait, 2)))
        # Retry-After is whole seconds (RFC 9110); the body has the precise figure.
        return problem_response(problem, {"Retry-After": str(max(1, math.ceil(self.wait)))})
