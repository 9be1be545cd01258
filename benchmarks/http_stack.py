"""Benchmark: the CPU cost of one request through our HTTP stack, outside any
handler's work and any database (issue 12).

A real aiohttp server runs in a child process with the middleware chain the
services use (request id, access log, Prometheus metrics, problem documents,
client role), over mutual TLS with the dev PKI's certificates exactly as the
services load them (``konbini.tls``), and a trivial handler. This process
drives it with keep-alive requests from a few concurrent clients and prints
CPU µs per request on the server (utime + stime from ``/proc``) and on the
client (``time.process_time``), for each combination of:

- transport: ``http`` (plain) or ``mtls`` (mutual TLS, kiosk certificate);
- middlewares: ``bare`` (none), ``chain`` (ours as four layers, as the services wired
  them before issue 12) or ``folded`` (the same in one layer, ``service_middleware``,
  as the center wires them now); with TLS, the client-role check after them;
- request: ``get`` (``GET``, a small JSON answer), ``post`` (a small JSON body
  validated against a schema, a small JSON answer) and ``pdf`` (the center's
  ``MunicipalClient.certificates`` call against a canned municipal answer
  carrying a ~150 KB PDF as base64: the center's side of that hop, with the
  answer's validation); and, on request, ``connect``: the ``get`` on a new
  connection each time (with TLS, a full mutual-TLS handshake: what keep-alive saves).

Last, in this process and without sockets, the CPU a ``GET`` spends in aiohttp's
handling (routing, middlewares, handler, response object) for each middleware
variant: the part that is ours, measured more steadily than across two processes.

The machine may be shared: CPU per request is the figure that travels.

    .venv/bin/python benchmarks/http_stack.py
    .venv/bin/python benchmarks/http_stack.py --requests 3000 --clients 4 --only mtls
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from center.municipal_client import MunicipalClient
from konbini.devpki import DevPki, ensure_dev_pki
from konbini.http import (
    access_log_middleware,
    client_role_middleware,
    json_response,
    problem_middleware,
    request_id_middleware,
)
from konbini.logging_setup import configure_logging

try:
    from konbini.http import service_middleware
except ImportError:  # the code before issue 12's fold, for a "before" figure
    service_middleware = None  # type: ignore[assignment]
from konbini.metrics import ServiceMetrics
from konbini.tls import PeerRole, client_context, server_context
from konbini.validation import BodySchema, read_json

TERMINAL = "bench-0001"
CHIYODA = "131016"
_TICKS = os.sysconf("SC_CLK_TCK")

# A body like a kiosk's order: a few short fields, checked by a compiled schema.
ORDER_SCHEMA = BodySchema({
    "type": "object", "additionalProperties": False,
    "required": ["session_id", "type", "copies"],
    "properties": {
        "session_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "type": {"type": "string", "enum": ["juminhyo", "inkan", "koseki"]},
        "copies": {"type": "integer", "minimum": 1, "maximum": 10},
        "options": {"type": "object", "properties": {
            "members": {"type": "string", "enum": ["self", "household"]}}},
    }})
ORDER_BODY = {"session_id": "s" * 32, "type": "juminhyo", "copies": 1,
              "options": {"members": "household"}}


def _pdf_answer(size: int) -> bytes:
    """A municipal ``/v1/certificates`` answer carrying one ``size``-byte PDF."""
    pdf = b"%PDF-1.7\n" + os.urandom(size - 9)
    return json.dumps({
        "fee_yen": 300,
        "certificates": [{"certificate_number": f"{CHIYODA}-2026-0000001",
                          "pdf": base64.b64encode(pdf).decode("ascii"),
                          "sha256": "0" * 64, "fee_yen": 300, "type": "juminhyo",
                          "pages": 2, "subjects": ["12345678901"] * 3,
                          "household": ["12345678901"] * 3}],
    }).encode()


# -- the server (child process) -------------------------------------------------------------
def _server_app(chain: str, tls: bool, pdf_answer: bytes) -> web.Application:
    middlewares: list[Any] = []
    if chain == "chain":  # as the services wired them until issue 12: four layers
        metrics = ServiceMetrics("bench")
        middlewares = [request_id_middleware, access_log_middleware, metrics.middleware("api"),
                       problem_middleware]
    elif chain == "folded" and service_middleware is not None:  # one layer, as now
        middlewares = [service_middleware(ServiceMetrics("bench"), "api")]
    if chain != "bare" and tls:
        middlewares.append(client_role_middleware([
            ("/v1/", frozenset({PeerRole.KIOSK, PeerRole.CENTER}))]))
    app = web.Application(middlewares=middlewares)

    async def get(request: web.Request) -> web.Response:
        return json_response({"status": "ok", "time": "2026-11-24T10:00:00+09:00"})

    async def post(request: web.Request) -> web.Response:
        body = await read_json(request, ORDER_SCHEMA)
        return json_response({"order_id": "o" * 32, "copies": body["copies"]}, status=201)

    async def certificates(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=pdf_answer, content_type="application/json")

    app.router.add_get("/v1/ping", get)
    app.router.add_post("/v1/orders", post)
    app.router.add_post("/v1/certificates", certificates)
    return app


def _run(main: Any, loop: str) -> Any:
    if loop == "uvloop":
        import uvloop  # not a dependency unless the services use it

        return uvloop.run(main)
    return asyncio.run(main)


def _serve(pki_dir: str, chain: str, tls: bool, pdf_size: int, port_pipe: Any,
           loop: str) -> None:
    # Log as the services do (INFO, the text format) to a file, as the topology does.
    log_file = open(os.path.join(pki_dir, "server.log"), "a")  # noqa: SIM115
    os.dup2(log_file.fileno(), 2)
    configure_logging("bench")
    pki = DevPki.at(Path(pki_dir))

    async def main() -> None:
        runner = web.AppRunner(_server_app(chain, tls, _pdf_answer(pdf_size)), access_log=None)
        await runner.setup()
        context = server_context(pki.municipal_cert(CHIYODA), pki.municipal_key(CHIYODA),
                                 pki.tls_ca_cert) if tls else None
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port_pipe.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    profile_to = os.environ.get("HTTP_STACK_PROFILE")  # a path: cProfile of the server
    if profile_to:
        import cProfile
        import signal

        profiler = cProfile.Profile()

        def dump(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(profile_to)
            os._exit(0)

        signal.signal(signal.SIGTERM, dump)
        profiler.enable()
    _run(main(), loop)


# -- in this process: aiohttp's handling of a request, no socket ------------------------------
async def _in_process(chain: str, requests: int) -> float:
    """CPU µs a ``GET`` spends in ``Application._handle`` (routing, the middlewares, the
    handler, the response object), without parsing, sockets or TLS: what is ours to cut."""
    from aiohttp.test_utils import make_mocked_request

    app = _server_app(chain, False, b"{}")
    app.freeze()
    await app.startup()
    made = [make_mocked_request("GET", "/v1/ping", headers={"X-Request-Id": "bench"}, app=app)
            for _ in range(requests)]
    started = time.process_time()
    for request in made:
        await app._handle(request)
    return (time.process_time() - started) * 1e6 / requests


def in_process(chains: list[str], requests: int, repeat: int, log_dir: str) -> dict[str, float]:
    """Median over ``repeat`` round-robin runs, the access log to a file as the services'."""
    saved = os.dup(2)
    log_file = os.open(os.path.join(log_dir, "in-process.log"), os.O_WRONLY | os.O_CREAT)
    os.dup2(log_file, 2)
    configure_logging("bench")
    try:
        asyncio.run(_in_process("bare", 1000))  # warm up
        found: dict[str, list[float]] = {c: [] for c in chains}
        for _ in range(repeat):
            for chain in chains:
                found[chain].append(asyncio.run(_in_process(chain, requests)))
    finally:
        os.dup2(saved, 2)
        logging.getLogger().handlers.clear()
    return {chain: round(statistics.median(times), 1) for chain, times in found.items()}


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


# -- the client (this process) --------------------------------------------------------------
async def _drive(kind: str, base: str, context: Any, requests: int, clients: int,
                 server_pid: int) -> tuple[float, float]:
    """(server µs, client µs) per request over ``requests`` keep-alive requests."""
    per_client = requests // clients
    if kind == "pdf":
        municipal = MunicipalClient(context) if context is not None else None
        if municipal is None:
            return (float("nan"), float("nan"))
        await municipal.start()
        session = municipal.session

        async def one(i: int) -> None:
            await municipal.certificates(base, {"type": "juminhyo"}, f"req-{i}")
    else:
        municipal = None
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=context or False, force_close=kind == "connect"))
        headers = {"X-Request-Id": "bench"}

        async def one(i: int) -> None:
            if kind in ("get", "connect"):
                async with session.get(f"{base}/v1/ping", headers=headers) as response:
                    await response.read()
            else:
                async with session.post(f"{base}/v1/orders", json=ORDER_BODY,
                                        headers=headers) as response:
                    await response.read()
            if response.status >= 300:
                raise RuntimeError(f"{kind}: {response.status}")

    async def loop(n: int) -> None:
        for i in range(n):
            await one(i)

    try:
        await asyncio.gather(*(loop(20) for _ in range(clients)))  # connect, warm up
        server0, client0 = _cpu_seconds(server_pid), time.process_time()
        await asyncio.gather(*(loop(per_client) for _ in range(clients)))
        server1, client1 = _cpu_seconds(server_pid), time.process_time()
    finally:
        if municipal is not None:
            await municipal.close()
        else:
            await session.close()
    done = per_client * clients
    return ((server1 - server0) * 1e6 / done, (client1 - client0) * 1e6 / done)


def measure(pki: DevPki, transport: str, chain: str, kind: str, requests: int,
            clients: int, pdf_size: int, loop: str = "asyncio") -> tuple[float, float]:
    tls = transport == "mtls"
    if kind == "pdf" and not tls:
        return (float("nan"), float("nan"))
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    server = ctx.Process(target=_serve, args=(str(pki.directory), chain, tls,
                                              pdf_size, send, loop), daemon=True)
    server.start()
    try:
        port = receive.recv()
        if kind == "pdf":  # the center calling a municipal server
            context = client_context(pki.center_cert, pki.center_key, pki.tls_ca_cert)
        elif tls:  # a kiosk calling the center
            context = client_context(pki.kiosk_cert(TERMINAL), pki.kiosk_key(TERMINAL),
                                     pki.tls_ca_cert)
        else:
            context = None
        base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        return _run(_drive(kind, base, context, requests, clients, server.pid or 0), loop)
    finally:
        server.terminate()
        server.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per combination")
    parser.add_argument("--pdf-requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4, help="concurrent keep-alive clients")
    parser.add_argument("--pdf-kb", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians printed")
    parser.add_argument("--only", choices=("http", "mtls"), help="one transport only")
    parser.add_argument("--kinds", nargs="+", default=["get", "post", "pdf"],
                        choices=("get", "post", "pdf", "connect"))
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="the event loop of both ends (uvloop: pip install uvloop)")
    parser.add_argument("--chains", nargs="+", default=["bare", "chain", "folded"],
                        choices=("bare", "chain", "folded"),
                        help="no middleware; ours as four layers; the same folded in one")
    parser.add_argument("--json", action="store_true", help="one JSON object, no table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    combos = [(kind, transport, chain) for kind in args.kinds for transport in ("http", "mtls")
              if not (args.only and transport != args.only)
              and not (kind == "pdf" and transport == "http")
              for chain in args.chains
              if not (chain == "folded" and service_middleware is None)]
    runs: dict[tuple[str, str, str], list[tuple[float, float]]] = {c: [] for c in combos}
    with tempfile.TemporaryDirectory(prefix="http-stack-") as tmp:
        pki = ensure_dev_pki(Path(tmp), municipalities=[CHIYODA],
                             terminals=[(TERMINAL, "bench-mart", "store-1")])
        for _ in range(args.repeat):  # round robin, so the host's load falls on all alike
            for kind, transport, chain in combos:
                runs[(kind, transport, chain)].append(measure(
                    pki, transport, chain, kind,
                    args.pdf_requests if kind in ("pdf", "connect") else args.requests,
                    args.clients, args.pdf_kb * 1024, args.loop))
        handling = in_process([c for c in args.chains
                               if not (c == "folded" and service_middleware is None)],
                              args.requests, max(args.repeat, 3), tmp)
    rows = [{"request": kind, "transport": transport, "middlewares": chain,
             "server_us": round(statistics.median(r[0] for r in found)),
             "client_us": round(statistics.median(r[1] for r in found))}
            for (kind, transport, chain), found in runs.items()]
    if args.json:
        print(json.dumps({"rows": rows, "in_process_us": handling,
                          "load_average": os.getloadavg()}))
    else:
        print("| request | transport | middlewares | server CPU µs/req | client CPU µs/req |\n"
              "|---|---|---|---:|---:|")
        for row in rows:
            print(f"| {row['request']} | {row['transport']} | {row['middlewares']} | "
                  f"{row['server_us']} | {row['client_us']} |")
        print("in this process, GET through the app's handling only (no socket, no TLS), "
              "CPU µs/req: " + ", ".join(f"{c} {us}" for c, us in handling.items()))
        print(f"load average {os.getloadavg()[0]:.2f}; {args.clients} clients, keep-alive")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
