from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from center.calendar import (
    MaintenanceWindow,
    day_kind,
    maintenance_ends_at,
    parse_hours,
    parse_span,
    service_opens_at,
    type_offered_at,
    type_opens_at,
)
from konbini.clock import TOKYO


def tokyo(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


@pytest.mark.parametrize(("now", "opens_at"), [
    ("2026-11-24T06:29:59", "2026-11-24T06:30"),
    ("2026-11-24T06:30:00", None),
    ("2026-11-24T22:59:59", None),
    ("2026-11-24T23:00:00", "2026-11-25T06:30"),
    ("2026-12-28T22:59:00", None),
    ("2026-12-28T23:00:00", "2027-01-04T06:30"),
    ("2026-12-29T12:00:00", "2027-01-04T06:30"),
    ("2027-01-03T06:30:00", "2027-01-04T06:30"),
    ("2027-01-04T06:30:00", None),
    ("2026-11-23T12:00:00", None),  # a national holiday: the center is open
])
def test_center_hours(now: str, opens_at: str | None) -> None:
    expected = tokyo(opens_at) if opens_at else None
    assert service_opens_at(tokyo(now)) == expected


def test_center_hours_are_evaluated_in_tokyo() -> None:
    # 21:29 UTC is 06:29 the next morning in Tokyo.
    utc = datetime.fromisoformat("2026-11-23T21:29:00+00:00")
    assert service_opens_at(utc) == tokyo("2026-11-24T06:30")


def test_maintenance_windows_chain_and_meet_the_night() -> None:
    windows = [MaintenanceWindow(tokyo("2026-11-24T20:00"), tokyo("2026-11-24T22:00")),
               MaintenanceWindow(tokyo("2026-11-24T21:30"), tokyo("2026-11-25T07:00"))]
    assert service_opens_at(tokyo("2026-11-24T20:30"), windows) == tokyo("2026-11-25T07:00")
    assert maintenance_ends_at(tokyo("2026-11-24T20:30"), windows) == tokyo("2026-11-25T07:00")
    assert maintenance_ends_at(tokyo("2026-11-24T19:59"), windows) is None


def test_type_hours_follow_weekdays_and_holidays() -> None:
    hours = parse_hours({"weekday": "08:30-17:00"})
    assert type_offered_at(tokyo("2026-11-24T08:30"), hours)  # Tuesday
    assert not type_offered_at(tokyo("2026-11-24T17:00"), hours)
    assert not type_offered_at(tokyo("2026-11-21T10:00"), hours)  # Saturday
    assert not type_offered_at(tokyo("2026-11-23T10:00"), hours)  # 勤労感謝の日 (Monday)
    assert type_opens_at(tokyo("2026-11-21T10:00"), hours) == tokyo("2026-11-24T08:30")
    assert type_offered_at(tokyo("2026-11-21T10:00"), None)


def test_day_kinds() -> None:
    assert day_kind(tokyo("2026-11-23T00:00").date()) == "holiday"
    assert day_kind(tokyo("2026-11-22T00:00").date()) == "weekend"
    assert day_kind(tokyo("2026-11-24T00:00").date()) == "weekday"


@pytest.mark.parametrize("text", ["8:30-17:00", "17:00-08:30", "08:30", "25:00-26:00", ""])
def test_bad_spans(text: str) -> None:
    with pytest.raises(ValueError):
        parse_span(text)


def test_next_opening_is_never_in_the_past() -> None:
    start = tokyo("2026-12-20T00:00")
    for minutes in range(0, 60 * 24 * 20, 37):
        now = start + timedelta(minutes=minutes)
        opens = service_opens_at(now)
        assert opens is None or opens > now
