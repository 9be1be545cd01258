"""``Idempotency-Key`` on ``POST /v1/sessions/{id}/orders``: a kiosk that
lost the answer resends the order with the same key and gets the same
order, never a second one — whichever worker receives the resend.

The key is claimed before the order is made, with one conditional insert
into ``order_keys`` whose primary key is (terminal, key): the unique
constraint, not a lock in memory, decides who makes the order. The answer
(order and certificate ids, digests, fees; no personal data) is recorded
with the claim; a resend replays it. A resend that arrives while the first
is still being made waits for it; a claim left by a worker that died is
taken over once stale. A refusal releases the key, so the kiosk may try
again. Keys are kept for 24 hours. The same key with another body (or
another session) is 409 ``conflict``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from konbini.db import is_unavailable
from konbini.http import json_response, peer
from konbini.problems import Problem, invalid_request
from konbini.workers import holder_gone, holder_id

from .context import context
from .storage import CenterStore
from .storage.shared_state import SharedState

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
# An order takes at most the municipal timeout (15 s) and the finishing: a
# claim without an answer after this long belongs to a worker that died.
STALE_SECONDS = 60.0
WAIT_SECONDS = 60.0
HOLDER = holder_id()
ORDER_ID = "konbini.order_id"  # request key: the order id claimed with the key
# Request keys: the claim whose answer the order's own unit of work records, and
# whether it did (record_answer).
ANSWER_TO = "konbini.order_key_claim"
ANSWERED = "konbini.order_key_answered"

Handler = Callable[[web.Request], Awaitable[web.Response]]


async def idempotent_order(request: web.Request, handler: Handler) -> web.Response:
    key = request.headers.get(HEADER)
    if key is None:
        return await handler(request)
    if not KEY_PATTERN.match(key):
        raise invalid_request([{"field": HEADER,
                                "message": "1-128 printable ASCII characters"}])
    shared = context(request).store.shared
    terminal = peer(request).terminal_id
    digest = hashlib.sha256(request.match_info["session_id"].encode() + b"\0"
                            + await request.read()).hexdigest()
    deadline = time.monotonic() + WAIT_SECONDS
    delay = 0.05
    while True:
        now = time.time()
        order_id = uuid.uuid4().hex
        if await shared.claim_order_key(terminal, key, digest, order_id, HOLDER, now):
            # A new order id: no order can exist under it yet.
            return await _make(request, handler, terminal, key, order_id, fresh=True)
        claim = await shared.order_key(terminal, key)
        if claim is None:
            continue  # released by a refusal in between: claim it again
        if claim.request_sha256 != digest:
            raise Problem("conflict", "this Idempotency-Key was used for another order")
        if claim.status is not None and claim.response is not None:
            return web.Response(status=claim.status, text=claim.response,
                                content_type="application/json",
                                headers={"Idempotent-Replayed": "true"})
        # Made, but its answer never recorded (the database went away between the
        # order's commit and the answer's): the order itself is the answer.
        made = await _existing_order(request, claim.order_id)
        if made is not None:
            return _replayed(made)
        gone = claim.claimed_at < now - STALE_SECONDS or holder_gone(claim.claimed_by)
        if gone and await shared.take_over_order_key(
                terminal, key, claim, HOLDER, now):
            # Its worker may have made the order and died before answering: the
            # same order id finds it (and the municipal request_id is the same).
            return await _make(request, handler, terminal, key, claim.order_id)
        if time.monotonic() > deadline:
            raise Problem("conflict", "an order with this Idempotency-Key is still being made")
        await asyncio.sleep(delay)  # the first request is being answered: wait for it
        delay = min(delay * 2, 0.5)


def preassigned_order_id(request: web.Request) -> str | None:
    """The order id the Idempotency-Key's claim holds, if the order has a key."""
    return request.get(ORDER_ID)  # type: ignore[no-any-return]


async def record_answer(store: CenterStore, request: web.Request,
                        response: web.Response) -> None:
    """Record the answer of an order with a key in ``store``, the unit of work
    that records the order: the order and the answer a resend replays commit
    together, in one transaction instead of two (issue 12)."""
    claim = request.get(ANSWER_TO)
    if claim is None:
        return
    assert response.text is not None
    terminal, key = claim
    await store.shared.answer_order_key(terminal, key, HOLDER, response.status, response.text)
    request[ANSWERED] = True


async def _make(request: web.Request, handler: Handler, terminal: str, key: str,
                order_id: str, *, fresh: bool = False) -> web.Response:
    ctx = context(request)
    shared = ctx.store.shared
    try:
        response = None if fresh else await _existing_order(request, order_id)
        if response is None:
            request[ORDER_ID] = order_id
            request[ANSWER_TO] = (terminal, key)
            try:
                response = await handler(request)
            except (sqlite3.IntegrityError, IntegrityError):  # made meanwhile by the first
                response = await _existing_order(request, order_id)
                if response is None:
                    raise
    except BaseException:
        # No order was made (a refusal, or the database went away): free the key.
        # The release keeps it if the order was made after all.
        try:
            await shared.release_order_key(terminal, key, HOLDER)
        except Exception as failed:
            if not is_unavailable(failed):
                raise
            # The database is away (a restart): the claim would keep the kiosk's
            # resend waiting for a minute. Release it once the database is back.
            _release_soon(shared, terminal, key)
        raise
    assert response.text is not None
    json.loads(response.text)  # only a JSON answer is replayed
    if not request.get(ANSWERED):  # made meanwhile by the first, or an older order
        await shared.answer_order_key(terminal, key, HOLDER, response.status, response.text)
    return response


def _replayed(response: web.Response) -> web.Response:
    response.headers["Idempotent-Replayed"] = "true"
    return response


_releasing: set[asyncio.Task[None]] = set()  # references only, so a task is not collected


def _release_soon(shared: SharedState, terminal: str, key: str) -> None:
    """Release the claim when the database answers again (a few seconds after
    a restart), trying for as long as the claim could be pending anyway."""
    async def release() -> None:
        deadline = time.monotonic() + STALE_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            try:
                await shared.release_order_key(terminal, key, HOLDER)
                log.info("an Idempotency-Key claim released once the database answered")
                return
            except Exception as exc:
                if not is_unavailable(exc):
                    log.warning("releasing an Idempotency-Key failed: %s", type(exc).__name__)
                    return

    task = asyncio.get_running_loop().create_task(release())
    _releasing.add(task)
    task.add_done_callback(_releasing.discard)


async def _existing_order(request: web.Request, order_id: str) -> web.Response | None:
    """The answer of an order already made under this key, from the database."""
    store = context(request).store
    order = await store.order(order_id)
    if order is None or order.terminal_id != peer(request).terminal_id:
        return None
    certificates = await store.order_certificates(order_id)
    return json_response({
        "order_id": order_id, "type": order.type, "copies": order.copies,
        "fee_yen": order.fee_yen,
        "certificates": [{
            "certificate_id": c.certificate_id, "certificate_number": c.certificate_number,
            "pdf_url": f"/v1/orders/{order_id}/certificates/{c.certificate_id}.pdf",
            "sha256": c.sha256} for c in certificates]}, status=201)
