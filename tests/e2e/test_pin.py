"""The card checks the PIN itself: three wrong in a row lock it, and a
locked card never reaches the center."""

from __future__ import annotations

import pytest

from kiosk_sim.card import PinIncorrect
from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import System
from tests.support import table_count


async def test_wrong_pin_then_right_pin(kiosk: KioskClient, fresh_card, tmp_path) -> None:
    card = await fresh_card("kasumi-hanako")
    with pytest.raises(KioskProblem) as wrong:
        await kiosk.issue(card, "9999", "juminhyo", out_dir=tmp_path)
    assert wrong.value.problem["code"] == "pin-incorrect"
    assert wrong.value.problem["remaining"] == 2
    result = await kiosk.issue(card, "1234", "juminhyo", out_dir=tmp_path)
    assert result.settlement["charged_yen"] == 200
    assert card.failures == 0


async def test_three_wrong_pins_lock_the_card(system: System, kiosk: KioskClient,
                                              fresh_card) -> None:
    card = await fresh_card("kasumi-hanako")
    remaining = []
    for _ in range(2):
        with pytest.raises(KioskProblem) as wrong:
            await kiosk.issue(card, "0000", "juminhyo")
        remaining.append(wrong.value.problem["remaining"])
    assert remaining == [2, 1]
    with pytest.raises(KioskProblem) as third:
        await kiosk.issue(card, "0000", "juminhyo")
    assert third.value.problem["code"] == "pin-locked"

    sessions_before = table_count(system.center_db, "sessions")
    with pytest.raises(KioskProblem) as locked:
        await kiosk.issue(card, "1234", "juminhyo")
    assert locked.value.problem["code"] == "pin-locked"
    assert table_count(system.center_db, "sessions") == sessions_before


async def test_pin_counter_persists_in_the_wallet(system: System, fresh_card,
                                                  tmp_path) -> None:
    wallet = Wallet(tmp_path / "wallet")
    wallet.put("test-card", await fresh_card("kasumi-hanako"))
    with pytest.raises(PinIncorrect):
        wallet.get("test-card").verify_pin("0000")
    assert Wallet(tmp_path / "wallet").get("test-card").failures == 1


async def test_wrong_pin_never_reaches_the_center(system: System, kiosk: KioskClient,
                                                  fresh_card) -> None:
    card = await fresh_card("kasumi-hanako")
    sessions_before = table_count(system.center_db, "sessions")
    with pytest.raises(KioskProblem):
        await kiosk.issue(card, "4321", "juminhyo")
    assert table_count(system.center_db, "sessions") == sessions_before
