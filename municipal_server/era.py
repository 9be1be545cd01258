"""和暦 (Japanese era) dates as printed on certificates.

Certificates give dates in 和暦 (e.g. 令和8年11月23日); foreign residents who
asked for it get the Western calendar (西暦) instead. The first year of an era
is written 元年, never 1年.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple


class Era(NamedTuple):
    name: str
    start: date


# Newest first so the first era that started on or before a date is its era.
# 明治 starts on the day of the 改元 (1868-10-23); earlier dates belong to the
# lunisolar calendar, which a certificate cannot express this way.
ERAS: tuple[Era, ...] = (
    Era("令和", date(2019, 5, 1)),
    Era("平成", date(1989, 1, 8)),
    Era("昭和", date(1926, 12, 25)),
    Era("大正", date(1912, 7, 30)),
    Era("明治", date(1868, 10, 23)),
)


def era_of(d: date) -> tuple[str, int]:
    """The era name and the year within it (1 for 元年) of ``d``."""
    for era in ERAS:
        if d >= era.start:
            return era.name, d.year - era.start.year + 1
    raise ValueError(f"{d.isoformat()} is before the 明治 era (1868-10-23)")


def wareki_year(d: date) -> str:
    """和暦の年, e.g. 「令和8年」, 「平成元年」."""
    name, year = era_of(d)
    return f"{name}{'元' if year == 1 else year}年"


def wareki(d: date) -> str:
    """和暦の年月日, e.g. 「令和8年11月23日」, 「平成元年1月8日」."""
    return f"{wareki_year(d)}{d.month}月{d.day}日"


def western(d: date) -> str:
    """西暦の年月日 for foreign residents, e.g. 「2026年11月23日」."""
    return f"{d.year}年{d.month}月{d.day}日"


def fiscal_year_text(year: int, use_western: bool = False) -> str:
    """年度 as printed on a 税証明, e.g. 「令和8年度」 for 2026, 「2026年度」 in 西暦.

    A 年度 runs April to March; 2019 is 「令和元年度」, as the government styled it after the
    改元 of 1 May 2019, so the era is the one of the 年度's summer."""
    return f"{year}年度" if use_western else f"{wareki_year(date(year, 6, 1))}度"


def income_year_text(year: int, use_western: bool = False) -> str:
    """The calendar year (暦年) of income, e.g. 「令和7年」; the era of its last day."""
    return f"{year}年" if use_western else wareki_year(date(year, 12, 31))
