"""和暦: era boundaries, 元年, and the Western form for foreign residents."""

from datetime import date

import pytest

from municipal_server.era import fiscal_year_text, income_year_text, wareki, wareki_year, western


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(1868, 10, 23), "明治元年10月23日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1927, 1, 1), "昭和2年1月1日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2026, 11, 23), "令和8年11月23日"),
    ],
)
def test_wareki(day: date, expected: str) -> None:
    assert wareki(day) == expected


def test_wareki_year() -> None:
    assert wareki_year(date(2026, 11, 23)) == "令和8年"
    assert wareki_year(date(1989, 1, 8)) == "平成元年"


def test_before_meiji_is_refused() -> None:
    with pytest.raises(ValueError):
        wareki(date(1868, 10, 22))


def test_western() -> None:
    assert western(date(2026, 11, 23)) == "2026年11月23日"
    assert western(date(1999, 1, 5)) == "1999年1月5日"


def test_fiscal_and_income_years() -> None:
    assert fiscal_year_text(2026) == "令和8年度"
    assert fiscal_year_text(2019) == "令和元年度"
    assert fiscal_year_text(2026, use_western=True) == "2026年度"
    assert income_year_text(2025) == "令和7年"
    assert income_year_text(2019) == "令和元年"
    assert income_year_text(1988) == "昭和63年"
