"""``python -m konbini.demo``: the whole system on the ports of API.md, with
the personas loaded; Ctrl-C stops everything."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from .clock import Clock
from .cluster import ClusterPorts
from .persona_cards import load_persona_cards
from .postgres import PostgresServer
from .topology import Topology

# `make demo-cluster`: the same ports and personas, several workers, every
# service on a real PostgreSQL server of its own under var/postgres (port 5433),
# one database per service.
POSTGRES_PORT = 5433
DATABASES = {"center": "center", "131016": "municipal_131016",
             "452017": "municipal_452017", "141003": "municipal_141003"}
CLUSTER: dict[str, Any] = {"center_workers": 2, "municipal_workers": {"131016": 2},
                           "cluster_ports": ClusterPorts()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m konbini.demo",
                                     description="the whole system with the personas loaded")
    parser.add_argument("command", nargs="?", choices=("run", "load-cards"), default="run",
                        help="run everything (default), or only issue the persona cards "
                             "against a running center (docker compose)")
    parser.add_argument("--var", type=Path,
                        default=Path(os.environ.get("KONBINI_VAR", "var")))
    parser.add_argument("--center", default="https://127.0.0.1:8443")
    parser.add_argument("--cluster", action="store_true",
                        help="`make demo-cluster`: HAProxy on :8443 in front of 2 center "
                             "workers, 2 workers for 千代田区 (konbini/cluster.py)")
    args = parser.parse_args(argv)
    if args.command == "load-cards":
        pki, wallet = args.var / "pki", args.var / "kiosk" / "wallet"
        added = asyncio.run(load_persona_cards(args.center, pki, wallet, Clock.from_env()))
        print(f"persona cards added: {len(added)}")
        return
    run(args.var, cluster=args.cluster)


def run(var: Path, *, cluster: bool = False) -> None:
    started = time.monotonic()
    postgres = None
    urls: dict[str, str] = {}
    if cluster:
        postgres = PostgresServer((var / "postgres").resolve(), POSTGRES_PORT)
        postgres.start()
        urls = {service: postgres.create_database(name) for service, name in DATABASES.items()}
    topology = Topology(var=var.resolve(), database_urls=urls, **(CLUSTER if cluster else {}))
    try:
        topology.start(timeout=120 if cluster else 60)
    except BaseException:
        if postgres is not None:
            postgres.stop()
        raise
    try:
        added = asyncio.run(load_persona_cards(topology.center_url, topology.pki,
                                               topology.wallet_dir, Clock.from_env()))
        clock = os.environ.get("KONBINI_CLOCK", "real time")
        print(f"""
== konbini demo ready in {time.monotonic() - started:.1f}s (clock: {clock}) ==
  center API (mutual TLS)   {topology.center_url}
  center public site        {topology.public_url}
  municipal 千代田区 131016 https://127.0.0.1:9101  (clerk: http://127.0.0.1:9201)
  municipal 宮崎市   452017 https://127.0.0.1:9102  (clerk: http://127.0.0.1:9202)
  municipal 横浜市   141003 https://127.0.0.1:9103  (in maintenance; clerk: :9203)
  kiosk UI                  http://127.0.0.1:{topology.ports.kiosk_ui}
  persona cards added: {len(added)} (wallet: {topology.wallet_dir})
Try:  .venv/bin/python -m kiosk_sim issue --persona kasumi-taro --pin 1234 \\
        --type juminhyo --option members=household --out /tmp/x
Ctrl-C stops everything.""", flush=True)
        if cluster:
            ports = ClusterPorts()
            print(f"""  cluster: HAProxy :{topology.ports.center_api} and \
:{topology.ports.center_public} (TCP; mutual TLS passes) ->
    center workers :{ports.center_workers_api} :{ports.center_workers_api + 1}, public \
:{ports.center_workers_public} :{ports.center_workers_public + 1} \
(health http://127.0.0.1:{ports.center_health}/readyz, :{ports.center_health + 1})
    千代田区 workers share :9101 \
(health http://127.0.0.1:{ports.municipal_health["131016"]}/readyz, \
:{ports.municipal_health["131016"] + 1})
    PostgreSQL {var / "postgres"} on 127.0.0.1:{POSTGRES_PORT}: {", ".join(urls.values())}""",
                  flush=True)
        stop = False

        def on_signal(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        while not stop:
            if any(p.poll() is not None for p in topology.processes.values()):
                print("a service stopped; shutting down", flush=True)
                break
            time.sleep(0.5)
    finally:
        topology.stop()
        if postgres is not None:
            postgres.stop()
        print("demo stopped", flush=True)


if __name__ == "__main__":
    main()
