"""The topology's cluster layout: several center workers behind HAProxy,
several workers per municipal server, and their health ports.

``konbini/topology.py`` asks this module for the extra command-line
arguments and starts HAProxy through it; ``make demo-cluster`` (the demo's
``--cluster``) and tests/e2e/test_cluster.py use it."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .haproxy import Backend, start_haproxy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_run(count: int, taken: set[int] | None = None) -> int:
    """The first of ``count`` consecutive ports that are free now and not in
    ``taken`` (which then holds them too)."""
    taken = set() if taken is None else taken
    for _ in range(500):
        # Below the kernel's ephemeral range (32768-60999 by default): a port the
        # OS hands out is soon some outgoing connection's, before a worker binds it.
        first = random.randrange(20000, 32000 - count)
        if taken & set(range(first, first + count)):
            continue
        try:
            for port in range(first, first + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            taken.update(range(first, first + count))
            return first
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass(frozen=True)
class ClusterPorts:
    """Where the workers listen behind the public ports of :class:`Ports`.

    Center worker i: API on ``center_workers_api + i`` and public site on
    ``center_workers_public + i`` (HAProxy forwards the center's two public
    ports to these), health on ``center_health + i``.
    Municipal workers share their server's port; worker i's health is on
    ``municipal_health[code] + i``."""

    center_workers_api: int = 18443
    center_health: int = 18100
    center_workers_public: int = 18080
    municipal_health: dict[str, int] = field(default_factory=lambda: {
        "131016": 19100, "452017": 19110, "141003": 19120})

    @classmethod
    def free(cls, codes: tuple[str, ...], workers: int = 4,
             avoid: set[int] | None = None) -> ClusterPorts:
        """Runs of free ports that overlap neither each other nor ``avoid``
        (the ports of :class:`konbini.topology.Ports` chosen just before)."""
        taken = set(avoid or ())
        return cls(free_port_run(workers, taken), free_port_run(workers, taken),
                   free_port_run(workers, taken),
                   {code: free_port_run(workers, taken) for code in codes})


def center_arguments(workers: int, ports: ClusterPorts | None,
                     public_port: int = 8080) -> list[str]:
    """``public_port``: HAProxy's, the address printed on certificates."""
    if ports is None:
        return [] if workers <= 1 else ["--workers", str(workers)]
    return ["--workers", str(workers), "--port-per-worker", "--api-port",
            str(ports.center_workers_api), "--public-port", str(ports.center_workers_public),
            "--health-port", str(ports.center_health),
            "--public-url", f"http://127.0.0.1:{public_port}/verify"]


def municipal_arguments(code: str, workers: int, ports: ClusterPorts | None) -> list[str]:
    args = [] if workers <= 1 else ["--workers", str(workers)]
    if ports is not None and code in ports.municipal_health:
        args += ["--health-port", str(ports.municipal_health[code])]
    return args


def center_backends(workers: int, ports: ClusterPorts) -> list[Backend]:
    return [Backend(f"center-{i}", ports.center_workers_api + i, ports.center_health + i,
                    ports.center_workers_public + i) for i in range(workers)]


def start_balancer(var: Path, listen_port: int, workers: int, ports: ClusterPorts,
                   log_dir: Path | None, public_port: int) -> subprocess.Popen[bytes]:
    return start_haproxy(var / "haproxy", listen_port, center_backends(workers, ports),
                         log_file=None if log_dir is None else log_dir / "haproxy.log",
                         public_port=public_port)


def health_urls(center_workers: int, municipal_workers: dict[str, int],
                ports: ClusterPorts) -> list[str]:
    urls = [f"http://127.0.0.1:{ports.center_health + i}/readyz"
            for i in range(center_workers)]
    for code, count in municipal_workers.items():
        if code in ports.municipal_health:
            urls += [f"http://127.0.0.1:{ports.municipal_health[code] + i}/readyz"
                     for i in range(count)]
    return urls


def worker_health(url: str) -> dict | None:
    """The body of a worker's health endpoint (``pid``, ``worker``), or None."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_healthy(urls: list[str], timeout: float) -> None:
    """Until every worker says it is ready."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        pending = [url for url in pending if worker_health(url) is None]
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"workers not ready in {timeout}s: {pending}")
        if pending:
            time.sleep(0.2)
