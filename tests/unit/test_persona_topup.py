"""A register seeded by an older release gets the personas added since, once,
when the server starts (refresh_personas); a current one is left as it is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from municipal_server.personas import CHIYODA, resident_code
from municipal_server.register import Register
from municipal_server.seeding import add_missing_personas, refresh_personas, seed_personas

TODAY = date(2026, 11, 24)


async def test_missing_personas_join_an_older_register_once(tmp_path: Path) -> None:
    register = await Register.open(tmp_path / "register.db", migrate=True)
    try:
        seeded = await seed_personas(register, CHIYODA, TODAY)
        assert await register.resident_count() == seeded
        assert await add_missing_personas(register, CHIYODA, TODAY) == 0

        # As if seeded before the 佐々木 persona and his 戸籍 existed.
        code = resident_code(CHIYODA, "koseki-pending")
        for sql in ("DELETE FROM koseki_notifications", "DELETE FROM koseki_persons "
                    "WHERE register_id = 'k-sasaki'",
                    "DELETE FROM family_registers WHERE register_id = 'k-sasaki'",
                    f"DELETE FROM residents WHERE resident_code = '{code}'",
                    "DELETE FROM households WHERE household_id = 'h-koseki-pending'"):
            async with register.database.write() as connection:
                await connection.exec_driver_sql(sql)
        assert await register.resident(code) is None

        await refresh_personas(register, CHIYODA, TODAY)
        assert (await register.resident(code)).name == "佐々木 亮"  # type: ignore[union-attr]
        assert await register.notification_pending("k-sasaki")
        assert await register.resident_count() == seeded
        await refresh_personas(register, CHIYODA, TODAY)
        assert await register.resident_count() == seeded
    finally:
        await register.close()
