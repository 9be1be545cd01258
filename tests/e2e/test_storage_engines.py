"""Storage on both engines: an old demo var/ is upgraded in place by the
migration step and keeps its data; on PostgreSQL, a database restart under
the running services gives kiosks a clear 503 and the services reconnect by
themselves."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from center.storage import CenterStore
from konbini.migrations import head_revision
from municipal_server.register import Register
from municipal_server.storage.repositories import MIGRATIONS as MUNICIPAL_MIGRATIONS
from tests.conftest import Raw, System
from tests.support import query_one

LEGACY = Path(__file__).parent.parent / "fixtures" / "legacy"
CENTER_MIGRATIONS = Path(__file__).parent.parent.parent / "center" / "storage" / "migrations"


def legacy_var(var: Path) -> tuple[Path, Path]:
    """var/ as the code before Alembic left it (tests/fixtures/legacy/make_legacy_dumps.py)."""
    center = var / "center" / "center.db"
    register = var / "municipal" / "131016" / "register.db"
    for path, dump in ((center, "center.sql"), (register, "register-131016.sql")):
        path.parent.mkdir(parents=True)
        with sqlite3.connect(path) as db:
            db.executescript((LEGACY / dump).read_text(encoding="utf-8"))
    return center, register


def migrate(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_an_old_demo_var_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    var = tmp_path / "var"
    center_db, register_db = legacy_var(var)
    residents_before = query_one(register_db, "SELECT COUNT(*) FROM residents")
    assert query_one(center_db, "SELECT COUNT(*) FROM sqlite_master "
                                "WHERE name = 'alembic_version'") == 0

    assert "was un-versioned" in migrate("center", "migrate", "--var", str(var))
    assert "was un-versioned" in migrate("municipal_server", "migrate", "--code", "131016",
                                         "--var", str(var))
    # Run once more: nothing to do, nothing changed.
    assert f"was {head_revision(CENTER_MIGRATIONS)}" in migrate(
        "center", "migrate", "--var", str(var))

    store = await CenterStore.open(center_db)
    try:
        settled = await store.order("o-legacy-1")
        assert settled is not None and settled.status == "settled"
        assert settled.charged_yen == 300 and settled.terminal_fingerprint is None
        assert [e["kind"] for e in await store.ledger.entries("o-legacy-1")] == ["charge"]
        issued = await store.order("o-legacy-2")
        assert issued is not None and issued.status == "issued"
        assert await store.order_pdf("c-legacy-2") == b"%PDF-legacy"
        registered = await store.municipality("131016")
        assert registered is not None and registered[0].name == "千代田区"
        # Tables of later revisions are there, empty, usable.
        assert await store.shared.claim_lease("upkeep", "test", 1000.0, 30)
    finally:
        await store.close()

    register = await Register.open(register_db)
    try:
        assert await register.resident_count() >= int(residents_before)  # type: ignore[arg-type]
        found = await register.find_residents("霞 太郎")
        assert [r.domicile_code for r in found] == ["131016"]
        assert await register.issued_numbers("nothing-yet") is None
    finally:
        await register.close()
    assert query_one(register_db, "SELECT version_num FROM alembic_version") == head_revision(
        MUNICIPAL_MIGRATIONS)
    # Instants were ISO text in the register; now epoch seconds as in the center.
    assert query_one(register_db, "SELECT at FROM clerk_log WHERE target = 'legacy-target'"
                     ) == datetime(2026, 11, 24, 1, 0, tzinfo=UTC).timestamp()
    for path in (center_db, register_db):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_a_postgresql_restart_gives_a_clear_503_and_the_services_reconnect(
        system: System, as_kiosk: Raw) -> None:
    if system.postgres is None:
        pytest.skip("the services run on SQLite (KONBINI_TEST_DATABASE=postgresql for this)")
    status, _, _ = await as_kiosk.call("POST", "/v1/sessions", json_body={})
    assert status == 201
    await asyncio.to_thread(system.postgres.stop)
    try:
        status, body, headers = await as_kiosk.call("POST", "/v1/sessions", json_body={})
        assert status == 503, body
        assert body["code"] == "database-unavailable"
        assert body["retry_after_seconds"] > 0
        assert int(headers["Retry-After"]) == body["retry_after_seconds"]
    finally:
        await asyncio.to_thread(system.postgres.start)
    # The pool pings before it lends a connection: the next request reconnects.
    status, body, _ = await as_kiosk.call("POST", "/v1/sessions", json_body={})
    assert status == 201, body
