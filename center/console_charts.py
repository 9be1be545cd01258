"""The console's charts, drawn by matplotlib as SVG with the Mincho font the
certificates use (``konbini/fonts.py``), so Japanese labels need nothing
from the browser: text is written as paths.

Pure: each function takes the figures (from ``center/reports.py``, never
computed here) and returns SVG bytes. Every bar carries an SVG id
(``bar-<series>-<category>``) so a test can see the data in the picture."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib
from matplotlib import font_manager, ticker
from matplotlib.figure import Figure  # the object API: no pyplot, no display backend

from konbini.fonts import font_path

# matplotlib's font cache and text layout are shared by the process; one
# chart at a time (a chart takes ~50 ms; the console is one operator's page).
_LOCK = threading.Lock()
_font_family: str | None = None

# The six groups of the national statistics, plus 罹災, in the published order.
GROUP_COLOURS = {
    "住民票": "#1f5fa8", "住記載": "#7fa7d6", "印鑑": "#c0392b", "税": "#d68910",
    "戸籍": "#1e8449", "附票": "#82c99a", "罹災": "#7d3c98",
}
CHAIN_NAMES = {"seven-eleven": "セブン-イレブン", "lawson": "ローソン",
               "familymart": "ファミリーマート"}
INK = "#333333"


@dataclass(frozen=True)
class Chart:
    svg: bytes
    total: int  # what the chart adds up to, for its caption


def _font() -> str:
    global _font_family
    if _font_family is None:
        path = str(font_path())
        font_manager.fontManager.addfont(path)
        _font_family = font_manager.FontProperties(fname=path).get_name()
    return _font_family


def _figure(width: float = 7.2, height: float = 3.4) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    figure.patch.set_facecolor("white")
    return figure


def _axes(figure: Figure, title: str):  # type: ignore[no-untyped-def]
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=12, color=INK)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(colors=INK, labelsize=8)
    axes.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    axes.set_axisbelow(True)
    return axes


def _svg(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _id(*parts: object) -> str:
    return "bar-" + "-".join(re.sub(r"[^\w.-]+", "_", str(p)) for p in parts)


def _empty(axes, message: str = "データがありません") -> None:  # type: ignore[no-untyped-def]
    axes.text(0.5, 0.5, message, transform=axes.transAxes, ha="center", va="center",
              fontsize=11, color="#888888")


def _render(draw) -> bytes:  # type: ignore[no-untyped-def]
    with _LOCK, matplotlib.rc_context({"font.family": _font(), "svg.fonttype": "path",
                                       "svg.hashsalt": "konbini"}):
        return draw()


def by_month(by_month: Mapping[str, Mapping[str, int]], fiscal_year: int) -> Chart:
    """Certificates per month of the fiscal year, stacked by type group."""
    months = list(by_month)
    total = sum(row.get("total", 0) for row in by_month.values())

    def draw() -> bytes:
        figure = _figure()
        axes = _axes(figure, f"月別の交付数（{fiscal_year}年度・種類別）")
        labels = [f"{int(m[5:])}月" for m in months]
        bottom = [0] * len(months)
        for group, colour in GROUP_COLOURS.items():
            heights = [by_month[m].get(group, 0) for m in months]
            if not any(heights):
                continue
            bars = axes.bar(labels, heights, bottom=bottom, color=colour, label=group,
                            width=0.7)
            for bar, month, height in zip(bars, months, heights, strict=True):
                if height:
                    bar.set_gid(_id(group, month))
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        if total:
            axes.legend(fontsize=8, ncols=7, loc="upper center", bbox_to_anchor=(0.5, -0.12),
                        frameon=False)
        else:
            _empty(axes)
        axes.set_ylabel("通", fontsize=9, rotation=0, labelpad=10)
        return _svg(figure)

    return Chart(_render(draw), total)


def by_hour(by_hour: Mapping[str, int]) -> Chart:
    """Certificates per hour of the day, Japan time (the service runs 06:30–23:00)."""
    hours = [f"{h:02d}" for h in range(24)]
    counts = [by_hour.get(h, 0) for h in hours]

    def draw() -> bytes:
        figure = _figure()
        axes = _axes(figure, "時間帯別の交付数（日本時間）")
        bars = axes.bar([int(h) for h in hours], counts, color="#1f5fa8", width=0.8)
        for bar, hour, count in zip(bars, hours, counts, strict=True):
            if count:
                bar.set_gid(_id("hour", hour))
        axes.set_xticks(range(0, 24, 2), [f"{h}時" for h in range(0, 24, 2)])
        if not any(counts):
            _empty(axes)
        return _svg(figure)

    return Chart(_render(draw), sum(counts))


def horizontal(title: str, series: str, items: Sequence[tuple[str, int]],
               colour: str = "#1f5fa8", label_keys: Sequence[str] | None = None) -> Chart:
    """Bars from the largest down: chains, municipalities, refusals.
    ``label_keys``: the stable key of each item for its bar's id (default the label)."""
    keys = list(label_keys) if label_keys is not None else [label for label, _ in items]

    def draw() -> bytes:
        figure = _figure(height=max(2.4, 0.8 + 0.28 * max(1, len(items))))
        axes = _axes(figure, title)
        axes.grid(axis="y", visible=False)
        axes.grid(axis="x", color="#e5e5e5", linewidth=0.8)
        labels = [label for label, _ in items][::-1]
        counts = [count for _, count in items][::-1]
        bars = axes.barh(labels, counts, color=colour, height=0.65)
        for bar, key, count in zip(bars, keys[::-1], counts, strict=True):
            bar.set_gid(_id(series, key))
            axes.annotate(f"{count:,}", (count, bar.get_y() + bar.get_height() / 2),
                          xytext=(3, 0), textcoords="offset points", va="center",
                          fontsize=8, color=INK)
        axes.xaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        if not items:
            axes.set_yticks([])
            axes.set_xticks([])
            _empty(axes)
        return _svg(figure)

    return Chart(_render(draw), sum(count for _, count in items))


def by_chain(chains: Mapping[str, int]) -> Chart:
    items = sorted(chains.items(), key=lambda kv: (-kv[1], kv[0]))
    return horizontal("チェーン別の交付数", "chain",
                      [(CHAIN_NAMES.get(c, c), n) for c, n in items], colour="#d68910",
                      label_keys=[c for c, _ in items])


def top_municipalities(counts: Mapping[str, int], names: Mapping[str, str],
                       limit: int = 20) -> Chart:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return horizontal(f"交付数の多い市区町村（上位{limit}）", "municipality",
                      [(f"{names.get(code, code)}（{code}）", n) for code, n in items],
                      colour="#1e8449", label_keys=[code for code, _ in items])


def refusals(rows: Sequence[Mapping[str, object]], limit: int = 15) -> Chart:
    """Refusals by code and reason (the problem codes of API.md)."""
    items = sorted(((f"{r['code']}" + (f" / {r['reason']}" if r.get("reason") else ""),
                     int(r["count"])) for r in rows), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return horizontal("お断りの理由", "refusal", items, colour="#c0392b")


def settlement(rows: Sequence[Mapping[str, object]], month: str) -> Chart:
    """The month's settlement per municipality: fees collected, commission,
    contribution share, and the net (negative: the municipality pays)."""
    series = (("fees_collected_yen", "手数料収入", "#1f5fa8"),
              ("commission_yen", "委託手数料", "#d68910"),
              ("contribution_yen", "負担金（月割）", "#7d3c98"),
              ("net_yen", "差引", "#1e8449"))
    names = [str(r["municipality_name"]) for r in rows]
    total = sum(int(r.get("certificates", 0)) for r in rows)  # type: ignore[call-overload]

    def draw() -> bytes:
        figure = _figure(height=3.6)
        axes = _axes(figure, f"今月の精算（{month}・円）")
        width = 0.8 / len(series)
        for index, (key, label, colour) in enumerate(series):
            values = [int(r[key]) for r in rows]  # type: ignore[call-overload]
            xs = [i + (index - (len(series) - 1) / 2) * width for i in range(len(rows))]
            bars = axes.bar(xs, values, width=width, color=colour, label=label)
            for bar, row, amount in zip(bars, rows, values, strict=True):
                bar.set_gid(_id(key, row["municipality_code"]))
                if key == "net_yen" and amount < 0:
                    bar.set_color("#c0392b")
        axes.axhline(0, color=INK, linewidth=0.8)
        axes.set_xticks(range(len(rows)), names)
        axes.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        if rows:
            axes.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.1),
                        frameon=False)
        else:
            _empty(axes)
        return _svg(figure)

    return Chart(_render(draw), total)
