"""The center's readiness (``GET /readyz``): its database answers, its QR
signing keys are loaded, the TLS key pair is readable. ``/healthz`` and
``/readyz`` are served on the public site and on each worker's health port
(see konbini/health.py)."""

from __future__ import annotations

import asyncio

from konbini.health import all_ready

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
    return {"service": "center", "worker": ctx.config.worker_index}
