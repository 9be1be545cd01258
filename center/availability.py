"""Is the center, a municipality, or a type open now? Each check raises the
problem the kiosk shows, with ``opens_at`` when it is known."""

from __future__ import annotations

from datetime import datetime

from konbini.clock import TOKYO, isoformat
from konbini.problems import Problem

from .calendar import maintenance_ends_at, service_opens_at, type_offered_at, type_opens_at
from .context import CenterContext
from .municipalities import Registration, ServiceOffer


def _jst(at: datetime) -> str:
    """Every time on the wire is written in Asia/Tokyo: maintenance windows come
    back from storage in UTC, and a kiosk or a tester reads the offset as given."""
    return isoformat(at.astimezone(TOKYO))


async def ensure_center_open(ctx: CenterContext, now: datetime) -> None:
    windows = await ctx.store.maintenance(None, now)
    opens_at = service_opens_at(now, windows)
    if opens_at is not None:
        raise Problem("service-closed",
                      "コンビニ交付サービスの時間外です (service hours are 6:30–23:00)",
                      opens_at=_jst(opens_at))


async def participating(ctx: CenterContext, code: str) -> Registration:
    found = await ctx.store.municipality(code)
    if found is None:
        raise Problem("municipality-not-participating",
                      "this municipality does not take part in convenience-store issuance")
    return found[0]


async def ensure_municipality_open(ctx: CenterContext, code: str, now: datetime) -> None:
    windows = await ctx.store.maintenance(code, now)
    ends_at = maintenance_ends_at(now, windows)
    if ends_at is not None:
        raise Problem("municipality-unavailable",
                      "the municipality's certificate server is in maintenance",
                      opens_at=_jst(ends_at))


def ensure_type_offered(offer: ServiceOffer | None, now: datetime) -> ServiceOffer:
    if offer is None:
        raise Problem("type-unavailable", "this municipality does not offer this certificate",
                      reason="not-offered")
    if not type_offered_at(now, offer.hours):
        opens_at = type_opens_at(now, offer.hours)
        extra = {"opens_at": _jst(opens_at)} if opens_at else {}
        raise Problem("type-unavailable", "outside the hours for this certificate type",
                      reason="outside-hours", **extra)
    return offer
