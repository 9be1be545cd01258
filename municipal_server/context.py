"""Everything a municipal handler needs, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from .issuance import Issuer
from .profile import Profile
from .register import Register


@dataclass
class MunicipalContext:
    profile: Profile
    register: Register
    issuer: Issuer


MUNICIPAL = web.AppKey("municipal", MunicipalContext)


def context(request: web.Request) -> MunicipalContext:
    return request.app[MUNICIPAL]
