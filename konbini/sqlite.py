"""Opening a service's embedded SQLite database.

Several worker processes may open the same file (SQLite in WAL mode is safe
across processes); the schema is applied by a migration step of its own
(``python -m center migrate``, ``python -m municipal_server migrate``), so a
worker only opens. The files hold personal data (the resident register) and,
for minutes, certificates: 0600 in a 0700 directory, and deleted content is
overwritten (``secure_delete``) rather than left in free pages.

Two costs of aiosqlite are worth knowing (measured on the 2-core machine,
benchmarks/issuance.py): every call is a hand-off to the connection's thread
and back (about 35 µs of CPU), and ``async with db.execute(...) as cur: await
cur.fetchone()`` makes three of them (execute, fetch, close); and a commit in
the default ``synchronous = FULL`` waits for an fsync of the WAL (1.7–6 ms
when the disk is shared), holding the service's write lock all the while.
:class:`Database` makes a statement one hand-off; :func:`write` commits a
statement in one hand-off and lets a caller say the commit need not survive a
power cut (it still survives the process being killed)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

# Rows fetched with the statement, in the same hand-off; a larger result is
# read on in further hand-offs, so a big report is not held in memory at once.
PREFETCH_ROWS = 64
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


class FetchedCursor(aiosqlite.Cursor):
    """A cursor whose first rows came with the statement: ``fetchone`` and a
    small ``fetchall`` need no hand-off, and nothing is left open."""

    def __init__(self, conn: Database, cursor: sqlite3.Cursor, rows: list[Any],
                 exhausted: bool) -> None:
        super().__init__(conn, cursor)
        self._rows = rows
        self._exhausted = exhausted

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def _more(self, size: int | None) -> None:
        if self._exhausted:
            return
        more = await self._execute(self._cursor.fetchall if size is None
                                   else self._cursor.fetchmany, *(() if size is None else (size,)))
        self._rows.extend(more)
        if size is None or len(more) < size:
            self._exhausted = True
            await self._execute(self._cursor.close)

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._more(1)
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self._cursor.arraysize
        if len(self._rows) < size:
            await self._more(size - len(self._rows))
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken

    async def fetchall(self) -> list[Any]:
        await self._more(None)
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        if not self._exhausted:
            self._exhausted = True
            await self._execute(self._cursor.close)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[Any]:
        while rows := await self.fetchmany(self.iter_chunk_size):
            for row in rows:
                yield row


def _run(conn: sqlite3.Connection, sql: str, parameters: Iterable[Any],
         ) -> tuple[sqlite3.Cursor, list[Any], bool]:
    cursor = conn.execute(sql, parameters)
    rows = cursor.fetchmany(PREFETCH_ROWS) if cursor.description is not None else []
    exhausted = len(rows) < PREFETCH_ROWS
    if exhausted:
        cursor.close()  # no read snapshot is left open between hand-offs
    return cursor, rows, exhausted


def _write(conn: sqlite3.Connection, sql: str, parameters: Iterable[Any] | Mapping[str, Any],
           durable: bool) -> tuple[int, Any]:
    durable = durable or conn.in_transaction  # the level cannot change inside one
    if not durable:
        # Set outside the transaction (SQLite refuses it inside). In WAL mode
        # NORMAL skips the fsync at commit; the next durable commit's fsync of
        # the WAL makes this one durable too.
        conn.execute("PRAGMA synchronous = NORMAL")
    try:
        cursor = conn.execute(sql, parameters)
        row = cursor.fetchone() if cursor.description is not None else None  # RETURNING
        cursor.close()
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        if not durable:
            conn.execute("PRAGMA synchronous = FULL")
    return cursor.rowcount, row


class Database(aiosqlite.Connection):
    """aiosqlite with one hand-off per statement (see the module docstring),
    and none for a small read when no transaction is open: that is read at
    once, on the event loop, through a second, read-only connection. With
    nothing uncommitted on the first connection both see the same rows; in
    WAL mode a reader never waits for a writer, and an indexed read takes
    ~5 µs, well below the ~35 µs a hand-off costs."""

    reader: sqlite3.Connection | None = None

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Other processes write the file too. Coroutines share the connection,
        so one's read may hold a snapshot open while another begins a write;
        if another process committed meanwhile, SQLite answers SQLITE_BUSY at
        once, without its busy handler. A statement that failed so did
        nothing: roll the empty transaction back, wait (letting the reader
        finish) and run it again, up to the busy timeout."""
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

    @contextmanager
    async def execute(self, sql: str, parameters: Iterable[Any] | None = None,
                      ) -> aiosqlite.Cursor:
        params = parameters or ()
        if (self.reader is not None and not self._conn.in_transaction
                and sql.lstrip()[:6].upper() == "SELECT"):
            try:
                cursor, rows, exhausted = _run(self.reader, sql, params)
            except sqlite3.OperationalError:
                pass  # busy or locked: the connection's thread waits for it
            else:
                if exhausted:
                    return FetchedCursor(self, cursor, rows, exhausted)
                cursor.close()  # a long result is read in hand-offs, off the loop
        cursor, rows, exhausted = await self._execute(_run, self._conn, sql, params)
        return FetchedCursor(self, cursor, rows, exhausted)

    @contextlib.asynccontextmanager
    async def relaxed(self, relax: bool = True) -> AsyncIterator[None]:
        """Within: commits do not wait for an fsync (see :meth:`write`). Enter it
        holding the write lock, before the transaction's first statement."""
        if not relax or self._conn.in_transaction:
            yield
            return
        await self._execute(self._conn.execute, "PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            await self._execute(self._conn.execute, "PRAGMA synchronous = FULL")

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        await super().close()

    async def write(self, sql: str, parameters: Iterable[Any] | Mapping[str, Any] = (), *,
                    durable: bool = True) -> int:
        """One statement in its own transaction, committed, in one hand-off;
        the number of rows it changed. Call it holding the service's write
        lock, outside any open transaction. ``durable=False``: the commit
        may be lost to a power cut (never to a crash of the process), for
        state whose loss only makes a kiosk start over (a session's steps)."""
        return int((await self._execute(_write, self._conn, sql, parameters, durable))[0])

    async def write_returning(self, sql: str,
                              parameters: Iterable[Any] | Mapping[str, Any] = (), *,
                              durable: bool = True) -> Any:
        """:meth:`write` for a statement with ``RETURNING``: its first row."""
        return (await self._execute(_write, self._conn, sql, parameters, durable))[1]


def _is_write(args: tuple[Any, ...]) -> bool:
    sql = next((a for a in args if isinstance(a, str)), "").lstrip()
    return bool(sql) and sql.split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE",
                                                           "REPLACE"}


async def open_database(path: Path, schema: str | None = None) -> Database:
    """Open the database at ``path`` with rows by name. With ``schema``
    (idempotent ``CREATE … IF NOT EXISTS`` statements) create what is missing:
    that is the migration step's job; a worker passes None and only opens."""
    make_private(path)

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)

    db = await Database(connector, iter_chunk_size=64)
    db.row_factory = sqlite3.Row
    # Per connection: zero deleted content (a settled order's PDF) in place.
    await db.execute("PRAGMA secure_delete = ON")
    if schema is not None:
        await db.executescript(schema)
        await db.commit()
    async with db.execute("PRAGMA journal_mode") as cur:
        row = await cur.fetchone()
    if row is not None and str(row[0]).lower() == "wal":  # else a reader could be blocked
        db.reader = sqlite3.connect(path, isolation_level=None)
        db.reader.row_factory = sqlite3.Row
        db.reader.execute("PRAGMA query_only = ON")
    make_private(path)  # the -wal and -shm files exist now
    return db


async def truncate_wal(db: aiosqlite.Connection) -> bool:
    """Copy the WAL into the database and truncate it to nothing, so pages a
    deleted row once lived in are gone from the WAL file too. False when a reader
    (another connection's, or a statement of this one) kept it from
    finishing: the upkeep tries again every round."""
    try:
        async with db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
            row = await cur.fetchone()
    except sqlite3.OperationalError:  # a statement of this connection still runs
        return False
    return row is not None and row[0] == 0
