"""Opening a service's embedded SQLite database.

Several worker processes may open the same file (SQLite in WAL mode is safe
across processes); the schema is applied by a migration step of its own
(``python -m center migrate``, ``python -m municipal_server migrate``), so a
worker only opens. The files hold personal data (the resident register) and,
for minutes, certificates: 0600 in a 0700 directory, and deleted content is
overwritten (``secure_delete``) rather than left in free pages."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiosqlite

# How long a writer waits for another process's write to finish before
# SQLITE_BUSY. Several workers write the same file; their transactions are
# milliseconds long, so this is only reached when something is badly wrong.
BUSY_TIMEOUT_SECONDS = 30.0
PRIVATE_DIRECTORY, PRIVATE_FILE = 0o700, 0o600


def make_private(path: Path) -> None:
    """The database file (and its -wal/-shm companions) 0600 in a 0700 directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, PRIVATE_DIRECTORY)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for companion in (path, path.with_name(path.name + "-wal"),
                      path.with_name(path.name + "-shm")):
        if companion.exists():
            os.chmod(companion, PRIVATE_FILE)


class SharedFileConnection(aiosqlite.Connection):
    """One service's connection to a file other processes write too.

    Coroutines share the connection, so one's read may hold a snapshot open
    (a cursor between fetchone and close) while another begins a write; if
    another process committed meanwhile, SQLite answers SQLITE_BUSY at once,
    without its busy handler. A statement that failed so did nothing: roll
    the empty transaction back, wait (letting the reader finish) and run it
    again, up to the busy timeout."""

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        delay = 0.002
        while True:
            try:
                return await super()._execute(fn, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                if "database is locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                # A refused write is the transaction's first (a connection that
                # holds the write lock is never refused), but the BEGIN before it
                # left a read snapshot that can never become a writer: drop it.
                # (A refused read must not: another coroutine's write may be open.)
                if _is_write(args) and self._conn.in_transaction:
                    await super()._execute(self._conn.rollback)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)


def _is_write(args: tuple[Any, ...]) -> bool:
    sql = args[0] if args and isinstance(args[0], str) else ""
    return sql.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE",
                                                       "REPLACE"} if sql.strip() else False


def _connect(path: Path) -> SharedFileConnection:
    def connector() -> sqlite3.Connection:
        return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
    return SharedFileConnection(connector, 64)


async def open_database(path: Path, schema: str | None = None) -> aiosqlite.Connection:
    """Open the database at ``path`` with rows by name. With ``schema``
    (idempotent ``CREATE … IF NOT EXISTS`` statements) create what is missing:
    that is the migration step's job; a worker passes None and only opens."""
    make_private(path)
    db = await _connect(path)
    db.row_factory = sqlite3.Row
    # Per connection: zero deleted content (a settled order's PDF) in place.
    await db.execute("PRAGMA secure_delete = ON")
    if schema is not None:
        await db.executescript(schema)
        await db.commit()
    make_private(path)  # the -wal and -shm files exist now
    return db


async def truncate_wal(db: aiosqlite.Connection) -> bool:
    """Copy the WAL into the database and truncate it to nothing, so pages a
    deleted row once lived in are gone from the WAL file too. False when
    another connection's reader kept it from finishing (try again later)."""
    try:
        async with db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
            row = await cur.fetchone()
    except sqlite3.OperationalError:  # a statement of this connection still runs
        return False
    return row is not None and row[0] == 0
