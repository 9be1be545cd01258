"""Everything a municipal handler needs, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from konbini.clock import Clock

from .center_registration import CenterClient
from .issuance import Issuer
from .profile import Profile
from .register import Register


@dataclass
class MunicipalContext:
    profile: Profile
    register: Register
    issuer: Issuer
    clock: Clock
    center: CenterClient  # what the clerk's changes tell the center (JPKI)
    dev: bool = False  # --dev: the center may ask for dev faults (dev_faults)


MUNICIPAL = web.AppKey("municipal", MunicipalContext)


def context(request: web.Request) -> MunicipalContext:
    return request.app[MUNICIPAL]
