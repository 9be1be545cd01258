"""konbini/postgres.py starts a real PostgreSQL server from Debian's package
in a directory of its own, on its own port, accepts a connection, keeps
what was written across a restart, and stops; a center database upgraded to
c0006 on it keeps no PDF of before in any of the server's files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from konbini.db import Database, normalise_url
from konbini.migrations import upgrade
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


CENTER_MIGRATIONS = Path(__file__).parent.parent.parent / "center" / "storage" / "migrations"


def _files_holding(directory: Path, windows: list[bytes]) -> list[str]:
    found = []
    for path in directory.rglob("*"):
        try:
            if path.is_file() and any(w in path.read_bytes() for w in windows):
                found.append(str(path.relative_to(directory)))
        except FileNotFoundError:  # unlinked meanwhile
            continue
    return found


async def test_an_upgraded_center_keeps_no_pdf_of_before_in_any_file(data_dir: Path) -> None:
    """c0006 on a database whose order_pdfs was logged: the PDF written before
    lives in the WAL and the table's files; after the upgrade (the migrate
    step retires the WAL) and the PDF's deletion and rewrite, no file of the
    server holds it."""
    server = PostgresServer(data_dir, free_port())
    server.start()
    try:
        url = normalise_url(server.create_database("center"))
        await upgrade(url, CENTER_MIGRATIONS, "c0005")
        pdf = os.urandom(64 * 1024)  # does not compress: stored as it is
        windows = [pdf[i:i + 32] for i in range(0, len(pdf) - 32, 2048)]
        database = Database.open(url)
        try:
            async with database.write() as connection:
                await connection.exec_driver_sql(
                    "INSERT INTO order_pdfs VALUES ('c-1', 'o-1', $1, 0)", (pdf,))
                await connection.exec_driver_sql(
                    "INSERT INTO rate_buckets VALUES ('kiosk-0001', 1.0, 0.0)")
            assert any(f.startswith("pg_wal") for f in _files_holding(data_dir, windows))
            await upgrade(url, CENTER_MIGRATIONS)
            assert await database.retire_wal()
            assert server.psql("SELECT relpersistence FROM pg_class WHERE relname = "
                               "'order_pdfs'", "center") == "u"
            assert server.psql("SELECT to_regclass('rate_buckets') IS NULL", "center") == "t"
            assert server.psql("SELECT length(pdf) FROM order_pdfs", "center") == str(len(pdf))
            async with database.write() as connection:
                await connection.exec_driver_sql("DELETE FROM order_pdfs")
            assert await database.rewrite("order_pdfs") == "truncated"
            assert _files_holding(data_dir, windows) == []
        finally:
            await database.close()
    finally:
        server.stop()
