"""Load generator: many virtual kiosks issuing at once, with throughput and
latency figures. Each kiosk presents its own terminal certificate and runs
whole issuances (session, authenticate, menu, order, download, result)."""

from __future__ import annotations

import asyncio
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
