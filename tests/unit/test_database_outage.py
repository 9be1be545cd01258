"""What keeps a PostgreSQL restart from reaching a kiosk as a 500, a closed
connection or a hang, without a server (the restart itself, over the wire:
tests/e2e/test_postgres_restart.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from asyncpg.exceptions import CannotConnectNowError, ConnectionDoesNotExistError
from asyncpg.exceptions._base import InterfaceError, InternalClientError

from center.municipal_client import _relay
from konbini.db import Database, is_unavailable
from konbini.haproxy import Backend, config_text


@pytest.mark.parametrize("error", [
    InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
    InterfaceError("connection is closed"),
    CannotConnectNowError("the database system is shutting down"),
    ConnectionDoesNotExistError("connection was closed in the middle of operation"),
])
def test_a_lost_database_is_unavailable_not_a_defect(error: Exception) -> None:
    assert is_unavailable(error)
    wrapped = RuntimeError("while settling")  # as asyncpg's errors come out of a rollback
    wrapped.__cause__ = error
    assert is_unavailable(wrapped)
    assert is_unavailable(ConnectionRefusedError(111, "Connect call failed"))


@pytest.mark.parametrize("error", [ValueError("bad"), KeyError("x"), RuntimeError("defect")])
def test_a_defect_stays_a_defect(error: Exception) -> None:
    assert not is_unavailable(error)


async def test_a_ping_that_fails_in_any_way_makes_the_pool_reconnect() -> None:
    """asyncpg's ping after a fast shutdown fails with InternalClientError, which
    SQLAlchemy does not take for a disconnect: the ping says "dead" instead."""
    database = Database.open("postgresql://postgres@127.0.0.1:1/none")  # never connected

    class Dead:
        def ping(self) -> None:
            raise InternalClientError("cannot switch to state 15")

    class Alive:
        def ping(self) -> None:
            return None

    class Adapted:
        """asyncpg under SQLAlchemy's adapter: the ping is one empty query."""

        def __init__(self, alive: bool) -> None:
            self.alive, self.queries = alive, []

            class Driver:
                async def execute(inner, query: str) -> None:
                    self.queries.append(query)
                    if not self.alive:
                        raise ConnectionDoesNotExistError("connection was closed")
            self.driver_connection = Driver()

        @staticmethod
        def await_(coroutine):  # type: ignore[no-untyped-def]
            try:
                coroutine.send(None)
            except StopIteration as done:
                return done.value
            raise AssertionError("the fake never waits")

    try:
        dialect = database.engine.sync_engine.dialect
        assert dialect.do_ping(Dead()) is False
        assert dialect.do_ping(Alive()) is True
        alive, dead = Adapted(alive=True), Adapted(alive=False)
        assert dialect.do_ping(alive) is True and alive.queries == ["SELECT 1"]
        assert dialect.do_ping(dead) is False and dead.queries == ["SELECT 1"]
    finally:
        await database.close()


def test_a_municipal_database_outage_reaches_the_kiosk_with_when_to_retry() -> None:
    problem = _relay({"code": "database-unavailable", "retry_after_seconds": 5}, 503)
    assert (problem.code, problem.extra.get("retry_after_seconds")) == (
        "municipality-unavailable", 5)
    plain = _relay({"code": "internal-error"}, 503)
    assert plain.code == "municipality-unavailable"
    assert "retry_after_seconds" not in plain.extra


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_haproxy_keeps_live_workers_when_none_is_ready(tmp_path: Path) -> None:
    """/readyz fails on every worker while their shared database is down; then
    the workers that are alive answer (503 database-unavailable) instead of
    HAProxy closing every connection."""
    text = config_text(8443, [Backend("center-0", 18443, 18100, 18080),
                              Backend("center-1", 18444, 18101, 18081)], public_port=8080)
    assert "use_backend center_workers_alive if { nbsrv(center_workers) eq 0 }" in text
    assert "use_backend center_public_alive if { nbsrv(center_public_workers) eq 0 }" in text
    alive = text.split("\nbackend center_workers_alive\n", 1)[1].split("\nbackend ", 1)[0]
    assert "option httpchk GET /healthz" in alive
    assert "server center-1 127.0.0.1:18444 check port 18101" in alive
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)


async def test_a_released_key_whose_order_was_made_after_all_is_kept(tmp_path: Path) -> None:
    """The order's commit went through as the connection broke: releasing the
    key would let the resend make a second order; it is kept, and the resend
    finds the order."""
    from center.storage import CenterStore

    store = await CenterStore.open(tmp_path / "center" / "center.db", migrate=True)
    try:
        shared = store.shared
        assert await shared.claim_order_key("kiosk-0001", "made", "d", "o-made", "A", 10.0)
        assert await shared.claim_order_key("kiosk-0001", "refused", "d", "o-none", "A", 10.0)
        async with store.database.write() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO orders (order_id, session_id, terminal_id, request_id, "
                "municipality_code, type, copies, fee_yen, status, created_at, download_until) "
                "VALUES ('o-made', 's', 'kiosk-0001', 'r', '131016', 'juminhyo', 1, 300, "
                "'issued', 0, 600)")
        await shared.release_order_key("kiosk-0001", "made", "A")
        await shared.release_order_key("kiosk-0001", "refused", "A")
        kept = await shared.order_key("kiosk-0001", "made")
        assert kept is not None and kept.order_id == "o-made"
        assert await shared.order_key("kiosk-0001", "refused") is None
    finally:
        await store.close()
