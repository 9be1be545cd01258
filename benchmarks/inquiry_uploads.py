"""Benchmark: the public inquiry site under crafted uploads. Starts its own system
on free loopback ports, issues one real certificate, then sends 48 crafted PNGs at
once while it samples the center's memory (/proc/<pid>/status) and times the real
certificate's verification. Prints JSON figures.

    .venv/bin/python benchmarks/inquiry_uploads.py [--uploads 48] [--scenarios report ...]

Scenarios, each against the same running center:

- ``report``: the PNG of the report, 5300 × 7490 (39.7 Mpx, ~150 KB), each from
  its own address (48 clients, so the per-address budget does not help);
- ``largest``: the largest image a 600 dpi scan of A4 may be (5100 × 7050 =
  36.0 Mpx), also from 48 addresses: read, at 300 dpi, a strip at a time;
- ``one-address``: the report's PNG 48 times from one address.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

from kiosk_sim.client import KioskClient, Terminal
from kiosk_sim.wallet import Wallet
from konbini.clock import Clock, parse_instant
from konbini.devpki import DevPki, issue_tls_client_cert, kiosk_subject
from konbini.persona_cards import load_persona_cards
from konbini.topology import Ports, Topology

CLOCK = "2026-11-24T10:00:00+09:00"
MIB = 1024 * 1024


def crafted_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (255, 255, 255)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS since start) of a process, in KiB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0])
    return figures


class Sampler(threading.Thread):
    """The center's RSS every 10 ms, while a scenario runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid)["VmRSS"])
            time.sleep(0.01)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kib


async def verify(public_url: str, data: bytes, filename: str, address: str = "127.0.0.1",
                 ) -> tuple[int, Any, float]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            local_addr=(address, 0))) as session, session.post(
            f"{public_url}/v1/verify", data=form) as response:
        body = await response.json(content_type=None)
        return response.status, body, time.perf_counter() - started


async def real_certificate(topology: Topology, work: Path) -> bytes:
    cert, key = issue_tls_client_cert(DevPki.at(topology.pki),
                                      kiosk_subject("bench-inquiry", "seven-eleven", "b-1"),
                                      work / "bench-inquiry")
    topology.enrol_terminals([cert])
    terminal = Terminal(topology.center_url, cert, key, topology.pki / "tls-ca.cert.pem")
    async with KioskClient(terminal) as kiosk:
        result = await kiosk.issue(Wallet(topology.wallet_dir).get("kasumi-taro"), "1234",
                                   "juminhyo", out_dir=work)
    return result.files[0].read_bytes()


async def scenario(topology: Topology, pid: int, real_pdf: bytes, crafted: bytes,
                   addresses: list[str]) -> dict[str, Any]:
    """The crafted uploads all at once; meanwhile the real PDF, one check after
    another, each from a relying party of its own (an address of its own)."""
    before = memory_kib(pid)["VmRSS"]
    sampler = Sampler(pid)
    sampler.start()
    started = time.perf_counter()
    attack = asyncio.gather(*(verify(topology.public_url, crafted, "back.png", address)
                              for address in addresses))
    real_times: list[float] = []
    while not attack.done():
        bank = f"127.0.200.{1 + len(real_times) % 250}"
        status, body, seconds = await verify(topology.public_url, real_pdf, "cert.pdf", bank)
        assert status == 200 and body["status"] == "valid", body
        real_times.append(seconds)
    answers = await attack
    elapsed = time.perf_counter() - started
    peak = sampler.stop()
    codes: dict[str, int] = {}
    for status, body, _ in answers:
        key = f"{status} {body.get('code') or body.get('status')}"
        codes[key] = codes.get(key, 0) + 1
    return {
        "crafted_bytes": len(crafted),
        "answers": codes,
        "crafted_answer_seconds_max": round(max(s for _, _, s in answers), 2),
        "all_answered_seconds": round(elapsed, 2),
        "center_rss_before_mib": round(before / 1024, 1),
        "center_rss_peak_mib": round(peak / 1024, 1),
        "center_rss_after_mib": round(memory_kib(pid)["VmRSS"] / 1024, 1),
        "real_pdf_checks_meanwhile": len(real_times),
        "real_pdf_answer_seconds_median": round(statistics.median(real_times), 3),
        "real_pdf_answer_seconds_max": round(max(real_times), 3),
    }


SCENARIOS = ("report", "largest", "one-address")


async def run(topology: Topology, uploads: int, work: Path,
              scenarios: list[str]) -> dict[str, Any]:
    pid = topology.processes["center"].pid
    await load_persona_cards(topology.center_url, topology.pki, topology.wallet_dir,
                             Clock(parse_instant(CLOCK)))
    real_pdf = await real_certificate(topology, work)
    quiet = [(await verify(topology.public_url, real_pdf, "cert.pdf", f"127.0.201.{i}"))[2]
             for i in range(1, 6)]
    crafted = {"report": crafted_png(5300, 7490), "largest": crafted_png(5100, 7050)}
    addresses = {"report": [f"127.0.{1 + i // 200}.{1 + i % 200}" for i in range(uploads)],
                 "largest": [f"127.0.9.{1 + i % 200}" for i in range(uploads)],
                 "one-address": ["127.0.8.1"] * uploads}
    results: dict[str, Any] = {
        "uploads": uploads,
        "real_pdf_answer_seconds_quiet_median": round(statistics.median(quiet), 3),
        "scenarios": {name: await scenario(topology, pid, real_pdf,
                                           crafted.get(name, crafted["report"]),
                                           addresses[name])
                      for name in scenarios},
    }
    figures = memory_kib(pid)
    results["center_vmhwm_mib"] = round(figures["VmHWM"] / 1024, 1)  # peak since start
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=48)
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        topology = Topology(var=var, ports=Ports.free(), log_dir=var / "logs",
                            env={"KONBINI_CLOCK": CLOCK}, with_kiosk_ui=False)
        topology.start(timeout=120)
        try:
            results = asyncio.run(run(topology, args.uploads, Path(tmp), args.scenarios))
        finally:
            topology.stop()
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
