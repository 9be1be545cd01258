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
sleeps in SQLite's busy handler: ``BEGIN IMMEDIATE`` when the write lock is
taken (it is first tried at once with no busy timeout), the ``COMMIT`` of a
write (a WAL checkpoint may run and sync the file), a write outside a write
transaction, ``PRAGMA`` and anything else. A result of more than
:data:`PREFETCH_ROWS` rows is read on in one hand-off, off
the loop. Calls on one connection never overlap: one is run at once only when
everything handed to the thread before it has finished.

SQLAlchemy reaches the driver through :class:`AdaptedConnection` (its DB-API
face, plugged in with ``create_async_engine(module=dbapi())``). SQLAlchemy's
own aiosqlite adapter switches greenlets four times per statement (cursor,
execute, fetchall, close), even when nothing waits; here a statement that
runs at once is a plain call inside SQLAlchemy's greenlet, and only what goes
to the thread switches out to the event loop, once. ``BEGIN`` comes from the
dialect's ``do_begin`` (:meth:`AdaptedConnection.begin`), not from a
statement SQLAlchemy executes: ``BEGIN IMMEDIATE`` when the transaction was
marked as a writer (:meth:`AdaptedConnection.intend_write`).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import await_only

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

    def __init__(self, connector: Callable[[], sqlite3.Connection],
                 busy_timeout: float = 5.0) -> None:
        super().__init__(connector, PREFETCH_ROWS)
        self._busy_ms = int(busy_timeout * 1000)  # sqlite3.connect's timeout
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

    def ready_at_once(self, sql: str) -> bool:
        """Whether ``sql`` may run now on the event loop (:meth:`statement_now`)."""
        return self._last_call[0] and self._connection is not None and self.runs_at_once(sql)

    def _note(self, sql: str) -> None:
        head = _head(sql)
        if head.startswith("BEGIN"):
            self._writing = head.startswith(("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"))

    def statement_now(self, sql: str, parameters: Any) -> _Run:
        """``sql`` on the event loop; only when :meth:`ready_at_once` says so."""
        run = _run(self._conn, sql, parameters)
        self._note(sql)
        return run

    async def statement(self, sql: str, parameters: Any) -> _Run:
        run = await self.call(self.runs_at_once(sql), _run, self._conn, sql, parameters)
        self._note(sql)
        return run

    async def rest_of(self, run: _Run) -> list[Any]:
        """The rows of a large result past the first :data:`PREFETCH_ROWS`."""
        if run.rest is None:
            return []
        rest, run.rest = run.rest, None
        return await self.call(False, _rest, rest)

    async def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    def write_lock_now(self) -> bool:
        """``BEGIN IMMEDIATE`` on the event loop if no other connection holds the
        write lock: tried with no busy timeout, so it never sleeps here. False
        when the lock is taken (the caller then waits for it on the thread)."""
        if not (self._last_call[0] and self._connection is not None):
            return False
        connection = self._conn
        connection.execute("PRAGMA busy_timeout = 0").close()
        try:
            connection.execute("BEGIN IMMEDIATE").close()
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF == (
                    sqlite3.SQLITE_BUSY):
                return False
            raise
        finally:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_ms}").close()
        self._writing = True
        return True

    def ends_at_once(self, *, commit: bool) -> bool:
        """Whether the commit (of a read) or the rollback may run now, on the loop."""
        return (self._last_call[0] and self._connection is not None
                and not (commit and self._writing))

    def end_now(self, *, commit: bool) -> None:
        """Commit or roll back on the event loop; only when :meth:`ends_at_once`."""
        self._writing = False
        if commit:
            self._conn.commit()
        else:
            self._conn.rollback()

    async def commit(self) -> None:
        # A write's commit may checkpoint the WAL (and sync the file): on the thread.
        writing, self._writing = self._writing, False
        await self.call(not writing, self._conn.commit)

    async def rollback(self) -> None:
        self._writing = False
        await self.call(True, self._conn.rollback)


class AdaptedCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, with a statement that runs at once run in
    place (no greenlet switch) and one that waits handed off in one switch."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        driver: Connection = self._connection  # type: ignore[assignment]
        parameters = () if parameters is None else parameters
        try:
            if driver.ready_at_once(operation):
                run = driver.statement_now(operation, parameters)
            else:
                run = self.await_(driver.statement(operation, parameters))
            if run.description:
                self.description = run.description
                self.lastrowid = self.rowcount = -1
                rows = run.rows
                if run.rest is not None:
                    rows.extend(self.await_(driver.rest_of(run)))
                self._rows = deque(rows)
            else:
                self.description = None
                self.lastrowid = run.lastrowid
                self.rowcount = run.rowcount
        except Exception as error:
            self._adapt_connection._handle_exception(error)


class AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's DB-API face of :class:`Connection`: :class:`AdaptedCursor`,
    and commit, rollback and BEGIN without a greenlet switch when they run at
    once (the rule of the module docstring)."""

    __slots__ = ("_write_next",)

    def __init__(self, dbapi: Any, connection: Connection) -> None:
        super().__init__(dbapi, connection)
        self._write_next = False

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return AdaptedCursor(self)

    def intend_write(self) -> None:
        """The next transaction on this connection writes: BEGIN IMMEDIATE."""
        self._write_next = True

    def begin(self) -> None:
        """BEGIN, or BEGIN IMMEDIATE after :meth:`intend_write`: at once when the
        write lock is free, else on the thread, where the writer queues for it
        on SQLite's busy timeout."""
        write, self._write_next = self._write_next, False
        if write:
            driver: Connection = self._connection  # type: ignore[assignment]
            try:
                if driver.write_lock_now():
                    return
            except Exception as error:
                self._handle_exception(error)
        self.cursor().execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def commit(self) -> None:
        self._end(commit=True)

    def rollback(self) -> None:
        self._end(commit=False)

    def _end(self, *, commit: bool) -> None:
        driver: Connection = self._connection  # type: ignore[assignment]
        try:
            if driver.ends_at_once(commit=commit):
                driver.end_now(commit=commit)
            else:
                self.await_(driver.commit() if commit else driver.rollback())
        except Exception as error:
            self._handle_exception(error)


class DBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module SQLAlchemy's aiosqlite dialect is given
    (``create_async_engine(module=dbapi())``): connections are
    :class:`AdaptedConnection`."""

    def connect(self, *arg: Any, **kw: Any) -> AdaptedConnection:
        creator = kw.pop("async_creator_fn", None)
        kw.pop("async_fallback", None)
        if creator is None:
            raise ValueError("konbini.sqlite_driver needs async_creator")
        return AdaptedConnection(self, await_only(creator(*arg, **kw)))


def dbapi() -> DBAPI:
    return DBAPI(aiosqlite, sqlite3)


async def connect(path: Path | str, **kwargs: Any) -> Connection:
    """A :class:`Connection` to the file at ``path``; ``kwargs`` go to ``sqlite3.connect``."""
    connection = Connection(partial(sqlite3.connect, str(path), **kwargs),
                            kwargs.get("timeout", 5.0))
    return await connection


__all__ = ["PREFETCH_ROWS", "AdaptedConnection", "Connection", "Cursor", "connect", "dbapi"]
