"""A service's database, SQLite (the embedded default) or PostgreSQL, behind
one query layer: SQLAlchemy 2 Core on asyncio (aiosqlite, asyncpg).

The engine is chosen per service by a URL: ``--database-url`` or
``KONBINI_DATABASE_URL``, else the SQLite file under ``var/``. The schema is
not created here: Alembic migrations do that, once, as a step of their own
(``python -m center migrate``); a worker only opens.

SQLite: WAL (readers never wait for the writer), foreign keys, a busy timeout
(several worker processes write the same file), ``secure_delete`` (a settled
order's PDF does not survive in free pages), the file 0600 in a 0700
directory (the resident register is personal data). A transaction that writes
starts with ``BEGIN IMMEDIATE``, so two writers queue on the busy timeout
instead of one failing when it upgrades its read lock.

PostgreSQL: asyncpg's pool with ``pool_pre_ping`` (after a server restart the
next checkout reconnects), connect and command timeouts (never a hang). When
the database cannot be reached the HTTP edge answers 503
``database-unavailable`` with ``retry_after_seconds`` (:func:`is_unavailable`)."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import sys
import weakref
from collections.abc import (
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Executable, Table, TextClause, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, RowMapping, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.asyncio.result import _ensure_sync_result
from sqlalchemy.util import greenlet_spawn

from konbini import sqlite_driver

T = TypeVar("T")

ENV_DATABASE_URL = "KONBINI_DATABASE_URL"
# A writer waits this long for another process's write before SQLITE_BUSY; the
# transactions are milliseconds long, so it is reached only when something is wrong.
BUSY_TIMEOUT_SECONDS = 30.0
PRIVATE_DIRECTORY, PRIVATE_FILE = 0o700, 0o600
# PostgreSQL: how long to wait for a connection or a statement before giving up
# with 503 rather than leaving a kiosk hanging.
CONNECT_TIMEOUT_SECONDS = 5.0
COMMAND_TIMEOUT_SECONDS = 30.0
# Connections a process keeps. SQLite: an idle one is a file handle and a parked
# thread, while one opened past the pool and closed on return costs a thread, six
# PRAGMAs and a parse of the schema; with 16 kiosks a service held up to ~15 at
# once (writers waiting for the write lock), and 5 kept meant one new connection
# every two issuances (issue 12). PostgreSQL: each is a server backend.
SQLITE_POOL_SIZE = 20
POSTGRES_POOL_SIZE = 5
# What a client is told to wait while the database is unreachable (a restart
# of PostgreSQL takes a few seconds).
RETRY_AFTER_SECONDS = 5
# How long the rewrite of a table of transient PDFs (Database.rewrite) waits for
# the table's lock before leaving it to the next round: downloads wait at most this.
REWRITE_LOCK_TIMEOUT = "1s"
# Compiled statements SQLAlchemy keeps per engine (its default is 500): a
# service builds a few hundred distinct statements, and one pushed out of the
# cache is compiled again, ~0.5-1 ms (issue 12).
QUERY_CACHE_SIZE = 2000
PREPARED_STATEMENTS = 500


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def resolve_url(explicit: str | None, default_path: Path) -> str:
    """``--database-url``, else ``KONBINI_DATABASE_URL``, else the SQLite file."""
    url = explicit or os.environ.get(ENV_DATABASE_URL) or sqlite_url(default_path)
    return normalise_url(url)


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` and ``sqlite://`` URLs get their asyncio driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError(f"unsupported database URL: {parsed.drivername} "
                         "(sqlite:///path or postgresql://…)")
    return parsed.render_as_string(hide_password=False)


def make_private(path: Path) -> None:
    """The SQLite file (and its -wal/-shm companions) 0600 in a 0700 directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, PRIVATE_DIRECTORY)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for companion in (path, path.with_name(path.name + "-wal"),
                      path.with_name(path.name + "-shm")):
        if companion.exists():
            os.chmod(companion, PRIVATE_FILE)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling off: the dialect's do_begin
    # (_sqlite_do_begin) emits BEGIN (IMMEDIATE for writers) itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode = WAL", "foreign_keys = ON",
                   f"busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}",
                   "secure_delete = ON", "synchronous = NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_do_begin(dbapi_connection: Any) -> None:
    # The driver's own transaction handling is off (isolation_level None): BEGIN
    # here, IMMEDIATE for a writer (Database.write marks it), straight on the
    # driver, not as a statement through SQLAlchemy's execution (issue 12).
    dbapi_connection.dbapi_connection.begin()


def _ping_without_surprises(engine: AsyncEngine) -> None:
    """Pre-ping that reconnects whatever way the old connection failed.

    SQLAlchemy reconnects when the ping fails with an error it recognises as a
    disconnect. After a fast shutdown of PostgreSQL, asyncpg's ping can fail
    otherwise: its query dies with the connection and the rollback that follows
    raises ``InternalClientError`` ("another operation is in progress"), which
    SQLAlchemy passes on, so the request got a 500 instead of a new connection.
    Any failure of the ping means this connection is unusable: report it dead,
    so the pool opens a fresh one (and a server still down then gives a
    connection error, which :func:`is_unavailable` turns into a 503).

    The ping is one round trip (``SELECT 1``, simple protocol), not SQLAlchemy's three
    (BEGIN, the query, ROLLBACK: a transaction for PgBouncer's transaction
    mode, which these services do not sit behind): it runs before every
    transaction (issue 12)."""
    dialect = engine.sync_engine.dialect
    ping = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        try:
            driver = getattr(dbapi_connection, "driver_connection", None)
            if driver is not None and hasattr(dbapi_connection, "await_"):
                dbapi_connection.await_(driver.execute("SELECT 1"))  # asyncpg: a simple query
                return True
            return bool(ping(dbapi_connection))
        except Exception:  # the connection is unusable, however it says so
            return False

    dialect.do_ping = do_ping  # type: ignore[method-assign]


class TransactionConnection(AsyncConnection):
    """The connection a read or a write transaction yields: SQLAlchemy's
    ``AsyncConnection``, whose ``execute`` accepts a statement that completes
    without waiting. On SQLite most statements run at once on the event loop
    (konbini/sqlite_driver.py), with no switch out of SQLAlchemy's greenlet,
    which ``AsyncConnection.execute`` would take for a DB-API that is not
    asynchronous and refuse (``AwaitRequired``)."""

    async def execute(self, statement: Any, parameters: Any = None, *,  # type: ignore[override]
                      execution_options: Any = None) -> CursorResult[Any]:
        result = await greenlet_spawn(self._proxied.execute, statement, parameters,
                                      execution_options=execution_options)
        return await _ensure_sync_result(result, self.execute)

    async def exec_driver_sql(self, statement: str, parameters: Any = None,
                              execution_options: Any = None) -> CursorResult[Any]:
        result = await greenlet_spawn(self._proxied.exec_driver_sql, statement, parameters,
                                      execution_options)
        return await _ensure_sync_result(result, self.exec_driver_sql)


def _end(connection: Connection, commit: bool) -> None:
    """Commit (or roll back) the connection's transaction and return it to the pool."""
    try:
        transaction = connection.get_transaction()
        if transaction is not None and transaction.is_active:
            if commit:
                transaction.commit()
            else:
                transaction.rollback()
    finally:
        connection.close()


async def _shielded(ending: Coroutine[Any, Any, None], shield: bool) -> None:
    """The end of a transaction runs to completion even if the caller is
    cancelled meanwhile (as SQLAlchemy shields ``AsyncConnection.close``): a
    COMMIT cut halfway would return a connection in an unknown state."""
    if shield:
        await asyncio.shield(ending)
    else:
        await ending


class Database:
    """An engine and the two ways of using it: a read, or a write transaction
    (a unit of work: everything in it commits together or not at all)."""

    def __init__(self, engine: AsyncEngine, path: Path | None = None) -> None:
        self.engine = engine
        self.path = path  # the SQLite file, None for PostgreSQL
        self._writer_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                       asyncio.Lock] = weakref.WeakKeyDictionary()

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @classmethod
    def open(cls, url: str, *, pool_size: int | None = None) -> Database:
        """``pool_size``: connections kept open (default: SQLite
        :data:`SQLITE_POOL_SIZE`, PostgreSQL :data:`POSTGRES_POOL_SIZE`)."""
        url = normalise_url(url)
        parsed = make_url(url)
        if parsed.drivername.startswith("sqlite"):
            if not parsed.database or parsed.database == ":memory:":
                raise ValueError("SQLite needs a file (sqlite:///path/to/file.db)")
            path = Path(parsed.database)
            make_private(path)
            # konbini.sqlite_driver: aiosqlite with one hand-off to its thread per
            # statement at most, none for what cannot wait for a lock, and no
            # greenlet switch for what runs at once (issue 12).
            engine = create_async_engine(
                url, pool_size=pool_size or SQLITE_POOL_SIZE, max_overflow=5,
                pool_pre_ping=False, query_cache_size=QUERY_CACHE_SIZE,
                module=sqlite_driver.dbapi(),
                async_creator=partial(sqlite_driver.connect, path, timeout=BUSY_TIMEOUT_SECONDS,
                                      check_same_thread=False))
            event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
            engine.sync_engine.dialect.do_begin = _sqlite_do_begin  # type: ignore[method-assign]
            database = cls(engine, path)
        else:
            engine = create_async_engine(
                url, pool_size=pool_size or POSTGRES_POOL_SIZE, max_overflow=5,
                pool_pre_ping=True, query_cache_size=QUERY_CACHE_SIZE,
                pool_timeout=CONNECT_TIMEOUT_SECONDS, pool_recycle=1800,
                connect_args={"timeout": CONNECT_TIMEOUT_SECONDS,
                              "command_timeout": COMMAND_TIMEOUT_SECONDS,
                              # Statements asyncpg keeps prepared per connection
                              # (default 100): a service runs a few hundred distinct
                              # ones, and a miss is one more round trip (issue 12).
                              "prepared_statement_cache_size": PREPARED_STATEMENTS})
            _ping_without_surprises(engine)
            database = cls(engine)
        return database

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One transaction that writes: commit on success, roll back on any error."""
        async with self._transaction(write=True) as connection:
            yield connection

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._transaction(write=False) as connection:
            yield connection

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """Checkout and BEGIN in one greenlet switch, COMMIT (or ROLLBACK) and
        the return to the pool in one more: what ``engine.connect()`` and
        ``connection.begin()`` do in five, plus a clone of the connection for
        an execution option (issue 12)."""
        async with self._turn(write):
            sync = await greenlet_spawn(self._begin, write)
            connection = TransactionConnection(self.engine, sync)
            # A read on SQLite ends at once on the event loop: nothing to shield.
            shield = write or not self.is_sqlite
            try:
                yield connection
            except BaseException:
                await _shielded(greenlet_spawn(_end, sync, False), shield)
                raise
            await _shielded(greenlet_spawn(_end, sync, True), shield)

    async def run(self, function: Callable[..., T], *args: Any, write: bool = False) -> T:
        """``function(connection, *args)`` with a SQLAlchemy (sync) connection in
        a transaction of its own, committed after it returns, rolled back if
        it raises: checkout, BEGIN, the statements, COMMIT and the return to the
        pool in one greenlet switch (a one-statement read or write; issue 12)."""
        async with self._turn(write):
            return await greenlet_spawn(self._in_transaction, write, function, *args)

    @asynccontextmanager
    async def _turn(self, write: bool) -> AsyncIterator[None]:
        """SQLite: this process's writers take turns before asking for the write
        lock, so a writer waits for the one ahead of it here, woken the moment it
        commits, rather than in SQLite's busy handler, which sleeps 1, 2, 5, 10 …
        up to 100 ms between tries while the holder runs on this very event loop.
        An order of asking only: SQLite's lock still decides, across processes
        too (issue 12). A turn not come within the busy timeout is left to
        SQLite's own wait, never a hang. Nothing for a read, or on PostgreSQL
        (row locks, no single writer)."""
        queue = self._writer_queue() if write else None
        if queue is not None:
            try:
                await asyncio.wait_for(queue.acquire(), BUSY_TIMEOUT_SECONDS)
            except TimeoutError:
                queue = None
        try:
            yield
        finally:
            if queue is not None:
                queue.release()

    def _writer_queue(self) -> asyncio.Lock | None:
        """This event loop's queue of writers (SQLite), None on PostgreSQL."""
        if self.path is None:
            return None
        loop = asyncio.get_running_loop()
        queue = self._writer_queues.get(loop)
        if queue is None:
            queue = self._writer_queues[loop] = asyncio.Lock()
        return queue

    def _in_transaction(self, write: bool, function: Callable[..., T], *args: Any) -> T:
        connection = self._begin(write)
        try:
            result = function(connection, *args)
        except BaseException:
            _end(connection, False)
            raise
        _end(connection, True)
        return result

    def _begin(self, write: bool) -> Connection:
        connection = self.engine.sync_engine.connect()
        try:
            if write and self.path is not None:
                connection.connection.dbapi_connection.intend_write()  # type: ignore[union-attr]
            connection.begin()
        except BaseException:
            connection.close()
            raise
        return connection

    async def ping(self) -> bool:
        """Whether the database answers now (``/readyz``)."""
        try:
            async with self.engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")),
                                       CONNECT_TIMEOUT_SECONDS)
            return True
        except Exception:  # any failure is "not ready"; the reason is logged by the caller
            return False

    async def checkpoint(self) -> bool:
        """SQLite: copy the WAL into the database and truncate it, so the pages
        of deleted rows (a settled order's PDF) leave the WAL file too. False
        when a reader kept it from finishing; PostgreSQL: nothing to do."""
        if not self.is_sqlite:
            return True
        async with self.engine.connect() as connection:
            result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            row = result.fetchone()
        return row is not None and row[0] == 0

    async def vacuum(self) -> None:
        """SQLite: rewrite the file, so pages deleted rows spilled into are gone
        (outside any transaction, as VACUUM must be). PostgreSQL: nothing."""
        if not self.is_sqlite:
            return
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]

    async def rewrite(self, table: str) -> str:
        """PostgreSQL: leave no data file holding the deleted rows of ``table``,
        a table of transient personal data (PDFs), UNLOGGED so its rows never
        enter the WAL (c0006, m0006). A DELETE leaves the bytes in the heap and
        TOAST pages (dead tuples are not zeroed); a rewrite copies the live rows
        into new files and unlinks the old ones: TRUNCATE when no row is left,
        else ``VACUUM FULL`` (outside a transaction, as it must be). Both lock the
        table; a table busy for more than ``REWRITE_LOCK_TIMEOUT`` is left to the
        next round. Returns "truncated", "vacuumed", "busy" or "" (SQLite:
        nothing to do, secure_delete zeroes deleted rows in place)."""
        if self.is_sqlite:
            return ""
        import asyncpg  # PostgreSQL only

        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.execute(f"SET lock_timeout = '{REWRITE_LOCK_TIMEOUT}'")
            try:
                async with driver.transaction():
                    await driver.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
                    empty = await driver.fetchval(f'SELECT NOT EXISTS (SELECT FROM "{table}")')
                    if empty:
                        await driver.execute(f'TRUNCATE "{table}"')
                if empty:
                    return "truncated"
                await driver.execute(f'VACUUM FULL "{table}"')
                return "vacuumed"
            except asyncpg.LockNotAvailableError:
                return "busy"
            finally:
                await driver.execute("RESET lock_timeout")

    async def retire_wal(self) -> bool:
        """PostgreSQL, after an upgrade: end the current WAL segment and
        checkpoint, so the segments written before (which hold the PDFs written
        before c0006/m0006 made their tables unlogged) are no longer needed; the
        server then unlinks them (``wal_recycle = off``, konbini/postgres.py;
        with recycling on it renames them for reuse, contents intact). Needs a
        superuser (or pg_checkpoint and EXECUTE on pg_switch_wal): False when
        refused. SQLite: the TRUNCATE checkpoint."""
        if self.is_sqlite:
            return await self.checkpoint()
        import asyncpg  # PostgreSQL only

        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            try:
                await driver.execute("SELECT pg_switch_wal()")
                await driver.execute("CHECKPOINT")
            except asyncpg.InsufficientPrivilegeError:  # the operator may withhold it
                return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached now (connection
    refused or lost, pool exhausted, timed out): the caller may try again."""
    if isinstance(exc, PoolTimeout | asyncio.TimeoutError | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, InterfaceError):
            return True
        if isinstance(exc, OperationalError):
            original = getattr(exc, "orig", None)
            # SQLite's "database is locked" after the busy timeout is also "try again".
            if isinstance(original, sqlite3.OperationalError):
                return "locked" in str(original) or "busy" in str(original)
            return True
        cause = exc.orig.__cause__ if exc.orig is not None else None
        name = type(cause).__name__ if cause is not None else ""
        return name in ("CannotConnectNowError", "ConnectionDoesNotExistError",
                        "InterfaceError", "ConnectionFailureError", "AdminShutdownError")
    # asyncpg's own errors when a connection dies under a statement (not wrapped
    # by SQLAlchemy: they are not DB-API errors).
    for error in (exc, exc.__cause__, exc.__context__):
        if error is not None and type(error).__module__.startswith("asyncpg") and (
                type(error).__name__ in _ASYNCPG_UNAVAILABLE):
            return True
    return isinstance(exc, OSError)


_ASYNCPG_UNAVAILABLE = frozenset({
    "InternalClientError", "InterfaceError", "ConnectionDoesNotExistError",
    "CannotConnectNowError", "AdminShutdownError", "ConnectionFailureError",
    "ClientCannotConnectError", "TooManyConnectionsError"})


class InvalidText(ValueError):
    """Text the database cannot hold: PostgreSQL's text has no NUL character."""


def is_invalid_text(exc: BaseException) -> bool:
    """PostgreSQL refused a parameter with a NUL character (SQLSTATE 22021)."""
    if isinstance(exc, InvalidText):
        return True
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    original = exc.orig.__cause__ or exc.orig
    return getattr(original, "sqlstate", None) == "22021" or (
        type(original).__name__ == "CharacterNotInRepertoireError")


def insert(connection: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` and
    ``on_conflict_do_update`` on both engines."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class Repository:
    """Base of the storage classes: each method runs in the unit of work it was
    given (``unit_of_work()``), else in a transaction of its own."""

    def __init__(self, database: Database, connection: AsyncConnection | None = None) -> None:
        self.database = database
        self._connection = connection

    def _bound(self, connection: AsyncConnection) -> Any:
        return type(self)(self.database, connection)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Any]:
        """The same interface, every call in one transaction that commits at the
        end of the block (or rolls back on an exception)."""
        if self._connection is not None:
            yield self
            return
        async with self.database.write() as connection:
            yield self._bound(connection)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._connection is not None:
            yield self._connection
        else:
            async with self.database.write() as connection:
                yield connection

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        if self._connection is not None:
            yield self._connection
        else:
            async with self.database.read() as connection:
                yield connection

    async def _one(self, statement: Executable,
                   params: Mapping[str, Any] | None = None) -> RowMapping | None:
        rows = await self._all(statement, params)
        return rows[0] if rows else None

    async def _all(self, statement: Executable,
                   params: Mapping[str, Any] | None = None) -> list[RowMapping]:
        try:
            if self._connection is None:
                return await self.database.run(_mappings, statement, params)
            return await greenlet_spawn(_mappings, self._connection.sync_connection,
                                        statement, params)
        except DBAPIError as exc:
            # A key with a NUL character (malformed input) is in no PostgreSQL
            # table: nothing found, as on SQLite. In a unit of work the
            # transaction is spoilt: the caller's error stands.
            if self._connection is None and is_invalid_text(exc):
                return []
            raise

    async def _scalar(self, statement: Executable,
                      params: Mapping[str, Any] | None = None) -> Any:
        rows = await self._all(statement, params)
        return next(iter(rows[0].values())) if rows else None

    @asynccontextmanager
    async def writing(self, *, durable: bool = True) -> AsyncIterator[SqlConnection]:
        """A unit of work for portable textual SQL (domain modules with tables
        of their own): committed on exit, rolled back on any error. ``durable``
        is accepted for the callers that mark bookkeeping a power cut may lose;
        SQLite here runs WAL with ``synchronous = NORMAL`` (a commit does not
        wait for the disk anyway) and PostgreSQL's commits are the server's."""
        del durable
        async with self._write() as connection:
            yield SqlConnection(connection)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[SqlRow]:
        try:
            if self._connection is None:
                cursor = await self.database.run(_text_cursor, sql, tuple(params))
            else:
                cursor = await SqlConnection(self._connection).execute(sql, params)
        except DBAPIError as exc:
            if self._connection is None and is_invalid_text(exc):
                return []  # a NUL character matches nothing (see _all)
            raise
        return await cursor.fetchall()

    async def _run(self, statement: Executable,
                   params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
                   ) -> CursorResult[Any]:
        """One statement that writes, in the unit of work or its own transaction."""
        if self._connection is None:
            return await self.database.run(_execute, statement, params, write=True)
        return await self._connection.execute(statement, params)


def _mappings(connection: Connection, statement: Executable,
              params: Mapping[str, Any] | None) -> list[RowMapping]:
    return connection.execute(statement, params).mappings().all()  # type: ignore[return-value]


def _execute(connection: Connection, statement: Executable, params: Any) -> CursorResult[Any]:
    return connection.execute(statement, params)


# -- textual SQL for domain modules that keep small tables of their own ----------
_QMARK = re.compile(r"\?")


def qmark_to_named(sql: str, params: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``?`` placeholders (the form the domain modules write) to named binds,
    so the same statement runs on SQLite and PostgreSQL."""
    names = iter(range(len(params)))
    named = _QMARK.sub(lambda _m: f":p{next(names)}", sql)
    return named, {f"p{i}": value for i, value in enumerate(params)}


class SqlRow(Mapping[str, Any]):
    """A row by column name or by position."""

    def __init__(self, row: Any) -> None:
        self._row = row
        self._mapping = row._mapping

    def __getitem__(self, key: str | int) -> Any:  # type: ignore[override]
        return self._row[key] if isinstance(key, int) else self._mapping[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping.keys())

    def __len__(self) -> int:
        return len(self._mapping)


class SqlCursor:
    def __init__(self, result: CursorResult[Any]) -> None:
        self.rowcount = result.rowcount
        self._rows = [SqlRow(r) for r in result.all()] if result.returns_rows else []
        self.lastrowid = getattr(result, "lastrowid", None)

    async def fetchone(self) -> SqlRow | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[SqlRow]:
        return list(self._rows)


class _Pending:
    """``await db.execute(…)`` and ``async with db.execute(…) as cur`` both work."""

    def __init__(self, coroutine: Any) -> None:
        self._coroutine = coroutine

    def __await__(self) -> Any:
        return self._coroutine.__await__()

    async def __aenter__(self) -> SqlCursor:
        return await self._coroutine

    async def __aexit__(self, *_exc: object) -> None:
        return None


class SqlConnection:
    """Portable textual SQL (``?`` placeholders) in a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Pending:
        return _Pending(self._execute(sql, params))

    async def _execute(self, sql: str, params: Sequence[Any]) -> SqlCursor:
        return await greenlet_spawn(_text_cursor, self.connection.sync_connection, sql,
                                    tuple(params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        await self.connection.execute(
            _text_clause(sql, len(rows[0])), [_binds(tuple(r)) for r in rows])


@lru_cache(maxsize=512)
def _text_clause(sql: str, count: int) -> TextClause:
    """The statement of ``sql`` with ``count`` ``?`` placeholders, made once
    (immutable: parsing its binds on every call cost more than running it)."""
    named, _ = qmark_to_named(sql, (None,) * count)
    return text(named)


def _binds(params: tuple[Any, ...]) -> dict[str, Any]:
    return {f"p{i}": value for i, value in enumerate(params)}


def _text_cursor(connection: Connection, sql: str, params: tuple[Any, ...]) -> SqlCursor:
    return SqlCursor(connection.execute(_text_clause(sql, len(params)), _binds(params)))


def opening_failure(exc: BaseException) -> str | None:
    """Why the database could not be opened at all (unreachable, no such
    database, login refused), in one line for the command line; None when
    ``exc`` is something else (a bug, which keeps its traceback)."""
    seen: BaseException | None = exc
    while seen is not None:
        name = type(seen).__name__
        if name in ("InvalidCatalogNameError", "InvalidPasswordError",
                    "InvalidAuthorizationSpecificationError"):
            return f"{name.removesuffix('Error')}: {seen}"
        if isinstance(seen, sqlite3.OperationalError) and "unable to open" in str(seen):
            return f"SQLite: {seen}"
        seen = seen.__cause__ or seen.__context__
    if is_unavailable(exc):
        return f"the database cannot be reached ({type(exc).__name__}: {exc})".splitlines()[0]
    return None


@contextmanager
def exit_if_database_cannot_open(url: str | None) -> Iterator[None]:
    """A command that opens the database ends with one clear line and exit
    status 2 when it cannot (instead of a driver's traceback)."""
    try:
        yield
    except Exception as exc:
        reason = opening_failure(exc)
        if reason is None:
            raise
        where = make_url(url).render_as_string(hide_password=True) if url else "the database"
        print(f"error: cannot open {where}: {reason}", file=sys.stderr)
        raise SystemExit(2) from None
