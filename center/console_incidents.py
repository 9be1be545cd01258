"""The console's incidents panel (未確認のインシデント): incidents still open a
day after they were recorded (``incidents.escalated_incidents``), with the
municipality, what happened and how long it has waited. Identifiers and codes
only, as the incidents themselves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from konbini.clock import TOKYO, isoformat

from .context import CenterContext
from .incidents import Incident, IncidentKind, escalated_incidents

KIND_LABELS: dict[IncidentKind, str] = {
    IncidentKind.SUBJECT_MISMATCH: "別人の証明書",
    IncidentKind.FOREIGN_PAGE: "他の証明書の頁が混入",
    IncidentKind.UPSTREAM_ERROR: "市区町村サーバの応答異常",
    IncidentKind.UPSTREAM_TIMEOUT: "市区町村サーバの応答なし",
    IncidentKind.PRINT_FAILED: "印刷失敗",
    IncidentKind.VOID: "結果未着による無効",
    IncidentKind.STORE_REPORT: "店舗からの誤交付の申出",
    IncidentKind.MUNICIPALITY_VOID: "市区町村による無効",
}
# A certificate that may have gone to the wrong person comes first.
HIGH_SEVERITY = frozenset({IncidentKind.SUBJECT_MISMATCH, IncidentKind.FOREIGN_PAGE,
                           IncidentKind.STORE_REPORT})


def age_label(age: timedelta) -> str:
    """「1日3時間」: how long an incident has waited (pure)."""
    hours = max(0, int(age.total_seconds() // 3600))
    days, hours = divmod(hours, 24)
    return f"{days}日{hours}時間" if days else f"{hours}時間"


def panel_entry(incident: Incident, municipality_name: str | None,
                now: datetime) -> dict[str, Any]:
    """One line of the panel (pure): what ``console.INCIDENT_SOURCES`` returns."""
    age = now - incident.created_at
    label = KIND_LABELS.get(incident.kind, incident.kind.value)
    return {
        "incident_id": incident.incident_id,
        "severity": "high" if incident.kind in HIGH_SEVERITY else "normal",
        "title": f"{label}（{incident.kind.value}）",
        "kind": incident.kind.value,
        "municipality_code": incident.municipality_code,
        "municipality": f"{municipality_name or ''} {incident.municipality_code}".strip(),
        "created_at": isoformat(incident.created_at),
        "age_hours": round(age.total_seconds() / 3600, 1),
        "since": f"{age_label(age)}未確認（{incident.created_at.astimezone(TOKYO):%Y-%m-%d %H:%M}"
                 "から）",
    }


async def escalated(ctx: CenterContext) -> list[dict[str, Any]]:
    """The console's source of escalated incidents, oldest first."""
    now = ctx.clock.now()
    names: dict[str, str | None] = {}
    entries = []
    for incident in await escalated_incidents(ctx.store, now):
        code = incident.municipality_code
        if code not in names:
            found = await ctx.store.municipality(code)
            names[code] = found[0].name if found else None
        entries.append(panel_entry(incident, names[code], now))
    return entries
