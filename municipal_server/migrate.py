"""``python -m municipal_server migrate --code C``: make or upgrade one
municipality's register, once, before its workers start (workers of
``serve --workers N`` only open it).

Upgrades the register's database to the newest Alembic revision
(municipal_server/storage/migrations: an existing demo register, versioned
or not, keeps its data; no ALTER TABLE races when processes open it),
seeds the personas into an empty register, keeps the date-bound personas
true, makes the clerk's token, and strips the PDFs older versions kept in
the 交付履歴 (numbers and digests stay)."""

from __future__ import annotations

import json
from pathlib import Path

from konbini.clock import Clock

from .admin_api import load_or_create_token
from .issuance_claims import without_pdfs
from .register import Register, migrate_database
from .seeding import refresh_personas, seed_personas


async def migrate(url: str, var_dir: Path, code: str, prefecture_and_name: str,
                  clock: Clock, *, personas: bool = True, synthetic: int = 0,
                  ) -> tuple[str | None, str | None]:
    """(revision before, revision after) of the register at ``url``."""
    revisions = await migrate_database(url)
    register = await Register.open(url)
    try:
        if personas:
            if await register.resident_count() == 0:
                await seed_personas(register, code, clock.now().date(), synthetic=synthetic,
                                    address_prefix=prefecture_and_name)
            await refresh_personas(register, code, clock.now().date())
        await strip_history_pdfs(register)
        if revisions[0] != revisions[1]:  # PostgreSQL: what older revisions left in the WAL
            await register.database.retire_wal()
    finally:
        await register.close()
    load_or_create_token(var_dir)
    return revisions


async def strip_history_pdfs(register: Register) -> int:
    """Issuance history rows written with their PDFs lose them (secure_delete
    zeroes the old content; the WAL is truncated after)."""
    rows = await register.fetch("SELECT request_id, response FROM issuance_history "
                                "WHERE response LIKE '%\"pdf\"%'")
    async with register.writing() as db:  # the migration is the register's own step
        for row in rows:
            await db.execute("UPDATE issuance_history SET response = ? WHERE request_id = ?",
                             (json.dumps(without_pdfs(json.loads(row["response"]))),
                              row["request_id"]))
    if rows:
        await register.database.vacuum()  # pages the old rows spilled into are rewritten
    await register.database.checkpoint()
    return len(rows)
