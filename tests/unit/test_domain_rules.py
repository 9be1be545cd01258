from __future__ import annotations

from datetime import date

import pytest

from center.municipalities import is_valid_municipality_code, jis_check_digit
from center.rate_limit import Budget, RateLimiter, parse_budgets
from center.storage import CenterStore
from kiosk_sim.options import parse_options
from konbini.validation import BodySchema
from municipal_server.documents import select_members
from municipal_server.eligibility import age_on, resident_refusal, unsupported_characters
from municipal_server.issuance import certificate_number
from municipal_server.register import DECEASED, MOVED_OUT, MOVING_OUT, RESIDENT, Resident


@pytest.mark.parametrize("code", ["131016", "452017", "141003", "011002", "271004"])
def test_real_codes_have_valid_check_digits(code: str) -> None:
    assert is_valid_municipality_code(code)


@pytest.mark.parametrize("code", ["131017", "13101", "1310160", "abcdef", "１３１０１６", ""])
def test_invalid_codes(code: str) -> None:
    assert not is_valid_municipality_code(code)


def test_check_digit_when_the_remainder_is_zero_or_one() -> None:
    assert jis_check_digit("00000") == 0
    # 1*6+0+0+0+5*2 = 16 → remainder 5 → 6; 1*6+0+0+0+0 = 6 → 5
    assert jis_check_digit("10005") == 6
    assert jis_check_digit("10000") == 5


def _resident(**changes: object) -> Resident:
    values: dict[str, object] = dict(
        resident_code="1", member_id="m", household_id="h", name="霞 太郎",
        name_kana="かすみ たろう", birth_date=date(1980, 4, 1), sex="男",
        relationship="世帯主", status=RESIDENT, moved_in_on=date(2015, 4, 1),
        moved_in_reason="転入")
    values.update(changes)
    return Resident(**values)  # type: ignore[arg-type]


ADDRESS = "東京都千代田区霞が関2丁目1番2号"
TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(("changes", "reason"), [
    ({}, None),
    ({"status": DECEASED}, "deceased"),
    ({"status": MOVED_OUT}, "moved-out"),
    ({"status": MOVING_OUT}, "moving-out"),
    ({"support_measure": True}, "support-measure"),
    ({"birth_date": date(2011, 11, 26)}, "under-15"),
    ({"birth_date": date(2011, 11, 25)}, None),  # 15 from the day before the birthday
    ({"moved_in_on": TODAY}, "moved-in-today"),
    ({"name": "𠮷田 一郎"}, "unsupported-characters"),
    ({"name": "髙橋 一郎"}, "unsupported-characters"),
])
def test_resident_refusals(changes: dict[str, object], reason: str | None) -> None:
    refusal = resident_refusal(_resident(**changes), ADDRESS, TODAY)
    assert (refusal.reason if refusal else None) == reason
    if refusal:
        assert refusal.message


def test_age_counts_from_the_day_before_the_birthday() -> None:
    assert age_on(date(2012, 5, 5), date(2027, 5, 3)) == 14
    assert age_on(date(2012, 5, 5), date(2027, 5, 4)) == 15
    assert age_on(date(2012, 2, 29), date(2027, 2, 27)) == 14
    assert age_on(date(2012, 2, 29), date(2027, 2, 28)) == 15


def test_supported_characters() -> None:
    assert unsupported_characters(ADDRESS) == []
    assert unsupported_characters("スミス ジョン") == []
    assert unsupported_characters("𠮷田") == ["𠮷"]


def test_member_selection() -> None:
    head = _resident(resident_code="1", member_id="a")
    spouse = _resident(resident_code="2", member_id="b", name="霞 花子", relationship="妻")
    assert select_members([head, spouse], "household") == ([head, spouse], True)
    assert select_members([head, spouse], ["b"]) == ([spouse], False)
    assert select_members([head, spouse], ["b", "a"]) == ([head, spouse], True)
    from konbini.problems import Problem

    with pytest.raises(Problem) as outside:
        select_members([head, spouse], ["z"])
    assert outside.value.code == "member-not-in-household"


def test_certificate_numbers() -> None:
    assert certificate_number("131016", 2026, 42) == "131016-2026-0000042"


def test_command_line_options() -> None:
    assert parse_options(["members=household"]) == {"members": "household"}
    assert parse_options(["members=m-1,m-2", "relationship=true", "fiscal_year=2025"]) == {
        "members": ["m-1", "m-2"], "relationship": True, "fiscal_year": 2025}
    for bad in (["members"], ["relationship=maybe"], ["fiscal_year=last"]):
        with pytest.raises(ValueError):
            parse_options(bad)


def test_validation_names_the_fields() -> None:
    schema = BodySchema({"type": "object", "additionalProperties": False,
                         "required": ["copies"],
                         "properties": {"copies": {"type": "integer", "minimum": 1}}})
    assert schema.errors({"copies": 0, "colour": "red"}) == [
        {"field": "colour", "message": "unknown field"},
        {"field": "copies", "message": "0 is less than the minimum of 1"}]
    assert schema.errors({}) == [{"field": "copies", "message": "required"}]


async def test_rate_limiter(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The token bucket, in the center's database as every worker shares it."""
    store = await CenterStore.open(tmp_path / "center.db", migrate=True)
    now = [0.0]
    try:
        limiter = RateLimiter(store, {"k": Budget.of(per_minute=60, burst=2)},
                              clock=lambda: now[0])
        assert await limiter.allow("k", "a") == 0.0
        assert await limiter.allow("k", "a") == 0.0
        assert await limiter.allow("k", "a") > 0.0
        assert await limiter.allow("k", "other") == 0.0
        now[0] = 1.0
        assert await limiter.allow("k", "a") == 0.0
        # A second process (another connection) draws from the same bucket.
        other = await CenterStore.open(tmp_path / "center.db")
        try:
            assert await RateLimiter(other, {"k": Budget.of(60, 2)},
                                     clock=lambda: now[0]).allow("k", "a") > 0.0
        finally:
            await other.close()
    finally:
        await store.close()


def test_budget_overrides() -> None:
    assert parse_budgets("terminal:kiosk-0001=6000/500, upload:127.0.0.1=60") == {
        "terminal:kiosk-0001": Budget(6000, 500), "upload:127.0.0.1": Budget(60, 10)}
    assert parse_budgets("") == {}
    with pytest.raises(ValueError):
        parse_budgets("kiosk-0001=60")
