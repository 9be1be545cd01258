"""Incidents (center/incidents.py) and the voids of certificates that come
with them, on the center's database (SQLAlchemy Core, either engine).

Rows come back as plain dictionaries named like the columns, instants as
timezone-aware datetimes; the domain module makes its ``Incident`` of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping

from konbini.db import Repository

from . import tables as t

_INSTANTS = ("created_at", "updated_at", "acknowledged_at", "resolved_at")
# The column stamped when an incident reaches a status.
_STAMPS = {"acknowledged": t.incidents.c.acknowledged_at,
           "resolved": t.incidents.c.resolved_at}
VOID = "void"


def _incident(row: RowMapping) -> dict[str, Any]:
    return {**row, **{name: None if row[name] is None else datetime.fromtimestamp(row[name], UTC)
                      for name in _INSTANTS}}


@dataclass(frozen=True)
class CertificateState:
    """A certificate as a void sees it: its identifiers and status."""

    certificate_id: str
    order_id: str
    certificate_number: str
    status: str


class IncidentStore(Repository):
    """The ``incidents`` table, and voids of ``certificates`` by a
    municipality or a store's report."""

    async def add(self, *, incident_id: str, kind: str, municipality_code: str, status: str,
                  now: datetime, order_id: str | None, certificate_id: str | None,
                  request_id: str | None, terminal_id: str | None,
                  detail_code: str | None) -> None:
        await self._run(t.incidents.insert().values(
            incident_id=incident_id, kind=kind, municipality_code=municipality_code,
            status=status, order_id=order_id, certificate_id=certificate_id,
            request_id=request_id, terminal_id=terminal_id, detail_code=detail_code,
            created_at=now.timestamp(), updated_at=now.timestamp()))

    async def get(self, incident_id: str) -> dict[str, Any] | None:
        row = await self._one(select(t.incidents)
                              .where(t.incidents.c.incident_id == incident_id))
        return None if row is None else _incident(row)

    async def find(self, *, municipality_code: str | None = None, status: str | None = None,
                   kind: str | None = None, order_id: str | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """Incidents, oldest first, filtered by what is given (``since`` and
        ``until`` bound the time of recording, both inclusive)."""
        c = t.incidents.c
        query = select(t.incidents)
        for column, value in ((c.municipality_code, municipality_code), (c.status, status),
                              (c.kind, kind), (c.order_id, order_id)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(c.created_at >= since.timestamp())
        if until is not None:
            query = query.where(c.created_at <= until.timestamp())
        query = query.order_by(c.created_at, c.incident_id)
        if limit is not None:
            query = query.limit(limit)
        return [_incident(row) for row in await self._all(query)]

    async def move(self, incident_id: str, current: str, new: str, note: str | None,
                   now: datetime) -> bool:
        """A conditional write: move the incident from ``current`` to ``new``
        (stamping when), keeping its note unless a new one is given. False if
        its status is no longer ``current`` (another update came first)."""
        c = t.incidents.c
        values: dict[Any, Any] = {c.status: new, _STAMPS[new]: now.timestamp(),
                                  c.updated_at: now.timestamp()}
        if note is not None:
            values[c.note] = note
        result = await self._run(update(t.incidents).where(
            c.incident_id == incident_id, c.status == current).values(values))
        return result.rowcount == 1

    # -- voids of certificates ------------------------------------------------------
    async def certificates_by_number(self, municipality_code: str,
                                     certificate_number: str) -> list[CertificateState]:
        c = t.certificates.c
        rows = await self._all(select(c.certificate_id, c.order_id, c.certificate_number,
                                      c.status).where(
            c.municipality_code == municipality_code,
            c.certificate_number == certificate_number))
        return [CertificateState(r["certificate_id"], r["order_id"], r["certificate_number"],
                                 r["status"]) for r in rows]

    async def void_certificates(self, certificate_ids: list[str],
                                void_reason: str) -> list[CertificateState]:
        """Void those of the certificates that are not void yet, in one
        transaction, each a conditional write (``UPDATE … WHERE status != 'void'
        RETURNING``): two voids racing cannot both report one certificate."""
        c = t.certificates.c
        voided = []
        async with self._write() as connection:
            for certificate_id in certificate_ids:
                row = (await connection.execute(update(t.certificates).where(
                    c.certificate_id == certificate_id, c.status != VOID)
                    .values(status=VOID, void_reason=void_reason)
                    .returning(c.order_id, c.certificate_number))).mappings().first()
                if row is not None:
                    voided.append(CertificateState(certificate_id, row["order_id"],
                                                   row["certificate_number"], VOID))
        return voided
