"""The service calendar (サービス提供時間): when the center takes new
sessions and orders, and when a municipality offers each certificate type.

Pure functions of an instant and plain values; every time is evaluated in
Asia/Tokyo."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import jpholiday

from konbini.clock import TOKYO

SERVICE_OPENS = time(6, 30)
SERVICE_CLOSES = time(23, 0)
# 年末年始: closed from 29 December to 3 January inclusive.
NEW_YEAR_CLOSURE = ((12, 29), (1, 3))

DAY_KINDS = ("weekday", "weekend", "holiday")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class MaintenanceWindow:
    """A span during which the center (or one municipality) is unavailable."""

    starts_at: datetime
    ends_at: datetime
    reason: str = ""

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class Span:
    opens: time
    closes: time

    def covers(self, moment: time) -> bool:
        return self.opens <= moment < self.closes


def parse_span(text: str) -> Span:
    """``"08:30-17:00"`` → Span; ValueError for anything else."""
    match = _SPAN.match(text)
    if not match:
        raise ValueError("hours must look like 08:30-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens = time(h1, m1)
    closes = time(23, 59, 59, 999999) if (h2, m2) == (24, 0) else time(h2, m2)
    if (h2, m2) > (24, 0) or closes <= opens:
        raise ValueError("closing time must be after opening time")
    return Span(opens, closes)


def is_new_year_closure(day: date) -> bool:
    (m1, d1), (m2, d2) = NEW_YEAR_CLOSURE
    return (day.month, day.day) >= (m1, d1) or (day.month, day.day) <= (m2, d2)


def day_kind(day: date) -> str:
    """``weekday``, ``weekend`` or ``holiday`` (national holidays, 国民の祝日)."""
    if jpholiday.is_holiday(day):
        return "holiday"
    return "weekend" if day.weekday() >= 5 else "weekday"


def _within_center_hours(at: datetime) -> bool:
    local = at.astimezone(TOKYO)
    return (not is_new_year_closure(local.date())
            and SERVICE_OPENS <= local.time() < SERVICE_CLOSES)


def _covering(at: datetime, windows: Sequence[MaintenanceWindow]) -> MaintenanceWindow | None:
    return next((w for w in windows if w.covers(at)), None)


def _next_center_opening(at: datetime) -> datetime:
    local = at.astimezone(TOKYO)
    day = local.date()
    if local.time() >= SERVICE_OPENS:
        day += timedelta(days=1)
    while is_new_year_closure(day):
        day += timedelta(days=1)
    return datetime.combine(day, SERVICE_OPENS, TOKYO)


def service_opens_at(at: datetime,
                     maintenance: Sequence[MaintenanceWindow] = ()) -> datetime | None:
    """None while the center is open at ``at``; otherwise when it opens again.

    Maintenance windows may overlap the nightly closure and each other, so we
    step forward until an instant is inside hours and outside every window."""
    candidate = at
    for _ in range(1000):
        if not _within_center_hours(candidate):
            candidate = _next_center_opening(candidate)
            continue
        window = _covering(candidate, maintenance)
        if window is None:
            return None if candidate == at else candidate
        candidate = window.ends_at
    raise ValueError("no opening found: the maintenance windows never end")


def maintenance_ends_at(at: datetime, windows: Sequence[MaintenanceWindow]) -> datetime | None:
    """None if no window covers ``at``; otherwise when the covering windows end."""
    end: datetime | None = None
    candidate = at
    while (window := _covering(candidate, windows)) is not None:
        end = candidate = window.ends_at
    return end


def parse_hours(hours: dict[str, str] | None) -> dict[str, Span] | None:
    """A registration's ``hours``: None means the center's full hours."""
    if hours is None:
        return None
    return {kind: parse_span(text) for kind, text in hours.items()}


def type_offered_at(at: datetime, hours: dict[str, Span] | None) -> bool:
    """Whether a type with these per-day-kind ``hours`` is offered at ``at``.

    A day kind missing from present hours means not offered that day."""
    if hours is None:
        return True
    local = at.astimezone(TOKYO)
    span = hours.get(day_kind(local.date()))
    return span is not None and span.covers(local.time())


def type_opens_at(at: datetime, hours: dict[str, Span] | None) -> datetime | None:
    """None if offered at ``at`` (hours only); else the next opening within 2 weeks."""
    if hours is None or type_offered_at(at, hours):
        return None
    local = at.astimezone(TOKYO)
    for offset in range(15):
        day = local.date() + timedelta(days=offset)
        span = hours.get(day_kind(day))
        if span is None or is_new_year_closure(day):
            continue
        opens = datetime.combine(day, max(span.opens, SERVICE_OPENS), TOKYO)
        if opens > local or (offset == 0 and local.time() < span.opens):
            return opens
    return None
