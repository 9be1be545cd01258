"""The outbox of outcomes owed to municipal servers (center/reconciliation.py)
on the center's database (SQLAlchemy Core, either engine).

A row is claimed for sending by a conditional write on the next attempt's time
it was read with, so several center workers never send one row at once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import aliased

from konbini.db import Repository

from . import tables as t

INTENT = "intent"

# The statements of every order and settlement, built once with bind parameters
# (issue 12); executed with values.
_ADD = t.outcome_outbox.insert()
_ob = t.outcome_outbox.c
_DROP_INTENT = t.outcome_outbox.delete().where(
    _ob.request_id == bindparam("request"), _ob.kind == INTENT, _ob.delivered_at.is_(None))
_CERTIFICATE_STATES = (
    select(t.certificates.c.certificate_number, t.certificates.c.status,
           t.certificates.c.void_reason)
    .where(t.certificates.c.order_id == bindparam("order"))
    .order_by(t.certificates.c.certificate_number))
# The delivery that follows each settlement (deliver_soon) and the upkeep's rounds.
_earlier = aliased(t.outcome_outbox)
_DUE = (select(t.outcome_outbox, t.municipalities.c.endpoint)
        .select_from(t.outcome_outbox.outerjoin(
            t.municipalities, t.municipalities.c.code == _ob.municipality_code))
        .where(_ob.delivered_at.is_(None), _ob.next_attempt_at <= bindparam("now"),
               ~exists().where(_earlier.c.request_id == _ob.request_id,
                               _earlier.c.delivered_at.is_(None),
                               _earlier.c.id < _ob.id)))
_DUE_ALL = _DUE.order_by(_ob.id).limit(bindparam("limit"))
_DUE_OF_REQUEST = (_DUE.where(_ob.request_id == bindparam("request"))
                   .order_by(_ob.id).limit(bindparam("limit")))
_CLAIM = update(t.outcome_outbox).where(
    _ob.id == bindparam("row"), _ob.next_attempt_at == bindparam("seen"),
    _ob.delivered_at.is_(None)).values(next_attempt_at=bindparam("b_retry_at"),
                                       attempts=_ob.attempts + 1)
_ACKNOWLEDGE = update(t.outcome_outbox).where(_ob.id == bindparam("row")).values(
    delivered_at=bindparam("now"), result=bindparam("b_result"))


@dataclass(frozen=True)
class OwedOutcome:
    """One row of the outbox that is due, with where to send it."""

    id: int
    request_id: str
    municipality_code: str
    kind: str
    body: dict[str, Any]
    attempts: int
    # As stored (epoch seconds, not rounded to a datetime): the claim compares it.
    next_attempt_at: float
    endpoint: str | None  # None: the municipality is no longer registered


class OutboxStore(Repository):
    """The ``outcome_outbox`` table."""

    async def add(self, *, request_id: str, municipality_code: str, kind: str,
                  body: dict[str, Any], now: datetime, due: datetime) -> None:
        await self._run(_ADD, dict(
            request_id=request_id, municipality_code=municipality_code, kind=kind,
            body=json.dumps(body), created_at=now.timestamp(),
            next_attempt_at=due.timestamp()))

    async def drop_intent(self, request_id: str) -> None:
        """The request's intent, unless already sent, is gone."""
        await self._run(_DROP_INTENT, {"request": request_id})

    async def replace_intent(self, request_id: str, body: dict[str, Any],
                             now: datetime) -> None:
        """The request's unsent intent says ``body`` instead, due ``now``."""
        o = t.outcome_outbox.c
        await self._run(update(t.outcome_outbox).where(
            o.request_id == request_id, o.kind == INTENT, o.delivered_at.is_(None))
            .values(body=json.dumps(body), next_attempt_at=now.timestamp()))

    async def pending(self) -> int:
        """Rows not yet acknowledged."""
        return int(await self._scalar(select(func.count()).select_from(t.outcome_outbox)
                                      .where(t.outcome_outbox.c.delivered_at.is_(None))) or 0)

    async def due(self, now: datetime, limit: int,
                  request_id: str | None = None) -> list[OwedOutcome]:
        """Unsent rows due by ``now`` (only ``request_id``'s if given), oldest
        first, each only when no earlier row of its request is still unsent:
        one request's reports go in the order they were written."""
        rows = await (
            self._all(_DUE_ALL, {"now": now.timestamp(), "limit": limit})
            if request_id is None else
            self._all(_DUE_OF_REQUEST, {"now": now.timestamp(), "limit": limit,
                                        "request": request_id}))
        return [OwedOutcome(r["id"], r["request_id"], r["municipality_code"], r["kind"],
                            json.loads(r["body"]), r["attempts"], r["next_attempt_at"],
                            r["endpoint"]) for r in rows]

    async def claim(self, owed: OwedOutcome, retry_at: datetime) -> bool:
        """Take the row for one sending attempt by moving its next attempt to
        ``retry_at``: False if another worker moved it (or it was sent) since
        it was read."""
        result = await self._run(_CLAIM, {"row": owed.id, "seen": owed.next_attempt_at,
                                          "b_retry_at": retry_at.timestamp()})
        return result.rowcount == 1

    async def acknowledge(self, owed: OwedOutcome, result: int, now: datetime) -> None:
        """Done with the row: acknowledged (or given up on) with HTTP ``result``."""
        await self._run(_ACKNOWLEDGE, {"row": owed.id, "now": now.timestamp(),
                                       "b_result": result})

    async def certificate_states(self, order_id: str) -> list[tuple[str, str, str | None]]:
        """(number, status, void reason) of an order's certificates, by number:
        what its outcome reports after settlement."""
        rows = await self._all(_CERTIFICATE_STATES, {"order": order_id})
        return [(r["certificate_number"], r["status"], r["void_reason"]) for r in rows]
