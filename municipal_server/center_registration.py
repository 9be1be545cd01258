"""Registering this municipality's server with the center (参加登録) at
start-up, and announcing a planned maintenance window."""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import timedelta
from typing import Any

import aiohttp

from konbini.clock import Clock, isoformat, parse_instant
from konbini.problems import Problem

from .profile import Profile

log = logging.getLogger(__name__)


class CenterClient:
    """What a municipality says to the center, over mutual TLS as ``CN=<code>``."""

    def __init__(self, center_url: str, ssl_context: ssl.SSLContext, code: str) -> None:
        self.center_url = center_url.rstrip("/")
        self.code = code
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context),
                                              timeout=aiohttp.ClientTimeout(total=30))

    async def close(self) -> None:
        await self._session.close()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None
                   ) -> tuple[int, dict[str, Any]]:
        try:
            async with self._session.request(method, self.center_url + path,
                                             json=body) as response:
                data = await response.json(content_type=None) if response.status != 204 else {}
                return response.status, data
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            raise Problem("upstream-error", "the center cannot be reached") from exc

    async def register(self, profile: Profile, endpoint: str) -> dict[str, Any]:
        status, body = await self.call("PUT", f"/v1/municipalities/{self.code}", {
            "name": profile.name, "prefecture": profile.prefecture, "endpoint": endpoint,
            "services": list(profile.services)})
        if status not in (200, 201):
            raise RuntimeError(f"registration refused: {status} {body.get('code')}")
        return body

    async def issue_card_certificate(self, resident_code: str, public_key_pem: str,
                                     credential: str, **validity: str) -> dict[str, Any]:
        status, body = await self.call("POST", "/v1/jpki/certificates", {
            "resident_code": resident_code, "public_key": public_key_pem,
            "credential": credential, **validity})
        if status != 201:
            raise _refused(status, body)
        return body

    async def set_card_status(self, serial: str, status: str, reason: str) -> None:
        code, body = await self.call("POST", f"/v1/jpki/certificates/{serial}/status",
                                     {"status": status, "reason": reason})
        if code != 200:
            raise _refused(code, body)

    async def card_certificate(self, serial: str) -> dict[str, Any]:
        """One of this municipality's card certificates in the JPKI registry."""
        code, body = await self.call("GET", f"/v1/jpki/certificates/{serial}")
        if code != 200:
            raise _refused(code, body)
        return body

    async def set_resident_cards_status(self, resident_code: str, status: str,
                                        reason: str) -> list[str]:
        """Every card certificate of one resident (revoked on death); the serials changed."""
        code, body = await self.call("POST", f"/v1/jpki/residents/{resident_code}/status",
                                     {"status": status, "reason": reason})
        if code != 200:
            raise _refused(code, body)
        return list(body["serials"])


def _refused(status: int, body: dict[str, Any]) -> Problem:
    """The center's refusal of a clerk's change, passed on to the clerk."""
    code = body.get("code")
    if code in ("not-found", "conflict", "invalid-request"):
        return Problem(code, f"the center refused: {body.get('detail', '')}",
                       **({"errors": body["errors"]} if "errors" in body else {}))
    return Problem("upstream-error", f"the center answered {status} {code}")


async def register_with_center(client: CenterClient, profile: Profile, endpoint: str,
                               clock: Clock, *, attempts: int = 120) -> None:
    """Register (retrying while the center starts), then announce maintenance."""
    for attempt in range(1, attempts + 1):
        try:
            registration = await client.register(profile, endpoint)
            break
        except (Problem, RuntimeError) as exc:
            if attempt == attempts:
                log.error("could not register with the center: %s", exc)
                return
            await asyncio.sleep(min(0.25 * attempt, 2.0))
    log.info("registered with the center as %s (%s): %s", profile.code, profile.name,
             registration.get("status"))
    plan = profile.maintenance
    if plan is None:
        return
    now = clock.now()
    if any(parse_instant(w["starts_at"]) <= now < parse_instant(w["ends_at"])
           for w in registration.get("maintenance", [])):
        return
    status, _ = await client.call(
        "POST", f"/v1/municipalities/{profile.code}/maintenance",
        {"starts_at": isoformat(now - timedelta(minutes=1)),
         "ends_at": isoformat(now + timedelta(days=plan.days)), "reason": plan.reason})
    log.info("announced maintenance for %s days: %s", plan.days, status)
