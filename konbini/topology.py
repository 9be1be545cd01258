"""Start the whole system as real processes on loopback: the center, the
municipal servers, and the kiosk UI. ``make demo`` and the tests both use
this, so the tests exercise exactly what a newcomer runs."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import cluster
from .devpki import DEFAULT_TERMINALS, ensure_dev_pki
from .tls import client_context

MUNICIPALITY_CODES = ("131016", "452017", "141003")


@dataclass(frozen=True)
class Ports:
    center_api: int = 8443
    center_public: int = 8080
    kiosk_ui: int = 8000
    municipal: dict[str, int] = field(default_factory=lambda: {
        "131016": 9101, "452017": 9102, "141003": 9103})
    # The clerk's admin API of each municipal server (loopback, bearer token).
    municipal_admin: dict[str, int] = field(default_factory=lambda: {
        "131016": 9201, "452017": 9202, "141003": 9203})
    # The center's operator console (loopback, operator token).
    center_console: int = 8090

    @classmethod
    def free(cls) -> Ports:
        """Ports the OS says are free now (for tests running beside a demo)."""
        def pick() -> int:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return int(s.getsockname()[1])
        return cls(pick(), pick(), pick(), {code: pick() for code in MUNICIPALITY_CODES},
                   {code: pick() for code in MUNICIPALITY_CODES}, center_console=pick())


@dataclass
class Topology:
    var: Path
    ports: Ports = field(default_factory=Ports)
    env: dict[str, str] = field(default_factory=dict)
    dev_mode: bool = True
    with_kiosk_ui: bool = True
    synthetic_residents: int = 0  # extra residents of 千代田区 for load tests
    log_dir: Path | None = None
    # Several workers (konbini/workers.py); with cluster_ports, HAProxy on the
    # center API port in front of the center's workers (konbini/cluster.py).
    center_workers: int = 1
    municipal_workers: dict[str, int] = field(default_factory=dict)
    cluster_ports: cluster.ClusterPorts | None = None
    # A database URL per service ("center", or a municipality code), e.g. each its
    # own database on one PostgreSQL server; a service not listed uses SQLite in var/.
    database_urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _commands: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pki(self) -> Path:
        return self.var / "pki"

    @property
    def center_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.center_api}"

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.center_public}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.center_console}"

    @property
    def wallet_dir(self) -> Path:
        return self.var / "kiosk" / "wallet"

    def database_args(self, service: str) -> list[str]:
        url = self.database_urls.get(service)
        return [] if url is None else ["--database-url", url]

    def ensure_pki(self) -> None:
        ensure_dev_pki(self.pki, municipalities=MUNICIPALITY_CODES, terminals=DEFAULT_TERMINALS)

    def enrol_terminals(self, certificates: list[Path], *, address: str = "",
                        hours: str = "24h") -> None:
        """Enrol kiosk certificates in the center's terminal registry, as a
        chain would (``python -m center terminals enrol``); the center serves
        no other terminal. Works while the center runs (same database)."""
        args = [sys.executable, "-m", "center", "terminals", "enrol", "--var", str(self.var),
                "--address", address, "--hours", hours]
        for certificate in certificates:
            args += ["--cert", str(certificate)]
        env = {**os.environ, **self.env, "KONBINI_VAR": str(self.var)}
        if "center" in self.database_urls:
            env["KONBINI_DATABASE_URL"] = self.database_urls["center"]
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)

    def _spawn(self, name: str, args: list[str]) -> None:
        self._commands[name] = args
        env = {**os.environ, **self.env, "KONBINI_VAR": str(self.var),
               "PYTHONUNBUFFERED": "1"}
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{name}.log").open("ab")
        else:
            out = None  # inherit: the demo shows every service's log
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=self.log_dir is not None)

    def migrate(self) -> None:
        """The databases made or upgraded once, before any worker starts
        (``python -m center migrate``, ``python -m municipal_server migrate``)."""
        env = {**os.environ, **self.env, "KONBINI_VAR": str(self.var)}
        steps = {"center": ["center", "migrate", "--var", str(self.var),
                            *self.database_args("center")]}
        for code in self.ports.municipal:
            steps[f"municipal-{code}"] = [
                "municipal_server", "migrate", "--code", code, "--var", str(self.var),
                *self.database_args(code),
                "--synthetic", str(self.synthetic_residents if code == "131016" else 0)]
        running = {name: subprocess.Popen([sys.executable, "-m", *args], env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                   for name, args in steps.items()}  # separate databases: side by side
        for name, process in running.items():
            output, _ = process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"{name} migrate failed: {output.decode(errors='replace')}")

    def start(self, timeout: float = 60.0) -> None:
        self.ensure_pki()
        self.migrate()
        self.enrol_terminals([self.pki / "kiosk" / f"{terminal_id}.cert.pem"
                              for terminal_id, _, _ in DEFAULT_TERMINALS])
        center_args = ["center", "serve", "--var", str(self.var), "--api-port",
                       str(self.ports.center_api), "--public-port",
                       str(self.ports.center_public), "--console-port",
                       str(self.ports.center_console), "--no-migrate",
                       *self.database_args("center")]
        self._spawn("center", center_args + (["--dev"] if self.dev_mode else [])
                    + cluster.center_arguments(self.center_workers, self.cluster_ports,
                                               self.ports.center_public))
        if self.cluster_ports is not None:
            self.processes["haproxy"] = cluster.start_balancer(
                self.var, self.ports.center_api, self.center_workers, self.cluster_ports,
                self.log_dir, self.ports.center_public)
        for code, port in self.ports.municipal.items():
            self._spawn(f"municipal-{code}", [
                "municipal_server", "serve", "--code", code, "--var", str(self.var),
                "--port", str(port), "--center", self.center_url,
                "--admin-port", str(self.ports.municipal_admin[code]),
                "--synthetic", str(self.synthetic_residents if code == "131016" else 0),
                *(["--dev"] if self.dev_mode else []),
                "--no-migrate", *self.database_args(code), *cluster.municipal_arguments(
                    code, self.municipal_workers.get(code, 1), self.cluster_ports)])
        if self.with_kiosk_ui:
            self._spawn("kiosk", ["kiosk_sim", "serve", "--var", str(self.var), "--port",
                                  str(self.ports.kiosk_ui), "--center", self.center_url])
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float) -> None:
        """Until every municipality is registered with the center."""
        deadline = time.monotonic() + timeout
        context = {code: client_context(self.pki / "municipal" / f"{code}.cert.pem",
                                        self.pki / "municipal" / f"{code}.key.pem",
                                        self.pki / "tls-ca.cert.pem")
                   for code in self.ports.municipal}
        pending = set(self.ports.municipal)
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}"
                                       + (f"; see {self.log_dir}/{name}.log"
                                          if self.log_dir else ""))
            for code in sorted(pending):
                try:
                    url = f"{self.center_url}/v1/municipalities/{code}"
                    with urllib.request.urlopen(url, context=context[code], timeout=2) as r:
                        if r.status == 200:
                            pending.discard(code)
                except (urllib.error.URLError, OSError, ssl.SSLError):
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not registered in {timeout}s: {sorted(pending)}")
            if pending:
                time.sleep(0.2)
        if self.cluster_ports is not None:  # every worker, not only the first to answer
            cluster.wait_healthy([*cluster.health_urls(
                self.center_workers, {c: self.municipal_workers.get(c, 1)
                                      for c in self.ports.municipal}, self.cluster_ports),
                f"{self.public_url}/readyz"],  # and HAProxy has them up
                max(1.0, deadline - time.monotonic()))

    def stop_service(self, name: str) -> None:
        """Stop one service (a municipal server going down, say)."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)

    def start_service(self, name: str) -> None:
        """Start a stopped service again with the command it was first given."""
        self._spawn(name, self._commands[name])

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
