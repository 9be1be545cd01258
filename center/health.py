"""The center's readiness (``GET /readyz``): its database answers, its QR
signing keys are loaded, the TLS key pair is readable. ``/healthz`` and
``/readyz`` are served on the public site and on each worker's health port
(see konbini/health.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from konbini.health import all_ready
from konbini.openapi import operation

from .context import CenterContext


async def readiness(ctx: CenterContext) -> dict[str, bool]:
    async def keys() -> None:
        # Loaded, not "valid now": a test clock years ahead makes a key at the
        # next order, and must not take every worker out of the balancer.
        if not ctx.qr_keys.keys:
            raise LookupError("no QR signing key")

    async def tls() -> None:
        for path in (ctx.config.tls_cert, ctx.config.tls_key, ctx.config.tls_ca):
            await asyncio.to_thread(path.read_bytes)

    return await all_ready(("database", ctx.store.ping), ("qr_keys", keys), ("tls", tls))


def health_info(ctx: CenterContext) -> dict[str, object]:
    return {"service": "center", "worker": getattr(ctx.config, "worker_index", None)}


HEALTH = {"type": "object", "required": ["status", "service", "pid"], "properties": {
    "status": {"enum": ["ok"]}, "service": {"type": "string"},
    "worker": {"type": ["integer", "null"]}, "pid": {"type": "integer"}}}
READINESS = {"type": "object", "required": ["status", "checks", "service", "pid"],
             "properties": {"status": {"const": "ready"},
                            "checks": {"type": "object",
                                       "additionalProperties": {"type": "boolean"}},
                            "service": {"type": "string"},
                            "worker": {"type": ["integer", "null"]}, "pid": {"type": "integer"}}}


def openapi_paths() -> dict[str, dict[str, Any]]:
    """Public site (and each worker's --health-port); no client certificate."""
    return {
        "/healthz": {"get": operation("Addition: the process is alive (no database call)",
                                      response=HEALTH, security="", tags=("public",))},
        "/readyz": {"get": operation(
            "Addition: ready to serve — the database answers, the QR signing keys are "
            "loaded, the TLS key pair is readable; otherwise 503 not-ready with `checks` "
            "(a balancer takes the worker out)", response=READINESS, security="",
            problems=("not-ready",), tags=("public",))},
    }


def document_idempotency_key(paths: dict[str, dict[str, Any]]) -> None:
    """The optional ``Idempotency-Key`` header of ``POST …/orders`` (order_keys.py)."""
    order = paths["/v1/sessions/{session_id}/orders"]["post"]
    order.setdefault("parameters", []).append({
        "name": "Idempotency-Key", "in": "header", "required": False,
        "description": "Addition: a resend with the same key from the same terminal gets "
                       "the same order (201, same body, header Idempotent-Replayed: true), "
                       "never a second one; the same key with another body is 409 conflict",
        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,128}$"}})
    if "conflict" not in order["x-problem-codes"]:
        order["x-problem-codes"].append("conflict")
