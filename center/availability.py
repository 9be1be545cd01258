"""Is the center, a municipality, or a type open now? Each check raises the
problem the kiosk shows, with ``opens_at`` when it is known."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from konbini.clock import TOKYO, isoformat
from konbini.problems import Problem

from .calendar import (
    MaintenanceWindow,
    maintenance_ends_at,
    service_opens_at,
    type_offered_at,
    type_opens_at,
)
from .context import CenterContext
from .fees import with_fees_in_force
from .municipalities import Registration, ServiceOffer
from .storage import CenterStore


def _jst(at: datetime) -> str:
    """Every time on the wire is written in Asia/Tokyo: maintenance windows come
    back from storage in UTC, and a kiosk or a tester reads the offset as given."""
    return isoformat(at.astimezone(TOKYO))


def check_center_open(now: datetime, windows: Sequence[MaintenanceWindow]) -> None:
    """Raises ``service-closed`` outside the center's hours or in a center-wide window."""
    opens_at = service_opens_at(now, windows)
    if opens_at is not None:
        raise Problem("service-closed",
                      "コンビニ交付サービスの時間外です (service hours are 6:30–23:00)",
                      opens_at=_jst(opens_at))


def check_participating(found: Registration | None) -> Registration:
    if found is None:
        raise Problem("municipality-not-participating",
                      "this municipality does not take part in convenience-store issuance")
    return found


def check_municipality_open(now: datetime, windows: Sequence[MaintenanceWindow]) -> None:
    ends_at = maintenance_ends_at(now, windows)
    if ends_at is not None:
        raise Problem("municipality-unavailable",
                      "the municipality's certificate server is in maintenance",
                      opens_at=_jst(ends_at))


async def ensure_center_open(ctx: CenterContext, now: datetime,
                             store: CenterStore | None = None) -> None:
    check_center_open(now, await (store or ctx.store).maintenance(None, now))


async def participating(ctx: CenterContext, code: str,
                        store: CenterStore | None = None) -> Registration:
    found = await (store or ctx.store).municipality(code)
    return check_participating(None if found is None else found[0])


async def ensure_municipality_open(ctx: CenterContext, code: str, now: datetime,
                                   store: CenterStore | None = None) -> None:
    check_municipality_open(now, await (store or ctx.store).maintenance(code, now))


@dataclass(frozen=True)
class Availability:
    """What a kiosk request needs to know of the center and some municipalities
    at one instant, read in the request's own transaction (issue 12: one
    transaction, not one per check) and checked afterwards from these plain
    values, in the order the checks always ran. Nothing here outlives the
    request: a window or a registration changed by any worker counts from
    the next request on."""

    now: datetime
    registrations: dict[str, Registration | None] = field(default_factory=dict)
    in_force: dict[str, Registration] = field(default_factory=dict)
    windows: dict[str | None, list[MaintenanceWindow]] = field(default_factory=dict)

    def ensure_center_open(self) -> None:
        check_center_open(self.now, self.windows.get(None, []))

    def participating(self, code: str) -> Registration:
        return check_participating(self.registrations.get(code))

    def ensure_municipality_open(self, code: str) -> None:
        check_municipality_open(self.now, self.windows.get(code, []))

    def with_fees_in_force(self, code: str) -> Registration:
        """The participating municipality's registration, its fees as in force now."""
        return self.in_force.get(code) or self.participating(code)


async def read_availability(store: CenterStore, now: datetime, codes: Iterable[str], *,
                            center: bool = False, fees: bool = True) -> Availability:
    """The registrations, maintenance windows (with the center's when ``center``)
    and fees in force of ``codes``, through ``store`` (a unit of work: one
    transaction). Fee periods are read only for a participating municipality."""
    wanted = list(dict.fromkeys(codes))
    registrations = {}
    for code in wanted:
        found = await store.municipality(code)
        registrations[code] = None if found is None else found[0]
    windows = await store.maintenance_of([*([None] if center else []), *(
        code for code in wanted if registrations[code] is not None)], now)
    in_force = {}
    if fees:
        for code, registration in registrations.items():
            if registration is not None:
                in_force[code] = await with_fees_in_force(store, registration, now)
    return Availability(now, registrations, in_force, windows)


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
