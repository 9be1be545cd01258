"""Benchmark: whole issuances (session, authenticate, menu, order, download,
result) against a system this script starts on free loopback ports, clock
pinned to a weekday morning.

Closed loop: ``--kiosks 1 4 32`` kiosks each issue back to back until
``--issuances`` are done. Open loop: ``--rate 50 --duration 20`` residents
arrive at a fixed rate whatever the system's state, each latency counted from
the scheduled arrival (no coordinated omission).

For each run it prints throughput, p50/p95/p99, the CPU time per issuance of
each process (utime + stime from /proc, workers included), the load average,
the bare render of the same certificate in this process, and the ratio of the
services' CPU per issuance to that render. The machine may be shared: CPU ms
per issuance is the figure that travels, wall-clock figures are the host's.

    .venv/bin/python benchmarks/issuance.py --kiosks 1 8 32 --issuances 600
    .venv/bin/python benchmarks/issuance.py --kiosks --rate 50 --duration 20
    .venv/bin/python benchmarks/issuance.py --center-workers 2 --kiosks 32 --issuances 600
    .venv/bin/python benchmarks/issuance.py --database sqlite postgresql \\
        --center-workers 1 2 --kiosks 16 --issuances 150    # the four systems, one by one
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk_sim.card import VirtualCard
from kiosk_sim.client import Terminal
from kiosk_sim.load import LoadReport, run_load, run_open_loop
from kiosk_sim.wallet import Wallet
from konbini.clock import Clock, parse_instant
from konbini.devpki import DevPki, issue_tls_client_cert
from konbini.persona_cards import load_persona_cards
from konbini.postgres import PostgresServer, free_port
from konbini.topology import MUNICIPALITY_CODES, Ports, Topology
from konbini.wire import CertificateType

CLOCK = "2026-11-24T10:00:00+09:00"
# The two adults of 霞 太郎's household: every issuance is the same 3-person
# 住民票の写し (members "household"), so the bare render below is its render.
HOUSEHOLD = ("kasumi-taro", "kasumi-hanako")
OPTIONS = {"members": "household"}
CHIYODA = "131016"
TICKS = os.sysconf("SC_CLK_TCK")


# -- CPU time of processes, from /proc ----------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def cpu_seconds(pid: int, *, descendants: bool = True) -> float:
    """utime + stime of ``pid`` and its live descendants (the workers of
    ``serve --workers N``), in seconds."""
    tree = _children() if descendants else {}
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        todo += tree.get(current, [])
    return total


@dataclass
class CpuMeter:
    """Per-process CPU seconds between two readings."""

    pids: dict[str, int]

    def read(self) -> dict[str, float]:
        # This process alone: its children are the services (and the profilers).
        return {name: cpu_seconds(pid, descendants=pid != os.getpid())
                for name, pid in self.pids.items()}


# -- the system under test ------------------------------------------------------------------
class BenchTopology(Topology):
    """The test topology, with ``--workers`` for the center and 千代田区 when asked."""

    def __init__(self, *args: Any, center_workers: int = 1, municipal_workers: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers = {"center": center_workers, f"municipal-{CHIYODA}": municipal_workers}

    def _spawn(self, name: str, args: list[str]) -> None:
        count = self.workers.get(name, 1)
        super()._spawn(name, args + (["--workers", str(count)] if count > 1 else []))


def supports_workers(module: str) -> bool:
    help_text = subprocess.run([sys.executable, "-m", module, "serve", "--help"],
                               capture_output=True, text=True, check=False).stdout
    return "--workers" in help_text


def terminals(topology: Topology, count: int, work: Path, run: str) -> list[Terminal]:
    """Fresh terminals for each run, so one run's rate budget does not carry over,
    enrolled in the center's registry (it serves no other)."""
    pki, center_url = topology.pki, topology.center_url
    result = []
    for i in range(count):
        name = f"bench-{run}-{i:03d}"
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "seven-eleven"),
                             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"b-{i:03d}")])
        cert, key = issue_tls_client_cert(DevPki.at(pki), subject, work / name)
        result.append(Terminal(center_url, cert, key, pki / "tls-ca.cert.pem"))
    topology.enrol_terminals([t.cert for t in result])
    return result


# -- the bare render ---------------------------------------------------------------------------
async def bare_render_ms(register_at: Path | str, resident_code: str,
                         renders: int) -> dict[str, Any]:
    """Median time to render the benchmark's certificate with the municipal
    server's own code, in this process: the holder and household read from
    the running register, the input built as the issuer builds it."""
    from municipal_server.issuance import Issuer, _render_locked
    from municipal_server.profile import load_profile
    from municipal_server.register import Register

    register = await Register.open(register_at)
    try:
        issuer = Issuer(load_profile(CHIYODA), register)
        day = parse_instant(CLOCK).date()
        holder = await issuer.holder(resident_code, day)
        # (the renderer, one input per copy, and whatever else the issuer needs)
        render, inputs, *_ = await issuer._documents(
            CertificateType.JUMINHYO, holder, OPTIONS, [f"{CHIYODA}-{day.year}-9999999"], day)
    finally:
        await register.close()
    pdf = _render_locked(render, inputs[0])  # the first render loads the font and the seal
    times = []
    for _ in range(renders):
        started = time.process_time()
        _render_locked(render, inputs[0])
        times.append(time.process_time() - started)
    return {"certificate": f"住民票の写し ({len(inputs[0].members)} persons)",
            "median_ms": round(statistics.median(times) * 1000, 2),
            "pdf_bytes": len(pdf), "renders": renders}


# -- one run ----------------------------------------------------------------------------------
def start_profilers(meter: CpuMeter, directory: Path | None, run: str,
                    ) -> list[subprocess.Popen[bytes]]:
    """py-spy (``pip install py-spy``, not a dependency) sampling every process
    of the run, workers included, as collapsed stacks: DIR/<run>-<process>.txt.
    ``--gil``: only samples holding the GIL, close to CPU time (waits on the
    disk or the network left out; C code that drops the GIL too)."""
    if directory is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    return [subprocess.Popen(
        [str(spy), "record", "--pid", str(pid), "--subprocesses", "--rate", "250",
         "--format", "raw", "--nonblocking", "--gil", "-o", str(directory / f"{run}-{name}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, pid in meter.pids.items()]


def stop_profilers(profilers: list[subprocess.Popen[bytes]]) -> None:
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        profiler.wait(timeout=60)


def run_once(kind: str, load: Any, meter: CpuMeter, render_ms: float,
             profile: Path | None = None) -> dict[str, Any]:
    profilers = start_profilers(meter, profile, kind)
    before = meter.read()
    wall = time.perf_counter()
    report: LoadReport = asyncio.run(load)
    wall = time.perf_counter() - wall
    after = meter.read()
    stop_profilers(profilers)
    done = max(1, len(report.latencies))
    cpu_ms = {name: round((after[name] - before[name]) * 1000 / done, 2) for name in before}
    services = round(sum(v for k, v in cpu_ms.items() if k != "load-generator"), 2)
    summary = report.summary()
    return {**summary, "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpu_ms_per_issuance": {**cpu_ms, "services": services},
            "cpu_share_of_2_cores": round(
                sum(after[k] - before[k] for k in before) / wall / 2, 2),
            "services_cpu_per_bare_render": round(services / render_ms, 2)}


def what(run: dict[str, Any]) -> str:
    load = (f"{run['kiosks']} kiosks" if run["mode"] == "closed"
            else f"open {run['arrivals_per_second']:g}/s")
    return f"{run['database']}, {run['center_workers']} center w., {load}"


def row(run: dict[str, Any]) -> str:
    cpu = run["cpu_ms_per_issuance"]
    municipal = sum(v for k, v in cpu.items() if k.startswith("municipal-"))
    lat = run["latency_ms"]
    failures = sum(run["failures"].values())
    return (f"| {what(run)} | {run['issuances']}{f' (+{failures} failed)' if failures else ''} | "
            f"{run['certificates_per_second']} | {lat['median']} | {lat['p95']} | {lat['p99']} | "
            f"{cpu['center']} | {round(municipal, 2)} | {cpu['load-generator']} | "
            f"{cpu['services']} | {run['services_cpu_per_bare_render']} | "
            f"{run['load_average'][0]} |")


HEADER = ("| run | issuances | cert/s | p50 ms | p95 ms | p99 ms | center CPU ms | "
          "municipal CPU ms | loadgen CPU ms | services CPU ms | ÷ bare render | load avg |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuances", type=int, default=60,
                        help="issuances per closed-loop run (default 60)")
    parser.add_argument("--kiosks", type=int, nargs="*", default=[1, 4, 8],
                        help="closed-loop runs, one per number of kiosks (none: skip)")
    parser.add_argument("--rate", type=float, nargs="*", default=[],
                        help="open-loop runs, one per arrival rate (per second)")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of arrivals per open-loop run (default 20)")
    parser.add_argument("--pool", type=int, default=64,
                        help="terminals the open-loop arrivals share (default 64)")
    parser.add_argument("--center-workers", type=int, nargs="+", default=[1],
                        help="center worker processes; several values: one system each")
    parser.add_argument("--database", nargs="+", choices=("sqlite", "postgresql"),
                        default=["sqlite"],
                        help="the services' engine; postgresql starts a real server "
                             "(konbini/postgres.py) in a temporary directory, one database "
                             "per service; several values: one system each")
    parser.add_argument("--municipal-workers", type=int, default=1,
                        help="worker processes of 千代田区's server")
    parser.add_argument("--renders", type=int, default=50, help="bare renders to time")
    parser.add_argument("--warm-up", type=int, default=8,
                        help="issuances before the measured runs (fonts, caches, connections)")
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="sample every process with py-spy during the runs (its CPU "
                             "then counts in the figures: profile, or measure, not both)")
    args = parser.parse_args()
    for module, count in (("center", max(args.center_workers)),
                          ("municipal_server", args.municipal_workers)):
        if count > 1 and not supports_workers(module):
            parser.error(f"{module} serve has no --workers yet (the scale-out branch)")

    def say(text: str) -> None:
        if not args.json:
            print(text, flush=True)

    postgres: PostgresServer | None = None
    if "postgresql" in args.database:
        base = Path(tempfile.mkdtemp(prefix="konbini-bench-pg-"))
        base.chmod(0o755)  # the server runs as `postgres` when this runs as root
        postgres = PostgresServer(base / "data", free_port())
        postgres.start()
    results = []
    try:
        for database in args.database:
            for center_workers in args.center_workers:
                results.append(one_system(args, say, database, center_workers, postgres))
    finally:
        if postgres is not None:
            postgres.stop()
            shutil.rmtree(postgres.data_dir.parent, ignore_errors=True)
    if len(results) > 1:
        say("\nSummary (certificates a second, p99 ms):\n\n| run | cert/s | p99 ms |"
            "\n|---|---:|---:|")
        for system in results:
            for run in system["runs"]:
                say(f"| {what(run)} | {run['certificates_per_second']} | "
                    f"{run['latency_ms']['p99']} |")
    print(json.dumps(results if len(results) > 1 else results[0], ensure_ascii=False,
                     indent=2))


def one_system(args: argparse.Namespace, say: Any, database: str, center_workers: int,
               postgres: PostgresServer | None) -> dict[str, Any]:
    """Start a system on ``database`` with ``center_workers``, run every load
    asked for against it, stop it; its results."""
    suffix = f"_w{center_workers}"
    urls = {} if database == "sqlite" or postgres is None else {
        "center": postgres.create_database("center" + suffix),
        **{code: postgres.create_database(f"municipal_{code}{suffix}")
           for code in MUNICIPALITY_CODES}}
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        topology = BenchTopology(
            var=var, ports=Ports.free(), log_dir=var / "logs",
            # A load generator is no real kiosk: lift the per-terminal guard.
            env={"KONBINI_CLOCK": CLOCK, "KONBINI_RATE_LIMIT_PER_MINUTE": "1000000"},
            with_kiosk_ui=False, center_workers=center_workers,
            municipal_workers=args.municipal_workers, database_urls=urls)
        started = time.perf_counter()
        topology.start(timeout=120)
        try:
            asyncio.run(load_persona_cards(topology.center_url, topology.pki,
                                           topology.wallet_dir, Clock(parse_instant(CLOCK))))
            ready = time.perf_counter() - started
            wallet = Wallet(topology.wallet_dir)
            # Cards in memory: a wallet card re-reads and locks its file at every
            # use (several kiosk processes share it), which is the load generator's
            # cost, not the system's. The PIN is right, so no state changes.
            cards = [(VirtualCard.from_record(wallet.get(key).to_record()), "1234")
                     for key in HOUSEHOLD]
            resident = wallet.entry(HOUSEHOLD[0]).resident_code
            assert resident is not None
            render = asyncio.run(bare_render_ms(
                urls.get(CHIYODA) or var / "municipal" / CHIYODA / "register.db", resident,
                args.renders))
            # On PostgreSQL its server's processes count among the services' CPU.
            server = {} if not urls or postgres is None else {"postgresql": int(
                (postgres.data_dir / "postmaster.pid").read_text().split()[0])}
            meter = CpuMeter({**{name: p.pid for name, p in topology.processes.items()},
                              **server, "load-generator": os.getpid()})
            results: dict[str, Any] = {
                "startup_seconds": round(ready, 2), "bare_render": render,
                "database": database, "center_workers": center_workers,
                "municipal_workers": args.municipal_workers, "runs": []}
            say(f"bare render of the {render['certificate']}: {render['median_ms']} ms CPU "
                f"(median of {render['renders']}), {render['pdf_bytes']} bytes; "
                f"{database}; workers: center {center_workers}, 千代田区 {args.municipal_workers}")
            work = Path(tmp)
            if args.warm_up:
                asyncio.run(run_load(terminals(topology, 2, work, "w"),
                                     cards, issuances=args.warm_up, options=OPTIONS))
            say(HEADER)
            for count in args.kiosks:
                run = run_once("closed", run_load(
                    terminals(topology, count, work, f"c{count}"),
                    cards, issuances=args.issuances, options=OPTIONS), meter,
                    render["median_ms"], args.profile and args.profile / f"c{count}")
                run.update(database=database, center_workers=center_workers)
                results["runs"].append(run)
                say(row(run))
            for rate in args.rate:
                run = run_once("open", run_open_loop(
                    terminals(topology, args.pool, work, f"o{rate:g}"),
                    cards, rate=rate, duration=args.duration, options=OPTIONS), meter,
                    render["median_ms"], args.profile and args.profile / f"o{rate:g}")
                run.update(database=database, center_workers=center_workers)
                results["runs"].append(run)
                say(row(run))
            return results
        finally:
            topology.stop()


if __name__ == "__main__":
    main()
