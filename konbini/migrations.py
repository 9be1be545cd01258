"""Running a service's Alembic migrations, once, as a step of its own.

``python -m center migrate`` and ``python -m municipal_server migrate`` call
:func:`upgrade`; workers never change the schema. The revisions are written
so that the first of them (the baseline: the schema as the code before
Alembic created it with ``CREATE TABLE IF NOT EXISTS`` and ALTER TABLE on
open) brings an existing un-versioned demo database to the baseline without
touching its rows, and a new one from nothing; Alembic then records the
revision in ``alembic_version`` and later revisions apply as usual."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, inspect, text
from sqlalchemy.engine import Connection

from .db import Database

log = logging.getLogger(__name__)


def _config(script_location: Path, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, script_location: Path, target: str) -> tuple[str | None,
                                                                                   str | None]:
    if connection.dialect.name == "postgresql":
        # Two `migrate` runs at once (two machines starting) take turns.
        connection.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
    before = MigrationContext.configure(connection).get_current_revision()
    if before is None and inspect(connection).get_table_names():
        log.info("un-versioned database with tables: bringing it to the baseline in place")
    command.upgrade(_config(script_location, connection), target)
    return before, MigrationContext.configure(connection).get_current_revision()


async def upgrade(url: str, script_location: Path, target: str = "head",
                  ) -> tuple[str | None, str | None]:
    """Upgrade the database at ``url`` to ``target`` in one transaction;
    (revision before, revision after)."""
    database = Database.open(url, pool_size=1)
    try:
        async with database.write() as connection:
            return await connection.run_sync(_upgrade, script_location, target)
    finally:
        await database.close()


async def current_revision(url: str) -> str | None:
    database = Database.open(url, pool_size=1)
    try:
        async with database.read() as connection:
            return await connection.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await database.close()


def head_revision(script_location: Path) -> str | None:
    return ScriptDirectory.from_config(_config(script_location)).get_current_head()


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``: migrate on the
    connection :func:`upgrade` passes (no URL, no sync driver needed)."""
    from alembic import context

    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=False)
    with context.begin_transaction():
        context.run_migrations()


def ensure_schema(op: Any, metadata: MetaData) -> None:
    """Create the tables (with their indexes) of ``metadata`` that are missing,
    and add the columns missing from those that exist: what an un-versioned
    database made by an earlier version of the code may lack. Idempotent."""
    connection = op.get_bind()
    metadata.create_all(connection, checkfirst=True)
    inspector = inspect(connection)
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                default = column.server_default
                op.add_column(table.name, Column(
                    column.name, column.type,
                    nullable=True if default is None else column.nullable,
                    server_default=None if default is None else default.arg))  # type: ignore[attr-defined]


def set_transient(op: Any, table: str, columns: tuple[str, ...], transient: bool = True,
                  ) -> None:
    """PostgreSQL: make ``table`` UNLOGGED (its rows never enter the WAL, whose
    recycled segments are renamed, not wiped) and store ``columns`` out of line
    without compression (PDFs are compressed already, and the bytes of a deleted
    row then sit in the TOAST table's pages, which the upkeep's rewrite drops:
    konbini/db.py ``Database.rewrite``). ``transient=False`` undoes it. The
    price: PostgreSQL empties an unlogged table after a crash and does not
    replicate it. SQLite: nothing (secure_delete zeroes deleted rows)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f'ALTER TABLE "{table}" SET {"UNLOGGED" if transient else "LOGGED"}')
    for column in columns:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" '
                   f'SET STORAGE {"EXTERNAL" if transient else "EXTENDED"}')
