"""One real system per test session: the center, three municipal servers and
the kiosk UI as separate processes on free loopback ports, real mutual TLS,
persona cards in a wallet. The clock is pinned to a weekday morning so the
suite passes at any hour of the real day.

Request budgets are per terminal. The dev terminals kiosk-0001…0003, which the
``kiosk``, ``as_kiosk`` and ``center_clock`` fixtures, ``system.terminal()`` and
the kiosk UI share for the whole session (tests read their identity in the
ledger and the console), get a budget sized for a session, so no run on however
fast a machine reaches it. A test that wants a terminal of its own (its own
identity and the production budget) takes ``own_terminal`` or calls
``system.new_terminal()``; the flood test's terminal has a small budget, so that
it reaches 429 on any machine."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import ssl
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from center.rate_limit import Budget
from kiosk_sim.card import VirtualCard
from kiosk_sim.client import KioskClient, Terminal
from kiosk_sim.wallet import Wallet
from konbini.clock import Clock, parse_instant
from konbini.devpki import DEFAULT_TERMINALS, DevPki, issue_tls_client_cert, kiosk_subject
from konbini.persona_cards import issue_card, load_persona_cards
from konbini.personas import persona_card
from konbini.postgres import PostgresServer, free_port
from konbini.tls import client_context
from konbini.topology import Ports, Topology

BASE_CLOCK = "2026-11-24T10:00:00+09:00"  # a Tuesday, not a holiday
SYNTHETIC_RESIDENTS = 20
# A session's worth for the terminals and the address that every test shares
# (the suite sends a few thousand requests in all); production budgets (1,200 a
# minute, burst 200; uploads 20, burst 10) for everyone else, and a small one
# for the terminal whose test floods the center.
SHARED_BUDGET = Budget(per_minute=60_000, burst=10_000)
FLOOD_TERMINAL = "flooding-kiosk"
FLOOD_BUDGET = Budget(per_minute=60, burst=20)
SHARED_ADDRESS = "127.0.0.1"
TEST_BUDGETS = " ".join([
    *(f"terminal:{terminal_id}={SHARED_BUDGET.per_minute}/{SHARED_BUDGET.burst}"
      for terminal_id, _, _ in DEFAULT_TERMINALS),
    f"upload:{SHARED_ADDRESS}={SHARED_BUDGET.per_minute}/{SHARED_BUDGET.burst}",
    f"terminal:{FLOOD_TERMINAL}={FLOOD_BUDGET.per_minute}/{FLOOD_BUDGET.burst}",
])
_terminal_numbers = itertools.count(1)


# KONBINI_TEST_DATABASE=postgresql: the services run on a real PostgreSQL
# server (Debian's package, konbini/postgres.py) in a temporary directory, one
# database per service; otherwise on their embedded SQLite files.
TEST_DATABASE = os.environ.get("KONBINI_TEST_DATABASE", "sqlite")
DATABASE_NAMES = {"center": "center", **{code: f"municipal_{code}"
                                         for code in ("131016", "452017", "141003")}}


@dataclass
class System:
    topology: Topology
    postgres: PostgresServer | None = None

    @property
    def on_postgres(self) -> bool:
        return self.postgres is not None

    def database(self, service: str) -> Path | str:
        """A service's database as tests/support.py reads it: a file or a URL."""
        url = self.topology.database_urls.get(service)
        if url is not None:
            return url
        if service == "center":
            return self.var / "center" / "center.db"
        return self.var / "municipal" / service / "register.db"

    def service_env(self, service: str) -> dict[str, str]:
        """The environment of a command line run beside the system on a service's
        database ("center" or a municipality code)."""
        url = self.topology.database_urls.get(service)
        return {**os.environ, **({"KONBINI_DATABASE_URL": url} if url else {})}

    def center_env(self) -> dict[str, str]:
        return self.service_env("center")

    @property
    def var(self) -> Path:
        return self.topology.var

    @property
    def pki(self) -> Path:
        return self.topology.pki

    @property
    def center_url(self) -> str:
        return self.topology.center_url

    @property
    def public_url(self) -> str:
        return self.topology.public_url

    @property
    def center_db(self) -> Path | str:
        return self.database("center")

    def municipal_db(self, code: str) -> Path | str:
        return self.database(code)

    def municipal_url(self, code: str) -> str:
        return f"https://127.0.0.1:{self.topology.ports.municipal[code]}"

    def log(self, name: str) -> str:
        return (self.var / "logs" / f"{name}.log").read_text(encoding="utf-8")

    def terminal(self, terminal_id: str = "kiosk-0001") -> Terminal:
        return Terminal.from_pki(self.pki, terminal_id, self.center_url)

    def new_terminal(self, terminal_id: str, chain: str = "seven-eleven",
                     store_id: str = "store-test") -> Terminal:
        """A kiosk terminal certificate minted now from the test PKI (outside
        pki/kiosk, so the kiosk UI's list of stores stays the dev one) and
        enrolled in the center's terminal registry."""
        directory = self.var / "test-terminals"
        directory.mkdir(exist_ok=True)
        cert, key = issue_tls_client_cert(DevPki.at(self.pki),
                                          kiosk_subject(terminal_id, chain, store_id),
                                          directory / terminal_id)
        self.topology.enrol_terminals([cert])  # the center serves enrolled terminals only
        return Terminal(self.center_url, cert, key, self.pki / "tls-ca.cert.pem")

    def ssl_as_municipality(self, code: str) -> ssl.SSLContext:
        return client_context(self.pki / "municipal" / f"{code}.cert.pem",
                              self.pki / "municipal" / f"{code}.key.pem",
                              self.pki / "tls-ca.cert.pem")

    def ssl_as_center(self) -> ssl.SSLContext:
        return client_context(self.pki / "center.cert.pem", self.pki / "center.key.pem",
                              self.pki / "tls-ca.cert.pem")

    def ssl_as_kiosk(self, terminal_id: str = "kiosk-0001") -> ssl.SSLContext:
        return self.terminal(terminal_id).ssl_context()

    def ssl_anonymous(self) -> ssl.SSLContext:
        return client_context(None, None, self.pki / "tls-ca.cert.pem")


def start_test_postgres() -> PostgresServer:
    """A real PostgreSQL server in a directory under /tmp (when the tests run as
    root the server runs as the ``postgres`` user, who cannot enter pytest's
    private temporary directory), one database per service."""
    base = Path(tempfile.mkdtemp(prefix="konbini-test-pg-"))
    base.chmod(0o755)
    server = PostgresServer(base / "data", free_port())
    server.start()
    return server


@pytest.fixture(scope="session")
def test_postgres() -> Iterator[PostgresServer | None]:
    if TEST_DATABASE != "postgresql":
        yield None
        return
    server = start_test_postgres()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)


_unit_databases = itertools.count()


@pytest.fixture
def center_database(tmp_path: Path, test_postgres: PostgresServer | None) -> Path | str:
    """A fresh center database for a storage test without a server: a SQLite
    file, or with ``KONBINI_TEST_DATABASE=postgresql`` a new database on the
    test server (``CenterStore.open(…, migrate=True)`` makes the schema)."""
    if test_postgres is None:
        return tmp_path / "center" / "center.db"
    return test_postgres.create_database(f"unit_{os.getpid()}_{next(_unit_databases)}")


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory,
           test_postgres: PostgresServer | None) -> Iterator[System]:
    var = tmp_path_factory.mktemp("var")
    urls = {} if test_postgres is None else {
        service: test_postgres.create_database(name)
        for service, name in DATABASE_NAMES.items()}
    topology = Topology(var=var, ports=Ports.free(), log_dir=var / "logs",
                        database_urls=urls,
                        env={"KONBINI_CLOCK": BASE_CLOCK, "KONBINI_UPKEEP_SECONDS": "1",
                             "KONBINI_BUDGETS": TEST_BUDGETS,
                             # every service logs JSON lines (test_observability reads them)
                             "KONBINI_LOG_FORMAT": "json"},
                        synthetic_residents=SYNTHETIC_RESIDENTS)
    # A bound for a loaded machine, not a figure: start-up takes seconds when quiet.
    topology.start(timeout=300)
    try:
        asyncio.run(load_persona_cards(topology.center_url, topology.pki, topology.wallet_dir,
                                       Clock(parse_instant(BASE_CLOCK))))
        yield System(topology, test_postgres)
    finally:
        topology.stop()


@pytest.fixture
def own_terminal(system: System) -> Terminal:
    """A kiosk terminal of this test's own (seven-eleven), with the production budget."""
    return system.new_terminal(f"test-{next(_terminal_numbers):05d}")


@pytest.fixture
def wallet(system: System) -> Wallet:
    return Wallet(system.topology.wallet_dir)


@pytest.fixture
async def kiosk(system: System) -> AsyncIterator[KioskClient]:
    async with KioskClient(system.terminal()) as client:
        yield client


@pytest.fixture
async def fresh_card(system: System):  # type: ignore[no-untyped-def]
    """A factory of brand-new cards for a persona (or another resident of its
    municipality), so tests that lock or suspend cards leave the wallet alone."""
    async def make(persona: str = "kasumi-hanako", *, resident: str | None = None,
                   **changes: Any) -> VirtualCard:
        from dataclasses import replace

        spec = replace(persona_card(persona), **changes)
        card, _ = await issue_card(system.center_url, system.pki, spec,
                                   Clock(parse_instant(BASE_CLOCK)), resident=resident)
        return card
    return make


class Raw:
    """Plain HTTPS calls with a chosen client certificate, for malformed input."""

    def __init__(self, base: str, context: ssl.SSLContext) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))

    async def call(self, method: str, path: str, *, json_body: Any = None,
                   data: bytes | str | None = None, headers: dict[str, str] | None = None,
                   ) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if json_body is not None:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data
            kwargs["headers"].setdefault("Content-Type", "application/json")
        async with self.session.request(method, self.base + path, **kwargs) as response:
            raw = await response.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            return response.status, body, response.headers

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def as_kiosk(system: System) -> AsyncIterator[Raw]:
    raw = Raw(system.center_url, system.ssl_as_kiosk())
    yield raw
    await raw.close()


@pytest.fixture
async def as_chiyoda(system: System) -> AsyncIterator[Raw]:
    raw = Raw(system.center_url, system.ssl_as_municipality("131016"))
    yield raw
    await raw.close()


class CenterClock:
    """The center's clock, moved over its test-environment API."""

    def __init__(self, raw: Raw) -> None:
        self.raw = raw

    async def __call__(self, instant: str) -> None:
        status, body, _ = await self.raw.call("PUT", "/v1/dev/clock", json_body={"now": instant})
        assert status == 200, body

    async def now(self) -> datetime:
        status, body, _ = await self.raw.call("GET", "/v1/dev/clock")
        assert status == 200, body
        return datetime.fromisoformat(body["now"])

    async def advance(self, seconds: float) -> None:
        await self((await self.now() + timedelta(seconds=seconds)).isoformat())


@pytest.fixture
async def center_clock(system: System) -> AsyncIterator[CenterClock]:
    """Move the center's clock for one test; it goes back to the base after."""
    raw = Raw(system.center_url, system.ssl_as_kiosk())
    clock = CenterClock(raw)
    yield clock
    await clock(BASE_CLOCK)
    await raw.close()
