"""The console's pure parts: the operator's token on disk, the cookie, and
the charts carrying their data (every bar has an id naming what it counts)."""

from __future__ import annotations

import stat
from pathlib import Path

from center import console_charts
from center.console_auth import cookie_value, load_or_create_token, token_matches


def test_the_token_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "center" / "operator-token"
    token = load_or_create_token(path)
    assert len(token) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == token  # a second worker reads the same one
    assert token_matches(token, token) and not token_matches(token, token[:-1] + "x")
    cookie = cookie_value(token)
    assert token not in cookie and cookie == cookie_value(token)
    assert cookie != cookie_value(load_or_create_token(tmp_path / "other" / "operator-token"))


def test_each_bar_names_what_it_counts() -> None:
    months = {"2026-04": {"住民票": 3, "印鑑": 1, "total": 4},
              "2026-05": {"住民票": 0, "印鑑": 2, "total": 2}}
    chart = console_charts.by_month(months, 2026)
    svg = chart.svg.decode()
    assert chart.total == 6
    assert 'id="bar-住民票-2026-04"' in svg and 'id="bar-印鑑-2026-05"' in svg
    assert 'id="bar-住民票-2026-05"' not in svg  # nothing to draw for an empty cell
    top = console_charts.top_municipalities({f"{n:06d}": n for n in range(1, 30)},
                                            {"000029": "千代田区"})
    assert top.total == sum(range(10, 30))  # the top 20 only
    assert 'id="bar-municipality-000029"' in top.svg.decode()
    assert 'id="bar-municipality-000009"' not in top.svg.decode()


def test_a_negative_net_is_drawn_below_zero() -> None:
    row = {"municipality_code": "131016", "municipality_name": "千代田区",
           "fees_collected_yen": 2000, "commission_yen": 1150, "contribution_yen": 250_000,
           "net_yen": -249_150, "certificates": 10}
    svg = console_charts.settlement([row], "2026-11").svg.decode()
    assert 'id="bar-net_yen-131016"' in svg and 'id="bar-fees_collected_yen-131016"' in svg


def test_empty_charts_say_so_without_bars() -> None:
    for chart in (console_charts.by_hour({}), console_charts.refusals([]),
                  console_charts.by_chain({}), console_charts.settlement([], "2026-11")):
        assert chart.total == 0 and 'id="bar-' not in chart.svg.decode()
