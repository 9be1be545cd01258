"""Rules of issue 15, as pure functions (no server): a household in the middle
of a move, a 戸籍 with a 届出 not yet entered, a use registration waiting for
the clerk, and names or addresses longer than a certificate prints."""

from __future__ import annotations

from datetime import date

import pytest

from konbini.wire import CertificateType
from municipal_server.eligibility import (
    ADDRESS_MAX_CHARS,
    NAME_MAX_CHARS,
    HolderFacts,
    resident_refusal,
    type_refusal,
)
from municipal_server.register import KosekiEntry, Resident

DAY = date(2026, 11, 24)
ADULT = Resident("11111111111", "m-1", "h-1", "大橋 健", "おおはし けん", date(1977, 9, 9), "男",
                 "世帯主", "resident", date(2015, 4, 1), "転入")
ENTRY = KosekiEntry("kp-1", "k-1", 1, "佐々木 亮", "亮", date(1990, 10, 1), None, None, "長男",
                    None, (), resident_code="11111111111")


def test_a_household_with_a_member_moving_out_gets_no_juminhyo() -> None:
    facts = HolderFacts(household_moving_out=True)
    refusal = type_refusal(CertificateType.JUMINHYO.value, facts)
    assert refusal is not None and refusal.reason == "household-member-moving-out"
    assert "転出予定" in refusal.message
    # Only the copy of the household's record waits; the holder's own items do not.
    assert type_refusal(CertificateType.JUMINHYO_KISAI.value, facts) is None
    assert type_refusal(CertificateType.JUMINHYO.value, HolderFacts()) is None


@pytest.mark.parametrize("kind", [CertificateType.KOSEKI_ZENBU, CertificateType.KOSEKI_KOJIN])
def test_a_family_register_with_a_pending_notification_is_not_certified(
        kind: CertificateType) -> None:
    refusal = type_refusal(kind.value, HolderFacts(koseki=ENTRY, koseki_pending=True))
    assert refusal is not None and refusal.reason == "notification-pending"
    assert type_refusal(kind.value, HolderFacts(koseki=ENTRY)) is None
    # The 附票 (addresses) is not what the 届出 changes.
    assert type_refusal(CertificateType.KOSEKI_FUHYO.value,
                        HolderFacts(koseki=ENTRY, koseki_pending=True)) is None


def test_a_use_registration_is_pending_until_approved() -> None:
    pending = HolderFacts(koseki=ENTRY, needs_use_registration=True,
                          use_registration_pending=True)
    for kind in (CertificateType.KOSEKI_ZENBU, CertificateType.KOSEKI_KOJIN,
                 CertificateType.KOSEKI_FUHYO):
        refusal = type_refusal(kind.value, pending)
        assert refusal is not None and refusal.reason == "use-registration-pending"
        assert "登録手続き中" in refusal.message
    never = HolderFacts(koseki=ENTRY, needs_use_registration=True)
    assert type_refusal("koseki_zenbu", never).reason == "use-registration-required"  # type: ignore[union-attr]
    assert type_refusal("koseki_zenbu", HolderFacts(koseki=ENTRY)) is None


def test_a_name_or_address_longer_than_printed_is_refused_with_its_limit() -> None:
    fits = "東" * ADDRESS_MAX_CHARS
    assert resident_refusal(ADULT, fits, DAY) is None
    refusal = resident_refusal(ADULT, fits + "区", DAY)
    assert refusal is not None and refusal.reason == "too-long-to-print"
    assert f"住所が証明書に印字できる文字数({ADDRESS_MAX_CHARS}文字)を超える" in refusal.message
    # Spaces do not count; the name has its own limit.
    assert resident_refusal(ADULT, "東 " * ADDRESS_MAX_CHARS, DAY) is None
    long_name = Resident(**{**ADULT.__dict__, "name": "寿" * (NAME_MAX_CHARS + 1)})
    refusal = resident_refusal(long_name, "東京都千代田区", DAY)
    assert refusal is not None and refusal.reason == "too-long-to-print"
    assert "氏名" in refusal.message
