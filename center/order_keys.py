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
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from konbini.http import peer
from konbini.problems import Problem, invalid_request
from konbini.workers import holder_gone, holder_id

from .context import context

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
# An order takes at most the municipal timeout (15 s) and the finishing: a
# claim without an answer after this long belongs to a worker that died.
STALE_SECONDS = 60.0
WAIT_SECONDS = 60.0
HOLDER = holder_id()

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
        if await shared.claim_order_key(terminal, key, digest, HOLDER, now):
            return await _make(request, handler, terminal, key)
        claim = await shared.order_key(terminal, key)
        if claim is None:
            continue  # released by a refusal in between: claim it again
        if claim.request_sha256 != digest:
            raise Problem("conflict", "this Idempotency-Key was used for another order")
        if claim.status is not None and claim.response is not None:
            return web.Response(status=claim.status, text=claim.response,
                                content_type="application/json",
                                headers={"Idempotent-Replayed": "true"})
        gone = claim.claimed_at < now - STALE_SECONDS or holder_gone(claim.claimed_by)
        if gone and await shared.take_over_order_key(
                terminal, key, claim, HOLDER, now):
            return await _make(request, handler, terminal, key)
        if time.monotonic() > deadline:
            raise Problem("conflict", "an order with this Idempotency-Key is still being made")
        await asyncio.sleep(delay)  # the first request is being answered: wait for it
        delay = min(delay * 2, 0.5)


async def _make(request: web.Request, handler: Handler, terminal: str,
                key: str) -> web.Response:
    shared = context(request).store.shared
    try:
        response = await handler(request)
    except BaseException:
        await shared.release_order_key(terminal, key, HOLDER)
        raise
    assert response.text is not None
    json.loads(response.text)  # only a JSON answer is replayed
    await shared.answer_order_key(terminal, key, HOLDER, response.status, response.text)
    return response
