"""Load generator: many virtual kiosks issuing at once, with throughput and
latency figures. Each kiosk presents its own terminal certificate and runs
whole issuances (session, authenticate, menu, order, download, result)."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .card import VirtualCard
from .client import KioskClient, KioskProblem, Terminal


@dataclass
class LoadReport:
    kiosks: int
    issuances: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    # Open loop only: the arrivals a second asked for (None: closed loop).
    rate: float | None = None

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        return {
            **({"mode": "closed"} if self.rate is None
               else {"mode": "open", "arrivals_per_second": self.rate}),
            "kiosks": self.kiosks, "issuances": len(self.latencies),
            "failures": dict(self.failures), "seconds": round(self.seconds, 2),
            "certificates_per_second": round(self.throughput, 2),
            "latency_ms": {
                "median": round(statistics.median(self.latencies) * 1000, 1)
                if self.latencies else None,
                "p95": round(self.percentile(95) * 1000, 1),
                "p99": round(self.percentile(99) * 1000, 1),
                "max": round(max(self.latencies) * 1000, 1) if self.latencies else None,
            },
        }


async def run_load(terminals: list[Terminal], cards: list[tuple[VirtualCard, str]],
                   *, issuances: int, cert_type: str = "juminhyo",
                   options: dict[str, Any] | None = None) -> LoadReport:
    """Spread ``issuances`` over one worker per terminal; cards are used round robin."""
    report = LoadReport(len(terminals), issuances, 0.0)
    counter = iter(range(issuances))

    async def kiosk(terminal: Terminal) -> None:
        async with KioskClient(terminal) as client:
            for n in counter:
                card, pin = cards[n % len(cards)]
                started = time.perf_counter()
                try:
                    await client.issue(card, pin, cert_type, options=options or {})
                except KioskProblem as exc:
                    report.failures[exc.code] += 1
                    # Back off as a real kiosk would, rather than spin through the work.
                    await asyncio.sleep(float(exc.problem.get("retry_after_seconds", 0)))
                    continue
                report.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(kiosk(t) for t in terminals))
    report.seconds = time.perf_counter() - started
    return report


async def run_open_loop(terminals: list[Terminal], cards: list[tuple[VirtualCard, str]],
                        *, rate: float, duration: float, cert_type: str = "juminhyo",
                        options: dict[str, Any] | None = None) -> LoadReport:
    """Residents arriving at ``rate`` a second for ``duration`` seconds, as
    real kiosks see them: an arrival does not wait for the previous one.

    Each arrival is one whole issuance on a free terminal of the pool. Its
    latency runs from its *scheduled* arrival, so time spent waiting for a
    terminal or for a late event loop counts (no coordinated omission)."""
    count = max(1, round(rate * duration))
    report = LoadReport(len(terminals), count, 0.0, rate=rate)
    async with contextlib.AsyncExitStack() as stack:
        free: asyncio.Queue[KioskClient] = asyncio.Queue()
        for terminal in terminals:
            free.put_nowait(await stack.enter_async_context(KioskClient(terminal)))
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05

        async def arrival(n: int) -> None:
            scheduled = start + n / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            client = await free.get()
            try:
                card, pin = cards[n % len(cards)]
                await client.issue(card, pin, cert_type, options=options or {})
            except KioskProblem as exc:
                report.failures[exc.code] += 1
                return
            finally:
                free.put_nowait(client)
            report.latencies.append(loop.time() - scheduled)

        await asyncio.gather(*(arrival(n) for n in range(count)))
        report.seconds = loop.time() - start
    return report
