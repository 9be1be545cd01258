"""``python -m center migrate``: make or upgrade the center's state, once,
before any worker starts (workers of ``serve --workers N`` only open).

Upgrades the database to the newest Alembic revision (an existing demo
``var/``, versioned or not, keeps its data: center/storage/migrations),
makes the first QR signing key and the operator's console token,
clears the test environment's settings of a previous run and records this
run's ``KONBINI_CLOCK``, so that every worker's clock stands at the same
instant."""

from __future__ import annotations

from konbini.clock import Clock

from . import dev_state
from .config import CenterConfig
from .console_auth import load_or_create_token
from .qr_keys import QrKeyring
from .storage import CenterStore, migrate_database


async def migrate(config: CenterConfig, clock: Clock) -> tuple[str | None, str | None]:
    """(revision before, revision after)."""
    revisions = await migrate_database(config.database_url_resolved)
    store = await CenterStore.open(config.database_url_resolved)
    try:
        await store.shared.clear_dev_settings()
        if clock.offset_seconds:
            await store.shared.set_dev_setting(
                dev_state.CLOCK, {"offset_seconds": clock.offset_seconds})
        await store.scrub_deleted_pdfs()  # what an older center left in its WAL
        if revisions[0] != revisions[1]:  # PostgreSQL: what older revisions left in the WAL
            await store.database.retire_wal()
    finally:
        await store.close()
    QrKeyring.load_or_create(config.qr_key_dir, clock.now())
    load_or_create_token(config.operator_token_file)  # not raced by the workers
    return revisions
