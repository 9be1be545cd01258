"""The PIN reset without the counter (issue 15): a holder whose PIN is locked
and who knows the signature PIN reserves the reset on the phone and finishes
it at a Seven-Eleven kiosk within 24 hours. The card enforces all of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk_sim.card import PinLocked, PinResetRefused, VirtualCard

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def locked_card(signature_pin: str | None = "KONBINI1") -> VirtualCard:
    card = VirtualCard.create(key_size=1024)
    if signature_pin:
        card.set_signature_pin(signature_pin)
    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017 (incorrect, then locked)
            card.verify_pin("0000")
    assert card.locked
    return card


def test_reserve_then_finish_within_24_hours_sets_the_new_pin() -> None:
    card = locked_card()
    assert card.pin_reset_reservation(NOW) == "none"
    until = card.reserve_pin_reset("KONBINI1", NOW)
    assert until == NOW + timedelta(hours=24)
    assert card.pin_reset_reservation(NOW + timedelta(hours=23)) == "reserved"
    card.finish_pin_reset("5678", NOW + timedelta(hours=23, minutes=59))
    assert not card.locked
    card.verify_pin("5678")
    with pytest.raises(Exception):  # noqa: B017 the old PIN is gone
        card.verify_pin("1234")
    assert card.pin_reset_reservation(NOW) == "none"  # used once


def test_after_24_hours_the_reservation_has_lapsed() -> None:
    card = locked_card()
    card.reserve_pin_reset("KONBINI1", NOW)
    with pytest.raises(PinResetRefused) as refused:
        card.finish_pin_reset("5678", NOW + timedelta(hours=24))
    assert refused.value.reason == "pin-reset-expired"
    with pytest.raises(PinLocked):
        card.verify_pin("5678")


def test_no_reservation_no_reset_and_a_wrong_signature_pin_counts() -> None:
    card = locked_card()
    with pytest.raises(PinResetRefused) as refused:
        card.finish_pin_reset("5678", NOW)
    assert refused.value.reason == "pin-reset-not-reserved"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(PinResetRefused) as refused:
            card.reserve_pin_reset("WRONG123", NOW)
        assert refused.value.reason == "signature-pin-incorrect"
        assert refused.value.extra["remaining"] == left
    with pytest.raises(PinResetRefused) as refused:
        card.reserve_pin_reset("KONBINI1", NOW)  # now locked too: the counter only
    assert refused.value.reason == "signature-pin-locked"
    with pytest.raises(PinResetRefused) as refused:
        locked_card(None).reserve_pin_reset("KONBINI1", NOW)
    assert refused.value.reason == "no-signature-certificate"


def test_the_reservation_survives_the_chips_memory() -> None:
    card = locked_card()
    card.reserve_pin_reset("KONBINI1", NOW)
    again = VirtualCard.from_record(card.to_record())
    assert again.pin_reset_reservation(NOW) == "reserved"
    again.finish_pin_reset("4321", NOW)
    again.verify_pin("4321")
