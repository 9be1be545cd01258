"""Cross-worker state, without a server: two connections to one SQLite file
stand for two worker processes. Leases, Idempotency-Key
claims, request_id claims, the supervisor's command line,
HAProxy's configuration, private database files."""

from __future__ import annotations

import asyncio
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from center.storage import CenterStore
from konbini.db import Database, sqlite_url
from konbini.haproxy import Backend, config_text
from konbini.problems import Problem
from konbini.workers import holder_gone, holder_id, worker_argv
from municipal_server.register import Register


@pytest.fixture
async def two_centers(center_database: Path | str):  # type: ignore[no-untyped-def]
    # Two stores on one database (either engine) stand for two worker processes.
    first = await CenterStore.open(center_database, migrate=True)
    second = await CenterStore.open(center_database)
    yield first, second
    await first.close()
    await second.close()


def test_worker_command_lines() -> None:
    assert worker_argv(["serve", "--workers", "2", "--dev"], 1) == [
        "serve", "--dev", "--worker-index", "1", "--no-migrate"]
    assert worker_argv(["serve", "--workers=3"], 0) == [
        "serve", "--worker-index", "0", "--no-migrate"]


def test_a_holder_of_this_host_that_died_is_gone() -> None:
    assert not holder_gone(holder_id())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = holder_id().split(":")[0]
    assert holder_gone(f"{host}:{child.pid}:abcd")
    assert not holder_gone(f"another-host:{child.pid}:abcd")


async def test_one_lease_holder_at_a_time(two_centers: tuple[CenterStore, CenterStore]) -> None:
    first, second = two_centers
    assert await first.shared.claim_lease("upkeep", "A", 1000.0, 30)
    assert not await second.shared.claim_lease("upkeep", "B", 1001.0, 30)
    assert await first.shared.claim_lease("upkeep", "A", 1010.0, 30)  # renewed
    assert not await second.shared.claim_lease("upkeep", "B", 1039.0, 30)
    assert await second.shared.claim_lease("upkeep", "B", 1040.0, 30)  # lapsed: taken over
    assert not await first.shared.claim_lease("upkeep", "A", 1041.0, 30)
    holder, expires_at, rounds = await first.shared.lease("upkeep")  # type: ignore[misc]
    assert (holder, expires_at, rounds) == ("B", 1070.0, 3)


async def test_an_idempotency_key_is_claimed_once(
        two_centers: tuple[CenterStore, CenterStore]) -> None:
    first, second = two_centers
    assert await first.shared.claim_order_key("kiosk-0001", "k1", "digest", "o1", "A", 10.0)
    assert not await second.shared.claim_order_key("kiosk-0001", "k1", "digest", "o2", "B", 10.5)
    assert await second.shared.claim_order_key("kiosk-0002", "k1", "digest", "o3", "B", 10.5)
    pending = await second.shared.order_key("kiosk-0001", "k1")
    assert pending is not None and pending.status is None and pending.order_id == "o1"
    await first.shared.answer_order_key("kiosk-0001", "k1", "A", 201, '{"order_id": "o1"}')
    done = await second.shared.order_key("kiosk-0001", "k1")
    assert done is not None and (done.status, done.response) == (201, '{"order_id": "o1"}')
    # A refusal releases the key; an answered key is never released.
    await first.shared.release_order_key("kiosk-0001", "k1", "A")
    assert await second.shared.order_key("kiosk-0001", "k1") is not None
    await second.shared.release_order_key("kiosk-0002", "k1", "B")
    assert await first.shared.order_key("kiosk-0002", "k1") is None


async def test_a_dead_holders_claim_is_taken_over_once(
        two_centers: tuple[CenterStore, CenterStore]) -> None:
    first, second = two_centers
    await first.shared.claim_order_key("kiosk-0001", "k2", "d", "o4", "dead", 10.0)
    claim = await first.shared.order_key("kiosk-0001", "k2")
    assert claim is not None
    results = await asyncio.gather(
        first.shared.take_over_order_key("kiosk-0001", "k2", claim, "A", 100.0),
        second.shared.take_over_order_key("kiosk-0001", "k2", claim, "B", 100.0))
    assert sorted(results) == [False, True]


async def test_a_request_id_is_issued_once_across_two_registers(tmp_path: Path) -> None:
    path = tmp_path / "municipal" / "register.db"
    first = await Register.open(path, migrate=True)
    second = await Register.open(path)
    rendered: list[str] = []
    request = {"request_id": "r-1", "resident_code": "12345678901", "type": "juminhyo",
               "copies": 1, "options": {}}

    async def issue(by: str) -> dict[str, Any]:
        rendered.append(by)
        await asyncio.sleep(0.2)  # rendering: the other must wait for this answer
        return {"fee_yen": 300, "certificates": [
            {"certificate_number": f"n-{by}", "pdf": "JVBERi0=", "sha256": "00",
             "fee_yen": 300}]}

    try:
        answers = await asyncio.gather(first.claims.issue_once(request, lambda: issue("A")),
                                       second.claims.issue_once(request, lambda: issue("B")))
        assert len(rendered) == 1 and answers[0] == answers[1]
        with pytest.raises(Problem) as other:
            await second.claims.issue_once({**request, "copies": 2}, lambda: issue("C"))
        assert other.value.code == "conflict"

        async def refused() -> dict[str, Any]:
            raise Problem("resident-ineligible", "moved out")

        refusal = {**request, "request_id": "r-2"}
        with pytest.raises(Problem):
            await first.claims.issue_once(refusal, refused)
        # A refusal keeps nothing: judged afresh (and issued) on the next try.
        assert (await second.claims.issue_once(refusal, lambda: issue("D")))[
            "certificates"][0]["certificate_number"] == "n-D"
        # Past the retention the PDFs are gone; the request_id stays used.
        assert await first.claims.forget_delivered(now=10**12) == 2
        with pytest.raises(Problem) as delivered:
            await first.claims.issue_once(request, lambda: issue("E"))
        assert delivered.value.code == "conflict"
    finally:
        await first.close()
        await second.close()


async def test_a_write_waits_for_a_read_left_open_in_another_worker(tmp_path: Path) -> None:
    """Another process writes while this one holds a read snapshot: writes
    begin IMMEDIATE and wait on the busy timeout, so none is lost."""
    path = tmp_path / "shared" / "x.db"
    one, other = Database.open(sqlite_url(path)), Database.open(sqlite_url(path))
    try:
        async with one.write() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            await connection.exec_driver_sql("INSERT INTO t VALUES (1), (2)")
        async with one.read() as reading:
            assert len((await reading.exec_driver_sql("SELECT k FROM t")).all()) == 2
            async with other.write() as connection:
                await connection.exec_driver_sql("INSERT INTO t VALUES (3)")
        async with one.write() as connection:
            await connection.exec_driver_sql("INSERT INTO t VALUES (4)")
        async with other.read() as connection:
            assert (await connection.exec_driver_sql("SELECT COUNT(*) FROM t")).scalar() == 4
    finally:
        await one.close()
        await other.close()


async def test_database_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "municipal" / "131016" / "register.db"
    database = Database.open(sqlite_url(path))
    try:
        async with database.write() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (x)")
            await connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        for file in (path, path.with_name("register.db-wal")):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        await database.close()


def test_worker_ports() -> None:
    from center.config import CenterConfig

    shared = CenterConfig(api_port=8443, public_port=8080, worker_index=1, health_port=9000)
    assert (shared.listen_api_port, shared.listen_public_port) == (8443, 8080)
    assert shared.listen_health_port == 9001 and shared.reuse_port
    own = CenterConfig(api_port=18443, public_port=18080, worker_index=1, port_per_worker=True)
    assert (own.listen_api_port, own.listen_public_port) == (18444, 18081)
    assert not CenterConfig().reuse_port and CenterConfig().listen_health_port is None


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_haproxy_accepts_its_configuration(tmp_path: Path) -> None:
    text = config_text(8443, [Backend("center-0", 18443, 18100, 18080),
                              Backend("center-1", 18444, 18101, 18081)], public_port=8080)
    assert "balance source" in text and "server center-1 127.0.0.1:18081" in text
    assert "mode tcp" in text and "option httpchk GET /readyz" in text
    assert "server center-1 127.0.0.1:18444 check port 18101" in text
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)


async def test_a_claim_lost_with_its_unlogged_table_is_not_issued_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL empties the unlogged ``issuance_claims`` after a crash (m0006):
    a request_id retried then, already in the 交付履歴, is refused, not rendered
    again. And a scrub put off by the pace is done by a later call."""
    from datetime import UTC, datetime

    from municipal_server.issuance_claims import TRUNCATE_SECONDS
    from municipal_server.residents import Issuance

    register = await Register.open(tmp_path / "municipal" / "register.db", migrate=True)
    scrubbed: list[str] = []

    async def rewrite(table: str) -> str:
        scrubbed.append(table)
        return ""

    monkeypatch.setattr(register.database, "rewrite", rewrite)
    request = {"request_id": "r-1", "resident_code": "12345678901", "type": "juminhyo",
               "copies": 1, "options": {}}
    rendered: list[str] = []

    async def issue() -> dict[str, Any]:
        rendered.append("x")
        response = {"fee_yen": 300, "certificates": [
            {"certificate_number": "n-1", "pdf": "JVBERi0=", "sha256": "00", "fee_yen": 300}]}
        await register.record_issuance(
            Issuance("r-1", "12345678901", "juminhyo", 1, {}, response),
            datetime.now(UTC), {"terminal_id": "k", "chain": "c", "store_id": "s"}, ["n-1"])
        return response

    try:
        await register.claims.issue_once(request, issue)
        assert await register.claims.forget_delivered(now=10**12) == 1
        assert scrubbed == ["issuance_claims"]
        async with register.claims.writing() as db:  # the crash
            await db.execute("DELETE FROM issuance_claims", ())
        with pytest.raises(Problem) as refused:
            await register.claims.issue_once(request, issue)
        assert refused.value.code == "conflict" and rendered == ["x"]
        # Within the pace nothing is scrubbed, but it is not forgotten either.
        await register.claims.issue_once({**request, "request_id": "r-2"}, lambda: asyncio.sleep(
            0, {"fee_yen": 0, "certificates": []}))
        assert await register.claims.forget_delivered(now=10**12 + 1) == 1
        assert scrubbed == ["issuance_claims"]
        assert await register.claims.forget_delivered(now=10**12 + TRUNCATE_SECONDS) == 0
        assert scrubbed == ["issuance_claims"] * 2
    finally:
        await register.close()
