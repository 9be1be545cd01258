"""HAProxy (Debian's ``haproxy`` package) in front of the center's workers.

TCP mode: HAProxy passes the TLS bytes through, so mutual TLS still ends at
the center and the center still sees the terminal's certificate. Each
worker listens on its own port; HAProxy checks each worker's plain-HTTP
``GET /readyz`` (its health port) every second and takes a worker out after
two failures, or at once when live traffic finds its port refusing
connections (a worker killed with -9), and a connection that cannot reach its
worker is sent to the next (``option redispatch``, round robin). Used by
``make demo-cluster`` and tests/e2e/test_cluster.py."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

OBSERVE = "observe layer4 error-limit 1 on-error mark-down"
# No "on-marked-down shutdown-sessions": the connections of a worker that died
# are gone with it, and the option would also cut a connection HAProxy is just
# redispatching from the dead worker to a live one.


@dataclass(frozen=True)
class Backend:
    """One worker: where its API listens and where its health is checked."""

    name: str
    port: int
    health_port: int
    public_port: int | None = None  # the worker's public site (inquiry), if balanced too


def _alive_backend(name: str, servers: list[tuple[str, int, int]], host: str,
                   check_interval_ms: int, balance: str) -> str:
    """The same workers checked for life only (``/healthz``, no database call).

    ``/readyz`` fails on every worker at once when the database they share is
    down (a PostgreSQL restart): with only that check HAProxy would have no
    server left and close every kiosk's connection. Then this backend takes
    over, and the workers answer themselves: 503 ``database-unavailable`` with
    ``retry_after_seconds``, a problem a kiosk understands."""
    lines = "\n".join(f"    server {n} {host}:{port} check port {health}"
                      for n, port, health in servers)
    return f"""
backend {name}
    balance {balance}
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter {check_interval_ms} fall 2 rise 2 {OBSERVE}
{lines}
"""


def config_text(listen_port: int, backends: Sequence[Backend], *,
                host: str = "127.0.0.1", check_interval_ms: int = 1000,
                public_port: int | None = None) -> str:
    servers = "\n".join(
        f"    server {b.name} {host}:{b.port} check port {b.health_port}" for b in backends)
    alive = _alive_backend("center_workers_alive",
                           [(b.name, b.port, b.health_port) for b in backends],
                           host, check_interval_ms, "roundrobin")
    public_alive = "" if public_port is None else _alive_backend(
        "center_public_alive", [(b.name, b.public_port, b.health_port) for b in backends
                                if b.public_port is not None],
        host, check_interval_ms, "source")
    public = "" if public_port is None else f"""
# The public site: one client stays with one worker (balance source), because a
# recovered front (GET /v1/verify/fronts/…) lives in the memory of the worker
# that read the upload, for 10 minutes, and nowhere else.
frontend center_public
    bind {host}:{public_port}
    use_backend center_public_alive if {{ nbsrv(center_public_workers) eq 0 }}
    default_backend center_public_workers

backend center_public_workers
    balance source
    hash-type consistent
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter {check_interval_ms} fall 2 rise 2 {OBSERVE}
""" + "\n".join(f"    server {b.name} {host}:{b.public_port} check port {b.health_port}"
                 for b in backends if b.public_port is not None) + "\n" + public_alive
    return f"""# Written by konbini/haproxy.py; regenerated at every start.
global
    maxconn 4096

defaults
    mode tcp
    timeout connect 5s
    # A kiosk's call may wait for a municipal server (15 s) and the finishing.
    timeout client 120s
    timeout server 120s
    # A connection refused by a dead worker is tried again on another.
    retries 5
    option redispatch 1

frontend center_api
    bind {host}:{listen_port}
    # No worker ready (the database they share is down): the live ones answer 503.
    use_backend center_workers_alive if {{ nbsrv(center_workers) eq 0 }}
    default_backend center_workers

backend center_workers
    # Round robin: a retry after a refused connection goes to the next worker
    # (leastconn would pick the dead one again, it has no connections).
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # A connection refused on live traffic marks the worker down at once, before
    # the next check would.
    default-server inter {check_interval_ms} fall 2 rise 2 {OBSERVE}
{servers}
{alive}{public}"""


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if found is None:
        raise RuntimeError("haproxy is not installed: `make setup` installs the Debian "
                           "package (scripts/ensure-debian-packages haproxy)")
    return found


def start_haproxy(directory: Path, listen_port: int, backends: Sequence[Backend], *,
                  log_file: Path | None = None,
                  public_port: int | None = None) -> subprocess.Popen[bytes]:
    """Write ``directory/haproxy.cfg``, check it, and start HAProxy in the
    foreground (``-db``); stop it with :func:`stop_haproxy`."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "haproxy.cfg"
    config.write_text(config_text(listen_port, backends, public_port=public_port),
                      encoding="utf-8")
    binary = haproxy_binary()
    subprocess.run([binary, "-c", "-q", "-f", str(config)], check=True)
    out = log_file.open("ab") if log_file is not None else None
    return subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_haproxy(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGUSR1)  # soft stop: finish the open connections
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
