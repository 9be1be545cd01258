"""Incidents (事故・障害の記録): what went wrong with a certificate or an
order, recorded by the center with identifiers only, and followed up by the
municipality concerned (acknowledged, resolved) or escalated to the operator.

Never personal data: an incident names the order, certificate, request and
terminal by their identifiers, its kind, and a short machine code of what
was wrong (``detail_code``), never a name, an address or a resident code."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from konbini.clock import isoformat

from .storage import CenterStore

# Unacknowledged this long, an incident is escalated in the operator's report.
ESCALATE_AFTER = timedelta(days=1)
# A detail code is a short machine word (``paper-jam``, ``subject-mismatch``):
# anything else is cut down to this alphabet so no free text (and no
# personal data) reaches the table.
_DETAIL_CODE = re.compile(r"[^a-z0-9._-]+")
DETAIL_CODE_MAX = 64


class IncidentKind(StrEnum):
    SUBJECT_MISMATCH = "subject-mismatch"  # the certificate is another person's
    FOREIGN_PAGE = "foreign-page"  # a page of another certificate (the Tokushima case)
    UPSTREAM_ERROR = "upstream-error"  # the municipal server's answer was unusable
    UPSTREAM_TIMEOUT = "upstream-timeout"  # the municipal server did not answer in time
    PRINT_FAILED = "print-failed"  # the kiosk reported a copy as failed
    VOID = "void"  # an order voided because its result never came
    STORE_REPORT = "store-report"  # a store reported a wrong print from the kiosk
    MUNICIPALITY_VOID = "municipality-void"  # the municipality voided a certificate


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# Which status may follow which: a municipality acknowledges (対応中) and
# resolves (解決); a resolved incident stays resolved.
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.OPEN: frozenset({IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED}),
    IncidentStatus.ACKNOWLEDGED: frozenset({IncidentStatus.RESOLVED}),
    IncidentStatus.RESOLVED: frozenset(),
}


class InvalidTransition(ValueError):
    """The new status cannot follow the incident's current one."""


@dataclass(frozen=True)
class Incident:
    incident_id: str
    kind: IncidentKind
    municipality_code: str
    status: IncidentStatus
    created_at: datetime
    updated_at: datetime
    order_id: str | None = None
    certificate_id: str | None = None
    request_id: str | None = None
    terminal_id: str | None = None
    detail_code: str | None = None
    note: str = ""
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None

    def escalated(self, now: datetime) -> bool:
        """Still open a day after it was recorded (pure)."""
        return self.status is IncidentStatus.OPEN and now - self.created_at >= ESCALATE_AFTER

    def to_wire(self, now: datetime) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id, "kind": self.kind.value,
            "municipality_code": self.municipality_code, "status": self.status.value,
            "order_id": self.order_id, "certificate_id": self.certificate_id,
            "request_id": self.request_id, "terminal_id": self.terminal_id,
            "detail_code": self.detail_code, "note": self.note,
            "created_at": isoformat(self.created_at),
            "acknowledged_at": isoformat(self.acknowledged_at) if self.acknowledged_at else None,
            "resolved_at": isoformat(self.resolved_at) if self.resolved_at else None,
            "escalated": self.escalated(now),
        }


def next_status(current: IncidentStatus, wanted: IncidentStatus) -> IncidentStatus:
    """The status after a municipality's update (pure); InvalidTransition if not allowed."""
    if wanted not in TRANSITIONS[current]:
        raise InvalidTransition(f"an incident that is {current.value} cannot become "
                                f"{wanted.value}")
    return wanted


def clean_detail_code(value: str | None) -> str | None:
    """A machine code only: lower-case, ``[a-z0-9._-]``, at most 64 characters."""
    if value is None:
        return None
    cleaned = _DETAIL_CODE.sub("-", value.strip().lower()).strip("-")[:DETAIL_CODE_MAX]
    return cleaned or None


# -- storage --------------------------------------------------------------------


async def record_incident(store: CenterStore, *, kind: IncidentKind, municipality_code: str,
                          now: datetime, order_id: str | None = None,
                          certificate_id: str | None = None, request_id: str | None = None,
                          terminal_id: str | None = None,
                          detail_code: str | None = None) -> str:
    """Record one incident (status ``open``) and return its id. Identifiers
    only: ``detail_code`` is reduced to a machine code (see clean_detail_code)."""
    incident_id = uuid.uuid4().hex
    await store.incidents.add(
        incident_id=incident_id, kind=IncidentKind(kind).value,
        municipality_code=municipality_code, status=IncidentStatus.OPEN.value, now=now,
        order_id=order_id, certificate_id=certificate_id, request_id=request_id,
        terminal_id=terminal_id, detail_code=clean_detail_code(detail_code))
    return incident_id


def _incident(row: dict[str, Any]) -> Incident:
    return Incident(**{**row, "kind": IncidentKind(row["kind"]),
                       "status": IncidentStatus(row["status"])})


async def incident(store: CenterStore, incident_id: str) -> Incident | None:
    row = await store.incidents.get(incident_id)
    return None if row is None else _incident(row)


async def incidents(store: CenterStore, *, municipality_code: str | None = None,
                    status: IncidentStatus | None = None, since: datetime | None = None,
                    kind: IncidentKind | None = None, order_id: str | None = None,
                    limit: int = 500) -> list[Incident]:
    """Incidents, oldest first, filtered by what is given."""
    rows = await store.incidents.find(
        municipality_code=municipality_code, status=status.value if status else None,
        kind=kind.value if kind else None, order_id=order_id, since=since, limit=limit)
    return [_incident(row) for row in rows]


async def update_status(store: CenterStore, incident_id: str, municipality_code: str,
                        wanted: IncidentStatus, note: str | None,
                        now: datetime) -> Incident | None:
    """Acknowledge or resolve one of the municipality's incidents. None if it
    has no such incident; InvalidTransition if the status cannot follow.
    A conditional write: two clerks racing cannot both move it."""
    found = await incident(store, incident_id)
    if found is None or found.municipality_code != municipality_code:
        return None
    new = next_status(found.status, wanted)
    if not await store.incidents.move(incident_id, found.status.value, new.value, note, now):
        # another update came first: judge against what it left
        again = await incident(store, incident_id)
        assert again is not None
        next_status(again.status, wanted)
        return await update_status(store, incident_id, municipality_code, wanted, note, now)
    return await incident(store, incident_id)


async def escalated_incidents(store: CenterStore, now: datetime) -> list[Incident]:
    """Incidents still open a day after they were recorded (the operator's report)."""
    rows = await store.incidents.find(status=IncidentStatus.OPEN.value,
                                      until=now - ESCALATE_AFTER)
    return [_incident(row) for row in rows]


# -- voids ------------------------------------------------------------------------

# Why a municipality voids a certificate (無効の理由): codes, so no free text
# (and no personal data) reaches the public inquiry site.
MUNICIPALITY_VOID_REASONS: dict[str, str] = {
    "wrong-person": "別人の証明書",
    "wrong-content": "記載内容の誤り",
    "foreign-page": "他の証明書の頁が混入",
    "reissued": "再交付",
    "other": "その他",
}
# What a store reports about a print (誤交付の申出).
STORE_REPORT_REASONS: dict[str, str] = {
    "wrong-person": "別人の証明書が印刷された",
    "foreign-page": "他の証明書の頁が混入した",
    "wrong-type": "違う種類の証明書が印刷された",
    "illegible": "判読できない",
    "other": "その他",
}
MUNICIPALITY_VOID_PREFIX = "municipality:"
STORE_REPORT_PREFIX = "store-report:"


def void_message(void_reason: str | None) -> str | None:
    """The inquiry site's message for a certificate voided on purpose (pure);
    None for the ordinary void of a failed or unreported print."""
    if void_reason and void_reason.startswith(MUNICIPALITY_VOID_PREFIX):
        label = MUNICIPALITY_VOID_REASONS.get(void_reason.removeprefix(MUNICIPALITY_VOID_PREFIX),
                                              "その他")
        return f"この証明書は交付した市区町村により無効とされています（理由: {label}）。"
    if void_reason and void_reason.startswith(STORE_REPORT_PREFIX):
        label = STORE_REPORT_REASONS.get(void_reason.removeprefix(STORE_REPORT_PREFIX), "その他")
        return f"この証明書は店舗からの申出により無効とされています（理由: {label}）。"
    return None


@dataclass(frozen=True)
class VoidedCertificate:
    certificate_id: str
    order_id: str
    certificate_number: str


async def certificates_by_number(store: CenterStore, municipality_code: str,
                                 certificate_number: str) -> list[tuple[VoidedCertificate, str]]:
    """The municipality's certificates with this number and their status."""
    found = await store.incidents.certificates_by_number(municipality_code, certificate_number)
    return [(VoidedCertificate(c.certificate_id, c.order_id, c.certificate_number), c.status)
            for c in found]


async def void_certificates(store: CenterStore, certificate_ids: list[str],
                            void_reason: str) -> list[VoidedCertificate]:
    """Void the given certificates that are not void yet (a conditional write);
    return those this call voided."""
    voided = await store.incidents.void_certificates(certificate_ids, void_reason)
    return [VoidedCertificate(c.certificate_id, c.order_id, c.certificate_number)
            for c in voided]


async def record_void(store: CenterStore, order_id: str, now: datetime) -> None:
    """What follows an order voided because its result never came: an incident,
    and the outcome owed to the municipality. Called by the upkeep inside the
    void's own transaction (``CenterStore.expire_orders(then=…)``)."""
    from . import reconciliation  # the outbox needs the incident kinds, not the reverse

    order = await store.order(order_id)
    if order is None:
        return
    await record_incident(store, kind=IncidentKind.VOID,
                          municipality_code=order.municipality_code, now=now,
                          order_id=order_id, terminal_id=order.terminal_id,
                          detail_code="result-never-reported")
    await reconciliation.owe_settlement(store, order_id, order.municipality_code, now,
                                        unprinted=reconciliation.Outcome.VOIDED)
