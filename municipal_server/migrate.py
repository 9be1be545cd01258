"""``python -m municipal_server migrate --code C``: make or upgrade one
municipality's register, once, before its workers start (workers of
``serve --workers N`` only open it).

Creates missing tables and adds columns to an existing register (the
``ALTER TABLE`` that used to race when every process opened the file),
seeds the personas into an empty register, keeps the date-bound personas
true, makes the clerk's token, and strips the PDFs older versions kept in
the 交付履歴 (numbers and digests stay)."""

from __future__ import annotations

import json
from pathlib import Path

from konbini.clock import Clock
from konbini.sqlite import truncate_wal

from .admin_api import load_or_create_token
from .issuance_claims import without_pdfs
from .register import Register
from .seeding import refresh_personas, seed_personas


async def migrate(register_path: Path, var_dir: Path, code: str, prefecture_and_name: str,
                  clock: Clock, *, personas: bool = True, synthetic: int = 0) -> None:
    register = await Register.open(register_path, create=True)
    try:
        if personas:
            if await register.resident_count() == 0:
                await seed_personas(register, code, clock.now().date(), synthetic=synthetic,
                                    address_prefix=prefecture_and_name)
            await refresh_personas(register, code, clock.now().date())
        await strip_history_pdfs(register)
    finally:
        await register.close()
    load_or_create_token(var_dir)


async def strip_history_pdfs(register: Register) -> int:
    """Issuance history rows written with their PDFs lose them (secure_delete
    zeroes the old content; the WAL is truncated after)."""
    db = register._db  # the migration is the register's own step
    async with db.execute("SELECT request_id, response FROM issuance_history "
                          "WHERE response LIKE '%\"pdf\"%'") as cur:
        rows = list(await cur.fetchall())
    for row in rows:
        await db.execute("UPDATE issuance_history SET response = ? WHERE request_id = ?",
                         (json.dumps(without_pdfs(json.loads(row["response"]))),
                          row["request_id"]))
    await db.commit()
    if rows:
        await db.execute("VACUUM")  # pages the old rows spilled into are rewritten
    await truncate_wal(db)
    return len(rows)
