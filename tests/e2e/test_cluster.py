"""Several workers behind HAProxy, over the wire: HAProxy in TCP mode in front
of 2 center workers, 2 workers of 千代田区 sharing its port, one SQLite
database each. A worker killed with -9 while 16 kiosks issue; the kiosks'
next calls succeed through the other; nothing is charged twice or lost.
Cross-request state (challenges, Idempotency-Keys, the dev clock, the
upkeep, request_id claims) holds whichever worker a request reaches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from kiosk_sim.card import VirtualCard
from kiosk_sim.client import KioskClient, KioskProblem, Terminal
from konbini.b64 import b64url_decode, b64url_encode
from konbini.cluster import ClusterPorts, free_port_run, worker_health
from konbini.tls import client_context
from konbini.topology import Ports, Topology
from municipal_server.personas import resident_code, synthetic_household
from tests.conftest import BASE_CLOCK, Raw
from tests.support import enrolled_terminals, pdf_pages_text, pdf_qr_codes, synthetic_cards

CODE = "131016"
KIOSKS = 16
RATE_PER_MINUTE = 600
T = TypeVar("T")


@dataclass
class Cluster:
    topology: Topology
    cluster_ports: ClusterPorts
    pids: list[int] = field(default_factory=list)

    @property
    def pki(self) -> Path:
        return self.topology.pki

    @property
    def center_db(self) -> Path:
        return self.topology.var / "center" / "center.db"

    def worker_url(self, index: int) -> str:
        """A center worker's own API port, past HAProxy."""
        return f"https://127.0.0.1:{self.cluster_ports.center_workers_api + index}"

    def health(self, index: int, path: str = "healthz") -> dict[str, Any] | None:
        return worker_health(f"http://127.0.0.1:{self.cluster_ports.center_health + index}/"
                             + path)

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        # Read-write, as the workers open it: a read-only connection may not see
        # the newest pages of the WAL.
        db = sqlite3.connect(self.center_db, timeout=30)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    var = tmp_path_factory.mktemp("cluster-var")
    chosen: set[int] = set()

    def pick() -> int:
        port = free_port_run(1, chosen)  # outside the ephemeral range, each its own
        return port

    ports = Ports(pick(), pick(), pick(), {CODE: pick()}, {CODE: pick()},
                  center_console=pick())
    cluster_ports = ClusterPorts.free((CODE,), avoid=chosen)
    topology = Topology(var=var, ports=ports, log_dir=var / "logs", with_kiosk_ui=False,
                        env={"KONBINI_CLOCK": BASE_CLOCK, "KONBINI_UPKEEP_SECONDS": "1",
                             # 10 a second, 100 at once: the budget test below.
                             "KONBINI_RATE_LIMIT_PER_MINUTE": str(RATE_PER_MINUTE)},
                        synthetic_residents=KIOSKS, center_workers=2,
                        municipal_workers={CODE: 2}, cluster_ports=cluster_ports)
    topology.start(timeout=120)
    try:
        found = Cluster(topology, cluster_ports)
        for index in range(2):
            health = found.health(index)
            assert health is not None
            found.pids.append(int(health["pid"]))
        yield found
    finally:
        topology.stop()


def _terminals(cluster: Cluster, tmp_path: Path, count: int, prefix: str) -> list[Terminal]:
    return enrolled_terminals(cluster.topology, tmp_path, count, prefix, chain="seven-eleven")


async def _cards(cluster: Cluster, count: int) -> list[tuple[VirtualCard, str]]:
    """Fresh cards of synthetic residents, with each holder's name."""
    return await synthetic_cards(cluster.topology, CODE, count, BASE_CLOCK)


async def test_every_worker_answers_health_and_readiness(cluster: Cluster) -> None:
    for index in range(2):
        alive, ready = cluster.health(index), cluster.health(index, "readyz")
        assert alive is not None and alive["status"] == "ok" and alive["worker"] == index
        assert ready is not None and ready["status"] == "ready"
        assert ready["checks"] == {"database": True, "qr_keys": True, "tls": True}
    for index in range(2):
        port = cluster.cluster_ports.municipal_health[CODE] + index
        ready = worker_health(f"http://127.0.0.1:{port}/readyz")
        assert ready is not None and ready["status"] == "ready"
        assert ready["service"] == f"municipal-{CODE}"
    public = worker_health(f"{cluster.topology.public_url}/healthz")
    assert public is not None and public["service"] == "center"


async def test_a_challenge_is_consumed_once_whichever_worker_gets_it(
        cluster: Cluster) -> None:
    card, _ = (await _cards(cluster, 1))[0]
    terminal = Terminal.from_pki(cluster.pki, "kiosk-0001", cluster.topology.center_url)
    async with KioskClient(terminal) as kiosk:
        session = await kiosk.start_session()
    signature = b64url_encode(card.sign_challenge(b64url_decode(session["challenge"]), "1234"))
    body = {"certificate": b64url_encode(card.certificate_der()), "signature": signature}
    raws = [Raw(cluster.worker_url(i), terminal.ssl_context()) for i in range(2)]
    try:
        answers = await asyncio.gather(*(
            raw.call("POST", f"/v1/sessions/{session['session_id']}/authenticate",
                     json_body=body) for raw in raws))
    finally:
        for raw in raws:
            await raw.close()
    # One authenticates; the other is refused: challenge-expired if it came while
    # the first was being checked, already-authenticated if after.
    assert sorted(status for status, _, _ in answers)[0] == 200, answers
    (refused,) = [body for status, body, _ in answers if status != 200]
    assert refused["code"] in ("challenge-expired", "already-authenticated"), answers


async def test_the_dev_clock_moves_every_worker(cluster: Cluster) -> None:
    terminal = Terminal.from_pki(cluster.pki, "kiosk-0001", cluster.topology.center_url)
    raws = [Raw(cluster.worker_url(i), terminal.ssl_context()) for i in range(2)]
    try:
        status, _, _ = await raws[0].call("PUT", "/v1/dev/clock",
                                          json_body={"now": "2026-12-30T10:00:00+09:00"})
        assert status == 200
        for raw in raws:
            _, body, _ = await raw.call("GET", "/v1/dev/clock")
            assert body["now"].startswith("2026-12-30T10:0"), body
        async with KioskClient(Terminal(cluster.worker_url(1), terminal.cert, terminal.key,
                                        terminal.ca)) as kiosk:
            with pytest.raises(KioskProblem) as closed:
                await kiosk.start_session()
            assert closed.value.code == "service-closed"  # 30 December, on the other worker
        status, _, _ = await raws[1].call("PUT", "/v1/dev/faults",
                                          json_body={"municipalities_down": [CODE]})
        assert status == 200
        _, faults, _ = await raws[0].call("GET", "/v1/dev/faults")
        assert faults["municipalities_down"] == [CODE]
    finally:
        await raws[1].call("PUT", "/v1/dev/faults", json_body={})
        await raws[1].call("PUT", "/v1/dev/clock", json_body={"now": BASE_CLOCK})
        for raw in raws:
            await raw.close()


async def test_a_terminals_budget_is_one_across_the_workers(
        cluster: Cluster, tmp_path: Path) -> None:
    """A terminal flooding both workers directly gets one budget (burst 100,
    10 a second), not one per worker."""
    import time

    (terminal,) = _terminals(cluster, tmp_path, 1, "flood")
    raws = [Raw(cluster.worker_url(i), terminal.ssl_context()) for i in range(2)]
    try:
        started = time.monotonic()
        answers = [await raws[i % 2].call("GET", "/v1/dev/clock") for i in range(300)]
        elapsed = time.monotonic() - started
    finally:
        for raw in raws:
            await raw.close()
    admitted = sum(status == 200 for status, _, _ in answers)
    limited = [body for status, body, _ in answers if status == 429]
    assert limited and limited[0]["code"] == "rate-limited"
    burst, rate = RATE_PER_MINUTE // 6, RATE_PER_MINUTE / 60
    # Per-worker buckets would let through up to twice this.
    assert admitted <= burst + rate * elapsed + 2, (admitted, elapsed)
    assert admitted >= burst  # the burst itself is never refused


async def test_a_resent_order_with_the_same_idempotency_key_is_the_same_order(
        cluster: Cluster) -> None:
    card, name = (await _cards(cluster, 1))[0]
    terminal = Terminal.from_pki(cluster.pki, "kiosk-0002", cluster.topology.center_url)
    async with KioskClient(terminal) as kiosk:
        session = await kiosk.start_session()
        await kiosk.authenticate(session, card, "1234")
        menu = await kiosk.menu(session["session_id"])
        fee = next(i["fee_yen"] for i in menu["items"] if i["type"] == "juminhyo")
        body = {"type": "juminhyo", "copies": 1, "options": {}, "expected_fee_yen": fee}
        path = f"/v1/sessions/{session['session_id']}/orders"
        key = {"Idempotency-Key": "order-7f3a-resend"}
        # The first and the resend at once (HAProxy may send them to different
        # workers), then once more after.
        first, second = await asyncio.gather(
            kiosk.request("POST", path, body, headers=key),
            kiosk.request("POST", path, body, headers=key))
        third = await kiosk.request("POST", path, body, headers=key)
        orders = {answer[1]["order_id"] for answer in (first, second, third)}
        assert len(orders) == 1
        assert first[1] == second[1] == third[1]
        (order_id,) = orders
        with pytest.raises(KioskProblem) as reused:
            await kiosk.request("POST", path, {**body, "copies": 2,
                                               "expected_fee_yen": 2 * fee}, headers=key)
        assert reused.value.code == "conflict"
        pdf = await kiosk.download(first[1]["certificates"][0])
        assert name in pdf_pages_text(pdf)[0]
        await kiosk.report_result(order_id, [first[1]["certificates"][0]["certificate_id"]])
        await kiosk.end_session(session["session_id"])
    assert cluster.query("SELECT COUNT(*) FROM orders WHERE session_id = ?",
                         session["session_id"]) == [(1,)]


async def test_a_municipal_request_id_is_issued_once_across_its_workers(
        cluster: Cluster) -> None:
    request = {"request_id": "cluster-retry-1", "resident_code": resident_code(
        CODE, synthetic_household(CODE, "", 3).members[0][0]), "type": "juminhyo",
        "copies": 1, "options": {}, "at": BASE_CLOCK,
        "kiosk": {"terminal_id": "kiosk-0001", "chain": "seven-eleven", "store_id": "s-1"}}
    context = client_context(cluster.pki / "center.cert.pem", cluster.pki / "center.key.pem",
                             cluster.pki / "tls-ca.cert.pem")
    url = f"https://127.0.0.1:{cluster.topology.ports.municipal[CODE]}/v1/certificates"

    async def one() -> tuple[int, Any]:
        # A connection each, so the kernel spreads them over both workers.
        connector = aiohttp.TCPConnector(ssl=context, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session, session.post(
                url, json=request) as response:
            return response.status, await response.json()

    answers = await asyncio.gather(*(one() for _ in range(6)))
    assert {status for status, _ in answers} == {201}
    assert len({str(body) for _, body in answers}) == 1
    register = cluster.topology.var / "municipal" / CODE / "register.db"
    with sqlite3.connect(f"file:{register}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT response FROM issuance_history WHERE request_id = ?",
                          ("cluster-retry-1",)).fetchall()
    assert len(rows) == 1
    assert '"pdf"' not in rows[0][0]  # the history keeps numbers and digests, not the PDF


async def test_every_worker_signs_with_a_rotated_key_from_its_next_certificate(
        cluster: Cluster) -> None:
    rotated = subprocess.run(
        [sys.executable, "-m", "center", "keys", "rotate", "--var", str(cluster.topology.var)],
        env={**os.environ, "KONBINI_CLOCK": BASE_CLOCK}, check=True, capture_output=True,
        text=True).stdout
    kid = rotated.split()[2]  # "new key <kid> signs from now on …"
    cards = await _cards(cluster, 2)
    for index, (card, name) in enumerate(cards):  # each worker, past HAProxy
        terminal = Terminal.from_pki(cluster.pki, "kiosk-0001", cluster.worker_url(index))
        async with KioskClient(terminal) as kiosk:
            run = KioskRun()
            order = await _order(kiosk, card, run)
            pdf = await kiosk.download(order["certificates"][0])
            await kiosk.report_result(order["order_id"],
                                      [order["certificates"][0]["certificate_id"]])
        (token,) = pdf_qr_codes(pdf)
        header = json.loads(b64url_decode(token.split(".")[0]))
        assert header["kid"] == kid, (index, header)
        assert name in pdf_pages_text(pdf)[0]
    # The inquiry site behind HAProxy: the recovered front stays reachable from
    # every new connection (it lives in the memory of the worker that read it).
    form = aiohttp.FormData()
    form.add_field("file", pdf, filename="c.pdf", content_type="application/pdf")
    public = cluster.topology.public_url
    async with aiohttp.ClientSession() as session, session.post(
            f"{public}/v1/verify", data=form) as response:
        verified = await response.json()
    assert verified["status"] == "valid" and verified["front_image_url"], verified
    for _ in range(6):
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session, session.get(
                public + verified["front_image_url"]) as response:
            assert response.status == 200


async def _once_more(step: Callable[[], Awaitable[T]], retried: list[str], name: str) -> T:
    """A kiosk's way with a lost connection: try the call again, at most four
    times, a little later each time. A connection HAProxy had just handed to the
    worker as it was killed (in its accept queue) is reset, and so may the next be
    in the moment before HAProxy marks the worker down; later ones go to the other
    worker."""
    for attempt in range(1, 5):
        try:
            return await step()
        except KioskProblem as exc:
            if exc.code != "network-error":
                raise
            retried.append(name)
            # HAProxy marks a dead worker down after two failed checks a second apart;
            # until then a new connection may still be sent to it.
            await asyncio.sleep(0.5 * attempt)
    return await step()


@dataclass
class KioskRun:
    orders: list[dict[str, Any]] = field(default_factory=list)
    paid: dict[str, int] = field(default_factory=dict)  # order id -> charged_yen
    retried: list[str] = field(default_factory=list)


async def _order(kiosk: KioskClient, card: VirtualCard, run: KioskRun) -> dict[str, Any]:
    """Session, card, menu, order; a session whose authentication was lost is
    dropped and a new one started (its challenge may have been used)."""
    async def authenticated() -> dict[str, Any]:
        session = await kiosk.start_session()
        await kiosk.authenticate(session, card, "1234")
        return session

    session = await _once_more(authenticated, run.retried, "authenticate")
    menu = await _once_more(lambda: kiosk.menu(session["session_id"]), run.retried, "menu")
    fee = next(i["fee_yen"] for i in menu["items"] if i["type"] == "juminhyo")
    # Every resend carries the same Idempotency-Key: one order, however often sent.
    key = uuid.uuid4().hex
    order = await _once_more(lambda: kiosk.order(session["session_id"], "juminhyo", 1, {}, fee,
                                                 idempotency_key=key), run.retried, "order")
    order["session_id"] = session["session_id"]
    run.orders.append(order)
    return order


async def _print(kiosk: KioskClient, order: dict[str, Any], name: str, run: KioskRun) -> None:
    printed = []
    for certificate in order["certificates"]:
        pdf = await _once_more(lambda c=certificate: kiosk.download(c), run.retried, "download")
        assert name in pdf_pages_text(pdf)[0]
        printed.append(certificate["certificate_id"])
    result = await _once_more(lambda: kiosk.report_result(order["order_id"], printed),
                              run.retried, "result")
    run.paid[order["order_id"]] = result["charged_yen"]
    with contextlib.suppress(KioskProblem):
        await kiosk.end_session(order["session_id"])


async def test_kill_a_center_worker_while_sixteen_kiosks_issue(
        cluster: Cluster, tmp_path: Path) -> None:
    terminals = _terminals(cluster, tmp_path, KIOSKS, "cl")
    cards = await _cards(cluster, KIOSKS)
    killed = asyncio.Event()
    waiting = 0
    runs = [KioskRun() for _ in range(KIOSKS)]

    async def kill_when_half_wait() -> None:
        while waiting < KIOSKS // 2:
            await asyncio.sleep(0.05)
        os.kill(cluster.pids[0], signal.SIGKILL)  # worker 0, mid-flight for the others
        killed.set()

    async def kiosk_day(index: int) -> None:
        nonlocal waiting
        card, name = cards[index]
        run = runs[index]
        async with KioskClient(terminals[index]) as kiosk:
            before = await _order(kiosk, card, run)  # an order made before the kill …
            waiting += 1
            await killed.wait()
            await _print(kiosk, before, name, run)  # … downloaded and settled after it
            for _ in range(2):
                await _print(kiosk, await _order(kiosk, card, run), name, run)

    await asyncio.gather(kill_when_half_wait(), *(kiosk_day(i) for i in range(KIOSKS)))

    # HAProxy took the dead worker out; the survivor answers alone.
    assert cluster.health(0) is None
    assert cluster.health(1) is not None
    # Every order the kiosks made was printed, settled and charged once, at its fee.
    ordered = {o["order_id"]: o for run in runs for o in run.orders}
    assert len(ordered) == 3 * KIOSKS
    paid = {order_id: yen for run in runs for order_id, yen in run.paid.items()}
    assert set(paid) == set(ordered)
    for order_id, order in ordered.items():
        assert paid[order_id] == order["fee_yen"]
    terminal_ids = [f"cl-{i:02d}" for i in range(KIOSKS)]
    marks = ",".join("?" * KIOSKS)
    # Nothing lost, nothing extra: the center's orders of these terminals are exactly
    # those the kiosks received (a resent order was the same order), all settled.
    assert set(cluster.query(
        f"SELECT order_id, status FROM orders WHERE terminal_id IN ({marks})",
        *terminal_ids)) == {(order_id, "settled") for order_id in ordered}
    # The ledger: one charge per printed certificate, none twice, equal to what was paid.
    entries = cluster.query(
        f"SELECT certificate_id, order_id, kind, fee_yen FROM ledger_entries "
        f"WHERE terminal_id IN ({marks})", *terminal_ids)
    certificates = {c["certificate_id"] for o in ordered.values() for c in o["certificates"]}
    assert sorted(e[0] for e in entries) == sorted(certificates)
    assert {e[2] for e in entries} == {"charge"}
    assert sum(e[3] for e in entries) == sum(paid.values())
    # Retries only where the kill cut connections: a few per kiosk at most.
    for run in runs:
        assert len(run.retried) <= 6, run.retried


async def test_the_upkeep_runs_in_one_worker_and_survives_its_death(
        cluster: Cluster) -> None:
    """After the kill above, the survivor holds the upkeep lease and voids a
    forgotten order once the (dev) clock passes its 10 minutes."""
    card, _ = (await _cards(cluster, 1))[0]
    terminal = Terminal.from_pki(cluster.pki, "kiosk-0003", cluster.topology.center_url)
    async with KioskClient(terminal) as kiosk:
        run = KioskRun()
        order = await _order(kiosk, card, run)
        raw = Raw(cluster.topology.center_url, terminal.ssl_context())
        try:
            status, _, _ = await raw.call("PUT", "/v1/dev/clock",
                                          json_body={"now": "2026-11-24T10:30:00+09:00"})
            assert status == 200
            for _ in range(600):  # the upkeep round comes within seconds
                rows = cluster.query("SELECT status FROM orders WHERE order_id = ?",
                                     order["order_id"])
                if rows == [("voided",)]:
                    break
                await asyncio.sleep(0.2)
            assert rows == [("voided",)]
        finally:
            await raw.call("PUT", "/v1/dev/clock", json_body={"now": BASE_CLOCK})
            await raw.close()
    ((holder, _, _),) = cluster.query("SELECT holder, expires_at, rounds FROM leases "
                                      "WHERE name = 'upkeep'")
    alive = [pid for pid in cluster.pids if Path(f"/proc/{pid}").exists()]
    assert int(holder.split(":")[1]) in alive  # one worker, and a live one
    refunds = cluster.query("SELECT kind FROM ledger_entries WHERE order_id = ?",
                            order["order_id"])
    assert refunds == [("refund",)]
