"""Reconciliation of the municipal 交付履歴 (issuance history) with what
kiosks actually handed out.

A municipal server records an issuance the moment it renders the PDF; only
the center knows whether the paper came out. The center therefore owes each
municipality the outcome of every request (``delivered`` = printed,
``failed``, ``voided``). Each owed outcome is a row of ``outcome_outbox``,
written in the center's database before anything is sent, and sent until
the municipal server acknowledges it: a crash of the center, or a municipal
server that is down, loses nothing.

An intent row is written before the center asks a municipal server for
certificates; it is removed once the order is recorded. If the center dies
in between (the PDFs rendered, nobody received them), the upkeep finds the
intent after its grace period and tells the municipality ``failed``."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import aiohttp

from konbini.wire import REQUEST_ID_HEADER

from .storage import CenterStore, ts

log = logging.getLogger(__name__)

# Attempts are spaced 5 s, 10 s, 20 s … up to an hour apart.
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(hours=1)
# A municipal server that does not know the request (it never issued it) is
# asked again a few times: after an upstream timeout it may still be working.
UNKNOWN_REQUEST_ATTEMPTS = 8
# An intent older than the municipal timeout and this margin is a crash.
INTENT_GRACE = timedelta(seconds=60)
SEND_TIMEOUT = aiohttp.ClientTimeout(total=5)
BATCH = 50


class Outcome(StrEnum):
    DELIVERED = "delivered"  # printed and handed to the resident
    FAILED = "failed"  # never printed: the print failed, or the order never completed
    VOIDED = "voided"  # void: never reported, reported wrong by the store, or by the municipality


@dataclass(frozen=True)
class CertificateOutcome:
    certificate_number: str
    outcome: Outcome
    reason: str = ""

    def to_wire(self) -> dict[str, str]:
        body = {"certificate_number": self.certificate_number, "outcome": self.outcome.value}
        if self.reason:
            body["reason"] = self.reason
        return body


def outcome_body(outcome: Outcome, reason: str,
                 certificates: Iterable[CertificateOutcome] = ()) -> dict[str, Any]:
    """The body of ``POST /v1/certificates/{request_id}/outcome`` (pure). Without
    ``certificates`` the outcome is the whole request's (every copy)."""
    body: dict[str, Any] = {"outcome": outcome.value}
    if reason:
        body["reason"] = reason[:100]
    listed = [c.to_wire() for c in certificates]
    if listed:
        body["certificates"] = listed
    return body


def settlement_outcomes(certificates: Iterable[tuple[str, str, str | None]],
                        unprinted: Outcome = Outcome.FAILED) -> list[CertificateOutcome]:
    """From the center's certificates after settlement (number, status,
    void reason): printed ones delivered, the rest ``unprinted`` (pure)."""
    return [CertificateOutcome(number, Outcome.DELIVERED) if status == "printed"
            else CertificateOutcome(number, unprinted, reason or "")
            for number, status, reason in certificates]


def next_attempt(attempts: int, now: datetime) -> datetime:
    """Exponential back-off after ``attempts`` failed sends (pure)."""
    delay = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 12))
    return now + min(delay, LONGEST_RETRY)


# -- storage --------------------------------------------------------------------


async def owe_outcome(store: CenterStore, *, request_id: str, municipality_code: str,
                      body: dict[str, Any], now: datetime, due: datetime | None = None,
                      kind: str = "outcome") -> None:
    """Write an owed outcome (or, with ``kind="intent"``, the outcome that
    stands if the order never completes) into the outbox."""
    async with store.writing() as db:
        await db.execute(
            "INSERT INTO outcome_outbox (request_id, municipality_code, kind, body, "
            "created_at, next_attempt_at) VALUES (?,?,?,?,?,?)",
            (request_id, municipality_code, kind, json.dumps(body), ts(now), ts(due or now)))


async def intend(store: CenterStore, *, request_id: str, municipality_code: str,
                 now: datetime, grace: timedelta) -> None:
    """Before asking for certificates: if nothing follows, the request failed."""
    await owe_outcome(store, request_id=request_id, municipality_code=municipality_code,
                      body=outcome_body(Outcome.FAILED, "center-interrupted"), now=now,
                      due=now + grace, kind="intent")


async def drop_intent(store: CenterStore, request_id: str) -> None:
    """The order was recorded: its outcome will come from the print result."""
    async with store.writing() as db:
        await db.execute(*drop_intent_statement(request_id))


def drop_intent_statement(request_id: str) -> tuple[str, tuple[Any, ...]]:
    """:func:`drop_intent` as a statement, to run in the order's own transaction
    (one durable commit, not two, each holding the write lock for an fsync)."""
    return ("DELETE FROM outcome_outbox WHERE request_id=? AND kind='intent' "
            "AND delivered_at IS NULL", (request_id,))


async def fail_intent(store: CenterStore, request_id: str, reason: str, now: datetime) -> None:
    """The request failed on the way (upstream error or timeout): say so now."""
    async with store.writing() as db:
        await db.execute(
            "UPDATE outcome_outbox SET body=?, next_attempt_at=? "
            "WHERE request_id=? AND kind='intent' AND delivered_at IS NULL",
            (json.dumps(outcome_body(Outcome.FAILED, reason)), ts(now), request_id))


async def owe_settlement(store: CenterStore, order_id: str, municipality_code: str,
                         now: datetime, unprinted: Outcome = Outcome.FAILED) -> None:
    """After the print result (or the void, ``unprinted=VOIDED``): each copy's outcome."""
    rows = await store.fetch(
        "SELECT certificate_number, status, void_reason FROM certificates WHERE order_id=? "
        "ORDER BY certificate_number", (order_id,))
    certificates = settlement_outcomes(
        ((r["certificate_number"], r["status"], r["void_reason"]) for r in rows), unprinted)
    if not certificates:
        return
    delivered = [c for c in certificates if c.outcome is Outcome.DELIVERED]
    overall = Outcome.DELIVERED if delivered else unprinted
    await owe_outcome(store, request_id=order_id, municipality_code=municipality_code,
                      body=outcome_body(overall, "", certificates), now=now)


async def owe_void(store: CenterStore, order_id: str, municipality_code: str,
                   numbers: Iterable[str], reason: str, now: datetime) -> None:
    certificates = [CertificateOutcome(n, Outcome.VOIDED, reason) for n in numbers]
    if certificates:
        await owe_outcome(store, request_id=order_id, municipality_code=municipality_code,
                          body=outcome_body(Outcome.VOIDED, reason, certificates), now=now)


async def pending(store: CenterStore) -> int:
    rows = await store.fetch("SELECT COUNT(*) AS n FROM outcome_outbox "
                             "WHERE delivered_at IS NULL")
    return int(rows[0]["n"])


# -- delivery -------------------------------------------------------------------


async def deliver_due(store: CenterStore, session: aiohttp.ClientSession, now: datetime,
                      *, request_id: str | None = None) -> int:
    """Send every outcome that is due (or only ``request_id``'s); return how
    many the municipal servers acknowledged. Each row is claimed by moving
    its next attempt first, so several center processes never send one twice
    at once (and a duplicate would be harmless: the endpoint is idempotent)."""
    # One request's reports go in the order they were written: a later "voided"
    # must never be overtaken by an earlier "delivered" that was being retried.
    query = ("SELECT o.*, m.endpoint FROM outcome_outbox o LEFT JOIN municipalities m "
             "ON m.code = o.municipality_code WHERE o.delivered_at IS NULL "
             "AND o.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM outcome_outbox p "
             "WHERE p.request_id = o.request_id AND p.delivered_at IS NULL AND p.id < o.id)")
    params: list[Any] = [ts(now)]
    if request_id is not None:
        query += " AND o.request_id = ?"
        params.append(request_id)
    rows = await store.fetch(query + " ORDER BY o.id LIMIT ?", [*params, BATCH])
    acknowledged = 0
    for row in rows:
        retry_at = next_attempt(row["attempts"] + 1, now)
        # Neither the claim nor the acknowledgement must survive a power cut: at
        # worst the outcome is sent again, and the endpoint is idempotent.
        async with store.writing(durable=False) as db:
            cur = await db.execute(
                "UPDATE outcome_outbox SET next_attempt_at=?, attempts=attempts+1 "
                "WHERE id=? AND next_attempt_at=? AND delivered_at IS NULL",
                (ts(retry_at), row["id"], row["next_attempt_at"]))
            claimed = cur.rowcount == 1
        if not claimed or row["endpoint"] is None:
            continue  # another process has it, or the municipality withdrew: keep it
        status = await _send(session, row["endpoint"], row["request_id"],
                             json.loads(row["body"]))
        done = status == 200 or (status == 404
                                 and row["attempts"] + 1 >= UNKNOWN_REQUEST_ATTEMPTS)
        if done:
            async with store.writing(durable=False) as db:
                await db.execute("UPDATE outcome_outbox SET delivered_at=?, result=? "
                                 "WHERE id=?", (ts(now), status, row["id"]))
            acknowledged += status == 200
    return acknowledged


async def _send(session: aiohttp.ClientSession, endpoint: str, request_id: str,
                body: dict[str, Any]) -> int | None:
    url = f"{endpoint.rstrip('/')}/v1/certificates/{request_id}/outcome"
    try:
        async with session.post(url, json=body, timeout=SEND_TIMEOUT,
                                headers={REQUEST_ID_HEADER: request_id}) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError, ssl.SSLError) as exc:
        log.info("outcome of a request not delivered yet: %s", type(exc).__name__)
        return None


def deliver_soon(store: CenterStore, session: aiohttp.ClientSession, now: datetime,
                 request_id: str) -> None:
    """Try to send one request's outcome now, without making the kiosk wait;
    whatever is not acknowledged stays in the outbox for the upkeep."""
    task = asyncio.get_running_loop().create_task(
        deliver_due(store, session, now, request_id=request_id))
    _in_flight.add(task)
    task.add_done_callback(_finished)


# Only references that keep the fire-and-forget tasks alive; the state is in the outbox.
_in_flight: set[asyncio.Task[int]] = set()


def _finished(task: asyncio.Task[int]) -> None:
    _in_flight.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("sending an outcome failed: %r", task.exception())
