"""What a kiosk request reads in one transaction (issue 12) is what the checks
read one by one before: the maintenance windows of the center and of several
municipalities in one statement, a registration with its fees in force, and
the refusals in the same order, from the values read."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from center.availability import read_availability
from center.calendar import MaintenanceWindow
from center.model.settlement import JST, FeePeriod
from center.municipalities import Registration, registration_from_wire
from center.storage import CenterStore
from konbini.problems import Problem

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
CHIYODA, YOKOHAMA, NOT_PARTICIPATING = "131016", "141003", "452017"


def _registration(code: str, name: str) -> Registration:
    return registration_from_wire(code, {
        "name": name, "prefecture": "東京都", "endpoint": f"https://{code}.example/",
        "services": [{"type": "juminhyo", "fee_yen": 300}]})


async def _store(tmp_path: Path) -> CenterStore:
    store = await CenterStore.open(tmp_path / "center.db", migrate=True)
    for code, name in ((CHIYODA, "千代田区"), (YOKOHAMA, "横浜市")):
        registration = _registration(code, name)
        await store.upsert_municipality(registration, [
            {"type": "juminhyo", "fee_yen": 300}], "up", NOW)
    hour = timedelta(hours=1)
    await store.add_maintenance(None, MaintenanceWindow(NOW + hour, NOW + 2 * hour, "center"))
    await store.add_maintenance(CHIYODA, MaintenanceWindow(NOW - hour, NOW + hour, "now"))
    await store.add_maintenance(CHIYODA, MaintenanceWindow(NOW - 3 * hour, NOW - hour, "over"))
    await store.add_maintenance(YOKOHAMA, MaintenanceWindow(NOW + hour, NOW + 3 * hour, "later"))
    await store.ledger.add_fee_period(FeePeriod(YOKOHAMA, "juminhyo", 100, date(2026, 11, 1),
                                                date(2026, 11, 30)), NOW)
    return store


async def test_windows_of_several_owners_in_one_statement_are_those_read_one_by_one(
        tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        together = await store.maintenance_of([None, CHIYODA, YOKOHAMA, NOT_PARTICIPATING],
                                              NOW)
        for owner in (None, CHIYODA, YOKOHAMA, NOT_PARTICIPATING):
            assert together[owner] == await store.maintenance(owner, NOW)
        assert [w.reason for w in together[CHIYODA]] == ["now"]  # the one over is not
        assert await store.maintenance_of([], NOW) == {}
    finally:
        await store.close()


async def test_one_read_gives_the_refusals_the_checks_gave(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        async with store.reading() as reading:
            seen = await read_availability(reading, NOW, [CHIYODA, YOKOHAMA, NOT_PARTICIPATING],
                                           center=True)
        seen.ensure_center_open()  # its window starts in an hour
        with pytest.raises(Problem) as refused:
            seen.participating(NOT_PARTICIPATING)
        assert refused.value.code == "municipality-not-participating"
        with pytest.raises(Problem) as refused:
            seen.ensure_municipality_open(CHIYODA)
        assert refused.value.code == "municipality-unavailable"
        assert refused.value.extra["opens_at"] == "2026-11-24T11:00:00+09:00"
        seen.ensure_municipality_open(YOKOHAMA)
        assert seen.participating(YOKOHAMA).name == "横浜市"
        # The campaign fee in force, the registered fee beside it.
        assert seen.with_fees_in_force(YOKOHAMA).offer("juminhyo").fee_yen == 100  # type: ignore[union-attr]
        assert seen.participating(YOKOHAMA).offer("juminhyo").fee_yen == 300  # type: ignore[union-attr]
        assert seen.with_fees_in_force(CHIYODA).offer("juminhyo").fee_yen == 300  # type: ignore[union-attr]
        # The center's window, read a moment later by the next request, counts.
        later = await read_availability(store, NOW + timedelta(minutes=90), [CHIYODA],
                                        center=True)
        with pytest.raises(Problem) as refused:
            later.ensure_center_open()
        assert refused.value.code == "service-closed"
    finally:
        await store.close()
