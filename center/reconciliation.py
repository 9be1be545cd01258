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
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import aiohttp

from konbini.wire import REQUEST_ID_HEADER

from .model import orders as order_model
from .storage import CenterStore
from .storage.outbox import INTENT

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


def settled_states(certificates: Iterable[tuple[str, str, int]], printed: set[str],
                   failed: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """(number, status, void reason) of an order's certificates after the
    kiosk's result settled them, from (certificate id, number, fee) in the
    order of their numbers (pure): what ``certificate_states`` reads back from
    the database after the settlement, without reading it (issue 12)."""
    certificates = list(certificates)
    settlement = order_model.settle(
        [order_model.Copy(cid, fee) for cid, _, fee in certificates], printed, failed)
    return [(number, copy.status.value, copy.void_reason)
            for (_, number, _), copy in zip(certificates, settlement.copies, strict=True)]


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
    await store.outbox.add(request_id=request_id, municipality_code=municipality_code,
                           kind=kind, body=body, now=now, due=due or now)


async def intend(store: CenterStore, *, request_id: str, municipality_code: str,
                 now: datetime, grace: timedelta) -> None:
    """Before asking for certificates: if nothing follows, the request failed."""
    await owe_outcome(store, request_id=request_id, municipality_code=municipality_code,
                      body=outcome_body(Outcome.FAILED, "center-interrupted"), now=now,
                      due=now + grace, kind=INTENT)


async def drop_intent(store: CenterStore, request_id: str) -> None:
    """The order was recorded: its outcome will come from the print result.
    Given the order's unit of work, it commits with the order (one durable
    commit, not two, each holding the write lock for an fsync)."""
    await store.outbox.drop_intent(request_id)


async def fail_intent(store: CenterStore, request_id: str, reason: str, now: datetime) -> None:
    """The request failed on the way (upstream error or timeout): say so now."""
    await store.outbox.replace_intent(request_id, outcome_body(Outcome.FAILED, reason), now)


async def owe_settlement(store: CenterStore, order_id: str, municipality_code: str,
                         now: datetime, unprinted: Outcome = Outcome.FAILED,
                         states: Iterable[tuple[str, str, str | None]] | None = None) -> None:
    """After the print result (or the void, ``unprinted=VOIDED``): each copy's
    outcome. ``states``: the certificates as the settlement in this unit of work
    left them (:func:`settled_states`), else read from the database."""
    if states is None:
        states = await store.outbox.certificate_states(order_id)
    certificates = settlement_outcomes(states, unprinted)
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
    return await store.outbox.pending()


# -- delivery -------------------------------------------------------------------


async def deliver_due(store: CenterStore, session: aiohttp.ClientSession, now: datetime,
                      *, request_id: str | None = None) -> int:
    """Send every outcome that is due (or only ``request_id``'s); return how
    many the municipal servers acknowledged. Each row is claimed by moving
    its next attempt first, so several center processes never send one twice
    at once (and a duplicate would be harmless: the endpoint is idempotent)."""
    # One request's reports go in the order they were written: a later "voided"
    # must never be overtaken by an earlier "delivered" that was being retried.
    acknowledged = 0
    for owed in await store.outbox.due(now, BATCH, request_id):
        # Neither the claim nor the acknowledgement must survive a power cut: at
        # worst the outcome is sent again, and the endpoint is idempotent.
        claimed = await store.outbox.claim(owed, next_attempt(owed.attempts + 1, now))
        if not claimed or owed.endpoint is None:
            continue  # another process has it, or the municipality withdrew: keep it
        status = await _send(session, owed.endpoint, owed.request_id, owed.body)
        done = status == 200 or (status == 404
                                 and owed.attempts + 1 >= UNKNOWN_REQUEST_ATTEMPTS)
        if done:
            assert status is not None
            await store.outbox.acknowledge(owed, status, now)
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
