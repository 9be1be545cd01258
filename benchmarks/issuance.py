"""Benchmark: the time of one issuance end to end, and throughput with many
kiosks at once. Starts its own system on free loopback ports (clock pinned
to a weekday morning) and prints JSON figures.

    .venv/bin/python benchmarks/issuance.py [--issuances 60] [--kiosks 1 4 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from kiosk_sim.client import Terminal
from kiosk_sim.load import run_load
from kiosk_sim.wallet import Wallet
from konbini.clock import Clock, parse_instant
from konbini.devpki import DevPki, issue_tls_client_cert
from konbini.persona_cards import load_persona_cards
from konbini.topology import Ports, Topology

CLOCK = "2026-11-24T10:00:00+09:00"
ELIGIBLE = ("kasumi-taro", "kasumi-hanako", "no-seal", "foreign-resident")


def terminals(pki: Path, center_url: str, count: int, work: Path, run: int) -> list[Terminal]:
    """Fresh terminals for each run, so one run's rate budget does not carry over."""
    result = []
    for i in range(count):
        name = f"bench-{run}-{i:03d}"
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "seven-eleven"),
                             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"b-{i:03d}")])
        cert, key = issue_tls_client_cert(DevPki.at(pki), subject, work / name)
        result.append(Terminal(center_url, cert, key, pki / "tls-ca.cert.pem"))
    return result


def enrolled(topology: Topology, terminals: list[Terminal]) -> list[Terminal]:
    """The center serves only terminals in its registry."""
    topology.enrol_terminals([t.cert for t in terminals])
    return terminals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issuances", type=int, default=60)
    parser.add_argument("--kiosks", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        topology = Topology(var=var, ports=Ports.free(), log_dir=var / "logs",
                            # A load generator is no real kiosk: lift the per-terminal guard.
                            env={"KONBINI_CLOCK": CLOCK,
                                 "KONBINI_RATE_LIMIT_PER_MINUTE": "1000000"},
                            with_kiosk_ui=False)
        started = time.perf_counter()
        topology.start(timeout=120)
        try:
            asyncio.run(load_persona_cards(topology.center_url, topology.pki,
                                           topology.wallet_dir, Clock(parse_instant(CLOCK))))
            ready = time.perf_counter() - started
            wallet = Wallet(topology.wallet_dir)
            cards = [(wallet.get(key), "1234") for key in ELIGIBLE]
            results = {"startup_seconds": round(ready, 2), "runs": []}
            for run, count in enumerate(args.kiosks):
                report = asyncio.run(run_load(
                    enrolled(topology, terminals(topology.pki, topology.center_url, count,
                                                 Path(tmp), run)), cards,
                    issuances=args.issuances, options={"members": "household"}))
                results["runs"].append(report.summary())
            print(json.dumps(results, ensure_ascii=False, indent=2))
        finally:
            topology.stop()


if __name__ == "__main__":
    main()
