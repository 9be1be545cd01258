"""Opening a service's embedded SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite


async def open_database(path: Path, schema: str) -> aiosqlite.Connection:
    """Open (creating if need be) the database at ``path`` with rows by name,
    and apply ``schema`` (idempotent ``CREATE … IF NOT EXISTS`` statements)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path)
    db.row_factory = sqlite3.Row
    await db.executescript(schema)
    await db.commit()
    return db
