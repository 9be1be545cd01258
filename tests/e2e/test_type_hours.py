"""Hours per type (千代田区 offers family registers on weekdays 08:30–17:00,
weekdays excluding national holidays) on the wire (issue 3)."""

from __future__ import annotations

import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet


async def _items(kiosk: KioskClient, wallet: Wallet) -> tuple[str, dict[str, dict]]:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    menu = await kiosk.menu(session["session_id"])
    return session["session_id"], {i["type"]: i for i in menu["items"]}


# Every instant is after the test cards were issued (2026-11-24 10:00), as a card
# is not valid before its issue.
@pytest.mark.parametrize(("now", "opens_at"), [
    ("2026-11-24T10:00:00+09:00", None),  # Tuesday
    ("2026-11-25T08:29:00+09:00", "2026-11-25T08:30:00+09:00"),
    ("2026-11-24T17:00:00+09:00", "2026-11-25T08:30:00+09:00"),
    ("2026-11-28T10:00:00+09:00", "2026-11-30T08:30:00+09:00"),  # Saturday
    ("2027-02-11T10:00:00+09:00", "2027-02-12T08:30:00+09:00"),  # 建国記念の日 (Thursday)
    ("2027-01-11T12:00:00+09:00", "2027-01-12T08:30:00+09:00"),  # 成人の日 (Monday)
])
async def test_family_registers_keep_weekday_hours(center_clock, kiosk: KioskClient,
                                                   wallet: Wallet, now: str,
                                                   opens_at: str | None) -> None:
    await center_clock(now)
    session_id, items = await _items(kiosk, wallet)
    assert items["juminhyo"]["available"] is True  # the center's full hours
    for cert_type in ("koseki_zenbu", "koseki_kojin", "koseki_fuhyo"):
        item = items[cert_type]
        if opens_at is None:
            assert item["available"] is True
        else:
            assert item["available"] is False
            assert item["reason"] == "outside-hours"
            assert item["opens_at"] == opens_at
    if opens_at is not None:
        with pytest.raises(KioskProblem) as refused:
            await kiosk.order(session_id, "koseki_zenbu", 1, {}, 450)
        assert refused.value.problem["code"] == "type-unavailable"
        assert refused.value.problem["reason"] == "outside-hours"
        assert refused.value.problem["opens_at"] == opens_at
    await kiosk.end_session(session_id)
