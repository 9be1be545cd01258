"""konbini/postgres.py starts a real PostgreSQL server from Debian's package
in a directory of its own, on its own port, accepts a connection, keeps
what was written across a restart, and stops."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from konbini.postgres import PostgresServer, free_port


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Under /tmp itself: when the tests run as root the server runs as the
    # `postgres` user, who cannot enter pytest's private temporary directory.
    base = Path(tempfile.mkdtemp(prefix="konbini-pg-"))
    base.chmod(0o755)
    try:
        yield base / "data"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_starts_accepts_a_connection_and_stops(data_dir: Path) -> None:
    server = PostgresServer(data_dir, free_port())
    server.start()
    try:
        assert server.accepts_connections()
        url = server.create_database("konbini")
        assert url == f"postgresql://postgres@127.0.0.1:{server.port}/konbini"
        server.psql("CREATE TABLE orders (order_id TEXT PRIMARY KEY, fee_yen INTEGER)",
                    "konbini")
        server.psql("INSERT INTO orders VALUES ('o-1', 300)", "konbini")
        assert server.create_database("konbini") == url  # a second time: no error
        server.stop()
        assert not server.accepts_connections()
        server.start()  # the same directory again: the data is still there
        assert server.psql("SELECT fee_yen FROM orders WHERE order_id = 'o-1'",
                           "konbini") == "300"
        assert server.psql("SHOW server_encoding") == "UTF8"
    finally:
        server.stop()
    assert not server.accepts_connections()
    assert not (data_dir / "postmaster.pid").exists()


def test_a_bad_database_name_is_refused(data_dir: Path) -> None:
    with pytest.raises(ValueError):
        PostgresServer(data_dir, free_port()).create_database("x; DROP DATABASE postgres")
