"""Everything a center handler needs, built once per app (never a global)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from konbini.clock import Clock

from .config import CenterConfig
from .jpki import JpkiAuthority
from .metrics import CenterMetrics
from .municipal_client import MunicipalClient
from .qr_keys import QrKeyring
from .rate_limit import RateLimiter
from .storage import CenterStore


@dataclass
class CenterContext:
    config: CenterConfig
    store: CenterStore
    clock: Clock
    jpki: JpkiAuthority
    qr_keys: QrKeyring
    municipal: MunicipalClient
    limiter: RateLimiter
    metrics: CenterMetrics = field(default_factory=CenterMetrics)
    # Issue 14: the secret the municipalities' subject-binding keys derive from.
    subject_secret: bytes | None = None
    # Bumped whenever this process sets its dev clock or faults, so that a read of
    # the shared settings begun before cannot put the old ones back (center/dev_state.py).
    dev_generation: int = 0
    # Writes of those settings under way in this process: a read that both begins and
    # ends during one saw the value being replaced, and is not applied either.
    dev_writes: int = 0


CENTER = web.AppKey("center", CenterContext)


def context(request: web.Request) -> CenterContext:
    return request.app[CENTER]
