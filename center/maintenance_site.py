"""The public maintenance calendar (メンテナンス予定): upcoming windows of the
center and of each participating municipality, in JST, with no login.

``GET /v1/maintenance`` (JSON) and ``GET /maintenance`` (a page) on the
public listener; residents and stores read it before they go to a kiosk."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from konbini.clock import TOKYO
from konbini.http import json_response
from konbini.openapi import operation

from .context import context
from .storage import CenterStore

CENTER_WIDE = "センター（全市区町村）"


@dataclass(frozen=True)
class CalendarEntry:
    """One window: ``code`` None for the whole center."""

    code: str | None
    name: str
    starts_at: datetime
    ends_at: datetime
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"municipality": None if self.code is None else {"code": self.code,
                                                                "name": self.name},
                "code": self.code, "name": self.name,
                "starts_at": jst(self.starts_at), "ends_at": jst(self.ends_at),
                "reason": self.reason}


def jst(at: datetime) -> str:
    # RFC 3339 date-time (with seconds), as the document says
    return at.astimezone(TOKYO).isoformat(timespec="seconds")


async def upcoming_windows(store: CenterStore, now: datetime) -> list[CalendarEntry]:
    """Windows not yet over, earliest first: the center's and every municipality's."""
    entries = [CalendarEntry(None, CENTER_WIDE, w.starts_at, w.ends_at, w.reason)
               for w in await store.maintenance(None, now)]
    for code in await store.municipality_codes():
        found = await store.municipality(code)
        if found is None:
            continue
        entries += [CalendarEntry(code, found[0].name, w.starts_at, w.ends_at, w.reason)
                    for w in await store.maintenance(code, now)]
    return sorted(entries, key=lambda e: (e.starts_at, e.code or ""))


async def calendar_json(request: web.Request) -> web.Response:
    ctx = context(request)
    now = ctx.clock.now()
    windows = await upcoming_windows(ctx.store, now)
    return json_response({"as_of": jst(now), "timezone": "Asia/Tokyo",
                          "windows": [w.as_json() for w in windows]})


def _format(at: datetime) -> str:
    local = at.astimezone(TOKYO)
    return f"{local:%Y-%m-%d} ({'月火水木金土日'[local.weekday()]}) {local:%H:%M}"


def calendar_html(windows: list[CalendarEntry], now: datetime) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(w.code or '—')}</td><td>{html.escape(w.name)}</td>"
        f"<td><time datetime='{jst(w.starts_at)}'>{_format(w.starts_at)}</time></td>"
        f"<td><time datetime='{jst(w.ends_at)}'>{_format(w.ends_at)}</time></td>"
        f"<td>{html.escape(w.reason)}</td></tr>" for w in windows)
    body = (f"<table><thead><tr><th>団体コード</th><th>市区町村</th><th>開始</th><th>終了</th>"
            f"<th>理由</th></tr></thead><tbody>{rows}</tbody></table>" if windows
            else "<p class='none'>予定されているメンテナンスはありません。</p>")
    return f"""<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>メンテナンス予定 — コンビニ交付</title>
<style>
body {{ font-family: sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem;
        color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .5rem; text-align: left; }}
th {{ background: #f3f3f3; }}
.none {{ padding: 1rem; background: #f3f8f3; }}
</style></head><body>
<h1>メンテナンス予定</h1>
<p>この間は、該当する市区町村の証明書をコンビニで取得できません（日本時間）。
<a href="/v1/maintenance">JSON</a></p>
{body}
<p><small>{_format(now)} 現在</small></p>
</body></html>"""


async def calendar_page(request: web.Request) -> web.Response:
    ctx = context(request)
    now = ctx.clock.now()
    page = calendar_html(await upcoming_windows(ctx.store, now), now)
    return web.Response(text=page, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


def setup(app: web.Application) -> None:
    app.router.add_get("/v1/maintenance", calendar_json)
    app.router.add_get("/maintenance", calendar_page)


WINDOW = {"type": "object", "required": ["code", "name", "starts_at", "ends_at", "reason"],
          "properties": {
              "code": {"type": ["string", "null"],
                       "description": "団体コード; null for the whole center"},
              "name": {"type": "string"},
              "municipality": {"type": ["object", "null"]},
              "starts_at": {"type": "string", "format": "date-time",
                            "description": "JST (+09:00)"},
              "ends_at": {"type": "string", "format": "date-time"},
              "reason": {"type": "string"}}}
CALENDAR = {"type": "object", "required": ["as_of", "timezone", "windows"],
            "properties": {"as_of": {"type": "string"}, "timezone": {"const": "Asia/Tokyo"},
                           "windows": {"type": "array", "items": WINDOW}}}


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The public calendar and the metrics endpoint (mutual-TLS API)."""
    return {
        "/v1/maintenance": {"get": operation(
            "Public site: upcoming maintenance windows per municipality (JST)",
            response=CALENDAR, security="")},
        "/maintenance": {"get": operation(
            "Public site: the maintenance calendar as a page", content_type="text/html",
            response={"type": "string"}, security="")},
        "/metrics": {"get": operation(
            "Prometheus metrics of the center (text exposition format); any client "
            "certificate of the TLS CA", content_type="text/plain",
            response={"type": "string"})},
    }
