"""Incidents (事故・障害の記録), minimal interface (issue 14, items 1-3).

The ``incidents`` helper's module (records, the municipalities' API, escalation)
replaces this file; the name, signature and table are theirs, so callers such as
the subject check do not change. Identifiers and machine codes only: never a
name, an address or a resident code."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum

from .storage import CenterStore, ts

_DETAIL_CODE = re.compile(r"[^a-z0-9._-]+")
_TABLE = """CREATE TABLE IF NOT EXISTS incidents (
    incident_id TEXT PRIMARY KEY, kind TEXT NOT NULL, municipality_code TEXT NOT NULL,
    status TEXT NOT NULL, order_id TEXT, certificate_id TEXT, request_id TEXT,
    terminal_id TEXT, detail_code TEXT, note TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL, acknowledged_at REAL, resolved_at REAL, updated_at REAL NOT NULL)"""


class IncidentKind(StrEnum):
    SUBJECT_MISMATCH = "subject-mismatch"  # the certificate is another person's
    FOREIGN_PAGE = "foreign-page"  # a page of another certificate (the Tokushima case)
    UPSTREAM_ERROR = "upstream-error"  # the municipal server's answer was unusable


def clean_detail_code(value: str | None) -> str | None:
    """A machine code only: lower-case, ``[a-z0-9._-]``, at most 64 characters."""
    if value is None:
        return None
    cleaned = _DETAIL_CODE.sub("-", value.strip().lower()).strip("-")[:64]
    return cleaned or None


async def record_incident(store: CenterStore, *, kind: IncidentKind, municipality_code: str,
                          now: datetime, order_id: str | None = None,
                          certificate_id: str | None = None, request_id: str | None = None,
                          terminal_id: str | None = None,
                          detail_code: str | None = None) -> str:
    """Record one incident (status ``open``) and return its id."""
    incident_id = uuid.uuid4().hex
    # The stand-in reaches into the store until the incidents module brings its own access.
    async with store._write_lock:
        db = store._db
        await db.execute(_TABLE)
        await db.execute(
            "INSERT INTO incidents (incident_id, kind, municipality_code, status, order_id, "
            "certificate_id, request_id, terminal_id, detail_code, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (incident_id, IncidentKind(kind).value, municipality_code, "open", order_id,
             certificate_id, request_id, terminal_id, clean_detail_code(detail_code),
             ts(now), ts(now)))
        await db.commit()
    return incident_id
