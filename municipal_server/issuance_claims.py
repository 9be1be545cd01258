"""The center's ``request_id`` is issued once, whichever worker receives it.

A request claims its id with one conditional insert (the primary key is
the guard, not a lock in memory). The winner renders and records; a retry
that races it (on this worker or another) waits for the answer in the
database and returns the very same certificates. The answer, PDFs
included, is kept only for ``RESULT_RETENTION_SECONDS`` (a retry of the
center's call comes within its 15-second timeout); after that the claim
keeps the request's digest only, and the 交付履歴 keeps who, what, when, the
numbers and each PDF's digest (never the PDF). A refusal releases the
claim: a retry is judged afresh on the live register. The table is in
municipal_server/storage/tables.py; the statements are portable SQL."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from konbini.db import Database, Repository, SqlConnection
from konbini.problems import Problem
from konbini.workers import holder_gone, holder_id

RESULT_RETENTION_SECONDS = 60.0
# A claim with no answer after this long belongs to a worker that died.
STALE_CLAIM_SECONDS = 60.0
WAIT_SECONDS = 30.0
TRUNCATE_SECONDS = 10.0

log = logging.getLogger(__name__)


def request_digest(request: dict[str, Any]) -> str:
    """What makes two requests the same request (the instant and kiosk may differ)."""
    essence = {k: request.get(k) for k in ("resident_code", "type", "copies", "options",
                                          "basis")}
    return hashlib.sha256(json.dumps(essence, sort_keys=True).encode()).hexdigest()


def without_pdfs(response: dict[str, Any]) -> dict[str, Any]:
    """The answer as the 交付履歴 keeps it: numbers, digests and fees."""
    return {**response, "certificates": [
        {k: v for k, v in c.items() if k != "pdf"} for c in response["certificates"]]}


# The statements of every issuance, as SQLAlchemy text built once (the ``?`` form
# is rewritten and rebuilt on each call; issue 12). The same text on both engines.
_CLAIM = text("INSERT INTO issuance_claims (request_id, request_sha256, claimed_by, "
              "claimed_at) VALUES (:request, :digest, :holder, :now) ON CONFLICT DO NOTHING")
_CLAIMED = text("SELECT * FROM issuance_claims WHERE request_id = :request")
_ISSUED = text("SELECT 1 FROM issuance_history WHERE request_id = :request")
_ANSWER = text("UPDATE issuance_claims SET response = :response, keep_until = :keep_until "
               "WHERE request_id = :request")
_FORGET = text("UPDATE issuance_claims SET response = NULL WHERE response IS NOT NULL "
                     "AND keep_until <= :now")


@dataclass(frozen=True)
class Answer:
    """What an issuance answers, and the record written in the same transaction as
    the answer kept for retries (the 交付履歴: issued once, or not at all)."""

    response: dict[str, Any]
    record: Callable[[AsyncConnection], Awaitable[None]] | None = None


class IssuanceClaims(Repository):
    def __init__(self, database: Database, connection: Any = None) -> None:
        super().__init__(database, connection)
        self.holder = holder_id()
        self._truncated_at = 0.0
        self._scrub_pending = False  # forgotten answers whose pages are still on disk

    async def _write_sql(self, sql: str, args: tuple[Any, ...]) -> int:
        async with self.writing() as db:
            cur = await db.execute(sql, args)
        return int(cur.rowcount)

    async def _claim(self, request_id: str, digest: str, now: float,
                     prepare: Callable[[AsyncConnection], Awaitable[Any]] | None = None,
                     ) -> tuple[bool, Mapping[str, Any] | None, bool, Any]:
        """(won, the claim of another when not, issued before, what ``prepare``
        returned) in one transaction: the conditional insert, then either the
        other's claim or whether the 交付履歴 already has this request, then
        ``prepare`` (issue 12: three transactions and more before). An error of
        ``prepare`` (a refusal) rolls the claim back with its own writes."""
        prepared = None
        async with self.writing() as db:
            connection = db.connection
            won = (await connection.execute(_CLAIM, {
                "request": request_id, "digest": digest, "holder": self.holder,
                "now": now})).rowcount == 1
            row = None
            if not won:
                row = (await connection.execute(_CLAIMED, {"request": request_id})
                       ).mappings().first()
                if row is not None and row["response"] is None and (
                        row["claimed_at"] < now - STALE_CLAIM_SECONDS
                        or holder_gone(row["claimed_by"])):
                    won = (await db.execute(  # its worker died mid-way: take it over
                        "UPDATE issuance_claims SET claimed_by = ?, claimed_at = ? "
                        "WHERE request_id = ? AND claimed_by = ? AND response IS NULL",
                        (self.holder, now, request_id, row["claimed_by"]))).rowcount == 1
            issued = won and await self._issued_before(db, request_id)
            if won and not issued and prepare is not None:
                prepared = await prepare(db.connection)
        return won, row, issued, prepared

    async def _issued_before(self, db: SqlConnection, request_id: str) -> bool:
        if (await db.connection.execute(_ISSUED, {"request": request_id})).first() is None:
            return False
        # Issued, and its claim lost since: PostgreSQL empties the unlogged
        # claims after a crash of its own (m0006). Never issued twice.
        await db.execute(
            "UPDATE issuance_claims SET keep_until = ? WHERE request_id = ? AND "
            "claimed_by = ? AND response IS NULL", (time.time(), request_id, self.holder))
        return True

    async def issue_once(self, request: dict[str, Any],
                         issue: Callable[..., Awaitable[dict[str, Any] | Answer]], *,
                         prepare: Callable[[AsyncConnection], Awaitable[Any]] | None = None,
                         ) -> dict[str, Any]:
        """``issue()`` at most once per ``request_id`` across every worker. It
        answers the response, or an :class:`Answer` whose ``record`` is written
        in the transaction that keeps the response. With ``prepare``, that runs
        in the claim's transaction once the claim is won, and ``issue(prepared)``
        gets what it returned."""
        request_id, digest = request["request_id"], request_digest(request)
        deadline = time.monotonic() + WAIT_SECONDS
        delay = 0.02
        while True:
            won, row, issued, prepared = await self._claim(request_id, digest, time.time(),
                                                           prepare)
            if issued:
                raise Problem("conflict", "this request_id was issued and delivered; "
                                          "its certificates are no longer held")
            if won:
                return await self._issue_claimed(
                    request_id, issue if prepare is None else functools.partial(issue, prepared))
            if row is None:
                continue  # released by a refusal between our two statements: claim again
            if row["request_sha256"] != digest:
                raise Problem("conflict", "this request_id was used for another request")
            if row["response"] is not None:
                return json.loads(row["response"])
            if row["keep_until"] is not None:
                raise Problem("conflict", "this request_id was issued and delivered; "
                                          "its certificates are no longer held")
            if time.monotonic() > deadline:
                raise Problem("conflict", "this request_id is still being issued")
            await asyncio.sleep(delay)  # the first request is rendering: wait for it
            delay = min(delay * 2, 0.25)

    async def _issue_claimed(self, request_id: str,
                             issue: Callable[[], Awaitable[dict[str, Any] | Answer]]
                             ) -> dict[str, Any]:
        try:
            answer = await issue()
        except BaseException:
            await self._write_sql("DELETE FROM issuance_claims WHERE request_id = ? AND "
                              "claimed_by = ? AND response IS NULL", (request_id, self.holder))
            raise
        if not isinstance(answer, Answer):
            answer = Answer(answer)
        now = time.time()
        # The 交付履歴, the answer kept for a retry and the forgetting of older answers
        # commit together (issue 12: three transactions before).
        async with self.writing() as db:
            if answer.record is not None:
                await answer.record(db.connection)
            await db.connection.execute(_ANSWER, {
                "response": json.dumps(answer.response),
                "keep_until": now + RESULT_RETENTION_SECONDS, "request": request_id})
            forgotten = (await db.connection.execute(_FORGET, {"now": now})).rowcount
        await self._scrub(now, forgotten)
        return answer.response

    async def forget_delivered(self, now: float | None = None, *,
                               finish_others: bool = False) -> int:
        """Drop the PDFs of answers past their retention (SQLite: zeroed in place
        by secure_delete, the WAL truncated so no old page keeps them;
        PostgreSQL: the unlogged table rewritten, m0006). Done with each
        issuance's answer and by the periodic task (:func:`forget_periodically`)."""
        now = time.time() if now is None else now
        async with self.writing() as db:
            forgotten = (await db.connection.execute(_FORGET, {"now": now})).rowcount
        await self._scrub(now, forgotten, finish_others=finish_others)
        return forgotten

    async def _scrub(self, now: float, forgotten: int, *, finish_others: bool = False
                     ) -> None:
        # SQLite: the periodic round also finishes a truncation another process
        # left undone (a reader held it off and that process stopped or moved on);
        # an idle WAL's TRUNCATE checkpoint costs next to nothing.
        self._scrub_pending = self._scrub_pending or forgotten > 0 or (
            finish_others and self.database.is_sqlite)
        # A TRUNCATE checkpoint costs ~10 ms and waits for readers, a rewrite more:
        # at most one per TRUNCATE_SECONDS per process (a pace, not a correctness
        # matter: a scrub left pending is done by a later call).
        if self._scrub_pending and now - self._truncated_at >= TRUNCATE_SECONDS:
            self._truncated_at = now
            truncated = await self.database.checkpoint()
            rewritten = await self.database.rewrite("issuance_claims")
            self._scrub_pending = not truncated or rewritten == "busy"


async def forget_periodically(claims: IssuanceClaims, interval_seconds: float) -> None:
    """Forget delivered answers even when no new request comes (one task per
    worker: each scrubs what it forgot; the statements are safe to race)."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await claims.forget_delivered(finish_others=True)
        except Exception:  # the database may be restarting: try again next round
            log.exception("forgetting delivered answers failed; will try again")
