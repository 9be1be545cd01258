"""The SQLite driver connection under SQLAlchemy's ``sqlite+aiosqlite`` dialect:
aiosqlite, with fewer hand-offs to its thread.

Why: aiosqlite runs every call on the connection's own thread and hands the
result back to the event loop (a queue, a future, a wake-up: ~40-100 µs of
CPU on the 2-core machine, and more when the host is busy). SQLAlchemy's
adapter makes four such calls per statement (cursor, execute, fetchall,
close), and a read transaction is three statements (BEGIN, SELECT, COMMIT):
about twelve hand-offs to read one row that SQLite finds in ~10 µs. Profiled
under ``benchmarks/issuance.py`` they were a quarter to a third of the
services' CPU (issue 12).

Here a statement is at most one hand-off, and none where SQLite cannot wait
for another connection, which is run at once on the event loop:

- ``BEGIN`` (deferred), ``SELECT``, ``ROLLBACK`` and the ``COMMIT`` of a
  transaction that wrote nothing. In WAL mode a reader never waits for a
  writer or a checkpoint.
- Every statement of a write transaction once its ``BEGIN IMMEDIATE`` holds
  the write lock: nothing else can take it from us before the commit.

What may wait stays on the connection's thread, so the event loop never
sleeps in SQLite's busy handler: ``BEGIN IMMEDIATE`` (another process may be
writing), the ``COMMIT`` of a write (a WAL checkpoint may run and sync the
file), a write outside a write transaction, ``PRAGMA`` and anything else. A
result of more than :data:`PREFETCH_ROWS` rows is read on in one hand-off, off
the loop. Calls on one connection never overlap: one is run at once only when
everything handed to the thread before it has finished.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

# Rows read with the statement on the event loop; the rest of a larger result
# (a report) is read in one hand-off.
PREFETCH_ROWS = 64

T = TypeVar("T")


def _head(sql: str) -> str:
    return sql.lstrip()[:16].upper()


class _Run:
    """One statement's outcome, read before the next call on the connection."""

    __slots__ = ("description", "lastrowid", "rest", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor, rows: list[Any], rest: sqlite3.Cursor | None,
                 ) -> None:
        self.description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self.rows = rows
        self.rest = rest


def _run(connection: sqlite3.Connection, sql: str, parameters: Any) -> _Run:
    cursor = connection.execute(sql, parameters)
    if cursor.description is None:
        cursor.close()
        return _Run(cursor, [], None)
    rows = cursor.fetchmany(PREFETCH_ROWS)
    if len(rows) < PREFETCH_ROWS:
        cursor.close()  # no read snapshot is left open between calls
        return _Run(cursor, rows, None)
    return _Run(cursor, rows, cursor)


def _run_many(connection: sqlite3.Connection, sql: str,
              parameters: Iterable[Sequence[Any]]) -> _Run:
    cursor = connection.executemany(sql, parameters)
    cursor.close()
    return _Run(cursor, [], None)


def _rest(cursor: sqlite3.Cursor) -> list[Any]:
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


class Cursor:
    """What SQLAlchemy's aiosqlite adapter uses of an aiosqlite cursor: the
    statement runs in :meth:`execute`, its rows come with it."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: list[Any] = []
        self._rest: sqlite3.Cursor | None = None

    def _take(self, run: _Run) -> Cursor:
        self.description, self.rowcount, self.lastrowid = (
            run.description, run.rowcount, run.lastrowid)
        self._rows, self._rest = run.rows, run.rest
        return self

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return self._take(await self._connection.statement(sql, parameters))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        connection = self._connection
        return self._take(await connection.call(
            connection.runs_at_once(sql), _run_many, connection._conn, sql, parameters))

    async def _read_rest(self) -> None:
        if self._rest is not None:
            rest, self._rest = self._rest, None
            self._rows.extend(await self._connection.call(False, _rest, rest))

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._read_rest()
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if len(self._rows) < size:
            await self._read_rest()
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken

    async def fetchall(self) -> list[Any]:
        await self._read_rest()
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        if self._rest is not None:
            rest, self._rest = self._rest, None
            await self._connection.call(False, rest.close)
        self._rows = []


class Connection(aiosqlite.Connection):
    """aiosqlite's connection with :class:`Cursor` and the rule of the module
    docstring for what runs at once and what on the connection's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, PREFETCH_ROWS)
        self._thread.daemon = True  # as aiosqlite.connect under SQLAlchemy: never blocks exit
        self._writing = False  # inside a transaction begun with BEGIN IMMEDIATE
        # Set by the thread when the last call handed to it has finished; the queue
        # is first in, first out, so then every earlier one has too.
        self._last_call: list[bool] = [True]

    def runs_at_once(self, sql: str) -> bool:
        """Whether ``sql`` is a statement that cannot wait for another connection."""
        head = _head(sql)
        if head.startswith("SELECT"):
            return True
        if head.startswith("BEGIN"):
            return head in ("BEGIN", "BEGIN DEFERRED", "BEGIN TRANSACTION")
        return self._writing

    async def call(self, at_once: bool, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` at once on the event loop when ``at_once`` and nothing
        handed to the thread is still running, else on the connection's thread."""
        if at_once and self._last_call[0]:
            if self._connection is None:
                raise ValueError("no active connection")
            return function(*args)
        done = [False]
        self._last_call = done

        def run() -> T:
            try:
                return function(*args)
            finally:
                done[0] = True

        return await self._execute(run)

    async def statement(self, sql: str, parameters: Any) -> _Run:
        head = _head(sql)
        run = await self.call(self.runs_at_once(sql), _run, self._conn, sql, parameters)
        if head.startswith("BEGIN"):
            self._writing = head.startswith(("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"))
        return run

    async def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    async def commit(self) -> None:
        # A write's commit may checkpoint the WAL (and sync the file): on the thread.
        writing, self._writing = self._writing, False
        await self.call(not writing, self._conn.commit)

    async def rollback(self) -> None:
        self._writing = False
        await self.call(True, self._conn.rollback)


async def connect(path: Path | str, **kwargs: Any) -> Connection:
    """A :class:`Connection` to the file at ``path``; ``kwargs`` go to ``sqlite3.connect``."""
    connection = Connection(partial(sqlite3.connect, str(path), **kwargs))
    return await connection


__all__ = ["PREFETCH_ROWS", "Connection", "Cursor", "connect"]
