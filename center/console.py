"""The operator's console (運用コンソール): one page of charts and tables on
its own listener (``--console-port``, loopback by default), behind the
operator's token (``center/console_auth.py``).

Every figure comes from ``center/reports.py`` (statistics and the monthly
settlement): the console draws them, it never counts. The charts are SVG
images drawn by ``center/console_charts.py``; the page is plain HTML with
no script, so it works from any browser on the operator's machine."""

from __future__ import annotations

import asyncio
import base64
import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from konbini.clock import TOKYO
from konbini.http import (
    access_log_middleware,
    json_response,
    problem_middleware,
    request_id_middleware,
)
from konbini.problems import Problem
from konbini.wire import MAX_BODY_BYTES

from . import console_charts, console_incidents, reports
from .console_auth import (
    OPERATOR_TOKEN,
    clear_login_cookie,
    operator_middleware,
    set_login_cookie,
    token_matches,
)
from .context import CENTER, CenterContext, context
from .maintenance_site import CalendarEntry, upcoming_windows
from .model.settlement import Month, TermsError, check_year, fiscal_year_of
from .storage import TerminalRecord

STATUS_LABELS = {"active": "稼働中", "unreachable": "応答なし", "suspended": "停止中",
                 "maintenance": "メンテナンス中"}
CSP = ("default-src 'none'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


@dataclass(frozen=True)
class Period:
    fiscal_year: int
    month: Month

    def query(self) -> str:
        return urlencode({"fiscal_year": self.fiscal_year, "month": str(self.month)})


def period(request: web.Request, now: datetime) -> Period:
    """``?fiscal_year=2026&month=2026-11``; absent, the center clock's."""
    try:
        raw_year = request.query.get("fiscal_year")
        if raw_year is not None and not (raw_year.isascii() and raw_year.isdigit()):
            raise TermsError("fiscal_year", "a fiscal year is a number such as 2026")
        fiscal_year = check_year(int(raw_year)) if raw_year else fiscal_year_of(now)
        raw_month = request.query.get("month")
        local = now.astimezone(TOKYO)
        month = Month.parse(raw_month) if raw_month else Month.parse(f"{local:%Y-%m}")
        check_year(month.year, "month")
    except TermsError as exc:
        raise Problem("invalid-request", exc.message,
                      errors=[{"field": exc.field, "message": exc.message}]) from exc
    return Period(fiscal_year, month)


# -- the charts ---------------------------------------------------------------
async def _settlement_rows(ctx: CenterContext, month: Month) -> list[dict[str, Any]]:
    return [s.to_json() for s in await reports.monthly_settlement(ctx.store, month)]


@dataclass(frozen=True)
class Figures:
    """What the charts draw, read once per page from the reports."""

    period: Period
    statistics: reports.Statistics
    settlement: list[dict[str, Any]]


async def figures(ctx: CenterContext, p: Period) -> Figures:
    return Figures(p, await reports.statistics(ctx.store, p.fiscal_year),
                   await _settlement_rows(ctx, p.month))


# name -> (what it shows, the unit its total counts, how it is drawn)
CHARTS: dict[str, tuple[str, str, Callable[[Figures], console_charts.Chart]]] = {
    "by-month": ("月別・種類別の交付数", "通", lambda f: console_charts.by_month(
        f.statistics.by_month, f.period.fiscal_year)),
    "by-hour": ("時間帯別の交付数", "通", lambda f: console_charts.by_hour(
        f.statistics.by_hour)),
    "by-chain": ("チェーン別の交付数", "通", lambda f: console_charts.by_chain(
        f.statistics.by_chain)),
    "top-municipalities": ("市区町村別の交付数（上位20）", "通",
                           lambda f: console_charts.top_municipalities(
                               f.statistics.by_municipality, f.statistics.municipality_names)),
    "refusals": ("お断りの理由", "件", lambda f: console_charts.refusals(
        f.statistics.refusals)),
    "settlement": ("今月の精算", "通", lambda f: console_charts.settlement(
        f.settlement, str(f.period.month))),
}


def draw_all(found: Figures) -> dict[str, console_charts.Chart]:
    return {name: draw(found) for name, (_, _, draw) in CHARTS.items()}


async def chart(request: web.Request) -> web.Response:
    """One chart as an SVG file (the page embeds them all; this is for links and scripts)."""
    name = request.match_info["name"]
    if name not in CHARTS:
        raise Problem("not-found", "no such chart")
    ctx = context(request)
    found = await figures(ctx, period(request, ctx.clock.now()))
    drawn = await asyncio.to_thread(CHARTS[name][2], found)
    return web.Response(body=drawn.svg, content_type="image/svg+xml",
                        headers={"Cache-Control": "no-store",
                                 "X-Chart-Total": str(drawn.total)})


# -- the figures as JSON (what the charts draw, for scripts) ------------------
async def summary(request: web.Request) -> web.Response:
    ctx = context(request)
    p = period(request, ctx.clock.now())
    stats = await reports.statistics(ctx.store, p.fiscal_year)
    return json_response({"fiscal_year": p.fiscal_year, "month": str(p.month),
                          "statistics": stats.to_json(),
                          "settlement": await _settlement_rows(ctx, p.month),
                          "incidents": await _incidents(request)})


# -- incidents ------------------------------------------------------------------
# Each source is an async function returning the incidents to show (dicts with
# "severity", "title", "since", "municipality"); the panel lists them. Wired:
# the escalation of incidents open for a day (center/console_incidents.py).
IncidentSource = Callable[[CenterContext], Awaitable[list[dict[str, Any]]]]
INCIDENT_SOURCES = web.AppKey("incident_sources", list[IncidentSource])


async def _incidents(request: web.Request) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for source in request.app[INCIDENT_SOURCES]:
        found.extend(await source(context(request)))
    return found


# -- the page -----------------------------------------------------------------
def _e(value: object) -> str:
    return html.escape(str(value))


def _jst(at: datetime) -> str:
    return f"{at.astimezone(TOKYO):%Y-%m-%d %H:%M}"


def _layout(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<link rel="stylesheet" href="/static/console.css">
</head><body>{body}</body></html>"""


def login_page(failed: bool = False) -> str:
    error = ("<p class='error' role='alert'>トークンが違います。"
             "var/center/operator-token の内容を入力してください。</p>" if failed else "")
    return _layout("ログイン — 運用コンソール", f"""
<main class="login">
<h1>運用コンソール</h1>
<p>コンビニ交付センターの運用者用です。</p>
{error}
<form method="post" action="/login">
<label for="token">運用者トークン</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">ログイン</button>
</form>
</main>""")


async def show_login(request: web.Request) -> web.Response:
    return _html(login_page())


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    supplied = form.get("token")
    token = request.app[OPERATOR_TOKEN]
    if not isinstance(supplied, str) or not token_matches(token, supplied.strip()):
        return _html(login_page(failed=True), status=401)
    response = web.HTTPSeeOther("/")
    set_login_cookie(response, token)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/login")
    clear_login_cookie(response)
    return response


def _figures(p: Period, charts: dict[str, console_charts.Chart]) -> str:
    """Each chart as an image of its own (a data: URL, so the page's statistics
    are read once, and each SVG keeps its own ids), linked to its file."""
    out = []
    for name, (title, unit, _) in CHARTS.items():
        drawn = charts[name]
        data = base64.b64encode(drawn.svg).decode("ascii")
        out.append(
            f"<figure class='chart' id='chart-{name}' data-total='{drawn.total}'>"
            f"<a href='/charts/{name}.svg?{_e(p.query())}'>"
            f"<img src='data:image/svg+xml;base64,{data}' alt='{_e(title)}' width='720'></a>"
            f"<figcaption>{_e(title)}：計 {drawn.total:,} {unit}</figcaption></figure>")
    return "".join(out)


def _municipality_rows(rows: list[tuple[str, str, str, str]],
                       windows: list[CalendarEntry], now: datetime) -> str:
    out = []
    for code, name, prefecture, status in rows:
        mine = [w for w in windows if w.code == code]
        if status == "active" and any(w.starts_at <= now < w.ends_at for w in mine):
            status = "maintenance"
        planned = "<br>".join(f"{_jst(w.starts_at)} – {_jst(w.ends_at)} {_e(w.reason)}"
                              for w in mine) or "—"
        out.append(f"<tr data-code='{_e(code)}'><td>{_e(code)}</td><td>{_e(prefecture)}"
                   f"{_e(name)}</td><td class='status status-{_e(status)}'>"
                   f"{_e(STATUS_LABELS.get(status, status))}</td><td>{planned}</td></tr>")
    return "".join(out)


TERMINAL_HEAD = ("<thead><tr><th>端末</th><th>チェーン</th><th>店舗</th><th>最終利用</th>"
                 "<th>利用中</th><th>セッション</th><th>交付</th></tr></thead>")
RECENT_TERMINALS = 12


def _terminal_rows(terminals: list[TerminalRecord]) -> str:
    return "".join(
        f"<tr><td>{_e(t.terminal_id)}</td><td>"
        f"{_e(console_charts.CHAIN_NAMES.get(t.chain, t.chain))}</td><td>{_e(t.store_id)}</td>"
        f"<td>{_jst(t.last_seen_at)}</td><td class='n'>{t.open_sessions}</td>"
        f"<td class='n'>{t.sessions:,}</td><td class='n'>{t.printed:,}</td></tr>"
        for t in terminals)


def _terminals(terminals: list[TerminalRecord]) -> str:
    """A line per chain, the terminals in use most recently, the rest folded."""
    chains: dict[str, list[TerminalRecord]] = {}
    for terminal in terminals:
        chains.setdefault(terminal.chain, []).append(terminal)
    summary = "・".join(
        f"{_e(console_charts.CHAIN_NAMES.get(chain, chain))} {len(found)}台"
        f"（利用中 {sum(t.open_sessions for t in found)}）"
        for chain, found in sorted(chains.items()))
    recent = sorted(terminals, key=lambda t: t.last_seen_at, reverse=True)
    shown, rest = recent[:RECENT_TERMINALS], recent[RECENT_TERMINALS:]
    folded = (f"<details><summary>ほか {len(rest)} 台</summary><table>{TERMINAL_HEAD}"
              f"<tbody>{_terminal_rows(rest)}</tbody></table></details>" if rest else "")
    return (f"<p class='summary'>{summary or '端末はまだありません。'}</p>"
            f"<table>{TERMINAL_HEAD}<tbody>{_terminal_rows(shown)}</tbody></table>{folded}")


async def dashboard(request: web.Request) -> web.Response:
    ctx = context(request)
    now = ctx.clock.now()
    p = period(request, now)
    found = await figures(ctx, p)
    settlement = found.settlement
    charts = await asyncio.to_thread(draw_all, found)
    municipalities = []
    for code in await ctx.store.municipality_codes():
        found = await ctx.store.municipality(code)
        if found is not None:
            municipalities.append((code, found[0].name, found[0].prefecture, found[1]))
    windows = await upcoming_windows(ctx.store, now)
    center_windows = [w for w in windows if w.code is None]
    terminals = await ctx.store.terminals()
    incidents = await _incidents(request)
    incident_body = "<p class='none'>未確認のインシデントはありません。</p>"
    if incidents:
        incident_body = "<ul>" + "".join(
            f"<li class='incident severity-{_e(i.get('severity', ''))}' "
            f"data-incident='{_e(i.get('incident_id', ''))}'>"
            f"{_e(i.get('title', ''))} <small>{_e(i.get('since', ''))} "
            f"{_e(i.get('municipality', ''))}</small></li>" for i in incidents) + "</ul>"
    settlement_table = "".join(
        f"<tr><td>{_e(r['municipality_name'])}</td><td class='n'>{r['certificates']:,}</td>"
        f"<td class='n'>{r['fees_collected_yen']:,}</td>"
        f"<td class='n'>{r['commission_yen']:,}</td><td class='n'>{r['contribution_yen']:,}</td>"
        f"<td class='n {'negative' if r['net_yen'] < 0 else ''}'>{r['net_yen']:,}</td></tr>"
        for r in settlement)
    terminal_panel = _terminals(terminals)
    body = f"""
<header>
<h1>コンビニ交付センター 運用コンソール</h1>
<form method="get" action="/" class="period">
<label>年度 <input name="fiscal_year" type="number" min="2000" max="2100"
  value="{p.fiscal_year}"></label>
<label>精算月 <input name="month" type="month" value="{p.month}"></label>
<button type="submit">表示</button>
</form>
<form method="post" action="/logout"><button type="submit" class="quiet">ログアウト</button></form>
</header>
<main>
<section id="incidents" class="panel"><h2>未確認のインシデント</h2>{incident_body}</section>
<section id="charts" class="charts">{_figures(p, charts)}</section>
<section id="settlement" class="panel"><h2>{p.month} の精算（円）</h2>
<table><thead><tr><th>市区町村</th><th>交付数</th><th>手数料収入</th><th>委託手数料</th>
<th>負担金（月割）</th><th>差引（負: 市区町村が支払う）</th></tr></thead>
<tbody>{settlement_table}</tbody></table></section>
<section id="municipalities" class="panel"><h2>市区町村とメンテナンス予定</h2>
{"".join(f"<p class='center-window'>センター全体：{_jst(w.starts_at)} – {_jst(w.ends_at)} "
         f"{_e(w.reason)}</p>" for w in center_windows)}
<table><thead><tr><th>団体コード</th><th>市区町村</th><th>状態</th><th>メンテナンス予定</th>
</tr></thead><tbody>{_municipality_rows(municipalities, windows, now)}</tbody></table></section>
<section id="terminals" class="panel"><h2>端末</h2>{terminal_panel}</section>
</main>
<footer>{_jst(now)} 現在（日本時間）・数値は精算台帳から</footer>"""
    return _html(_layout("運用コンソール — コンビニ交付センター", body))


def _html(page: str, status: int = 200) -> web.Response:
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP,
                                 "X-Frame-Options": "DENY"})


async def stylesheet(request: web.Request) -> web.Response:
    css = resources.files("center").joinpath("static/console.css").read_bytes()
    return web.Response(body=css, content_type="text/css", charset="utf-8")


def create_console_app(ctx: CenterContext, token: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[
        request_id_middleware, access_log_middleware, ctx.metrics.middleware("console"),
        problem_middleware, operator_middleware])
    app[CENTER] = ctx
    app[OPERATOR_TOKEN] = token
    app[INCIDENT_SOURCES] = [console_incidents.escalated]
    app.router.add_get("/", dashboard)
    app.router.add_get("/login", show_login)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/charts/{name}.svg", chart)
    app.router.add_get("/api/summary", summary)
    app.router.add_get("/static/console.css", stylesheet)
    return app
