"""The center's mutual-TLS client to municipal certificate servers.

It presents ``CN=center``, passes the kiosk's request id on, and turns every
way a municipal server can fail into a problem the kiosk understands."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from konbini.problems import PROBLEM_STATUS, Problem
from konbini.schemas import (
    MENU,
    MUNICIPAL_CERTIFICATES_RESPONSE,
    MUNICIPAL_USE_REGISTRATION_RESPONSE,
)
from konbini.validation import BodySchema
from konbini.wire import DEV_FAULT_HEADER, REQUEST_ID_HEADER

log = logging.getLogger(__name__)

_MENU = BodySchema(MENU)
_CERTIFICATES = BodySchema(MUNICIPAL_CERTIFICATES_RESPONSE)
_USE_REGISTRATION = BodySchema(MUNICIPAL_USE_REGISTRATION_RESPONSE)
# Codes a municipal server may send that the kiosk is meant to see as they are.
RELAYED_CODES = frozenset({
    "resident-ineligible", "type-unavailable", "member-not-in-household", "invalid-request",
    "resident-not-found", "conflict",
})


@dataclass
class MunicipalFaults:
    """Test environments only (``/v1/dev/faults``): municipal servers the
    center treats as unreachable (``down``) or as not answering in time
    (``slow``), by municipality code. Empty in production."""

    down: frozenset[str] = frozenset()
    slow: frozenset[str] = frozenset()
    endpoints: dict[str, str] = field(default_factory=dict)  # code -> registered endpoint
    # Issue 14: servers told (``Konbini-Dev-Fault``) to render another resident's
    # certificate, or to take page 2 from another person's; only a municipal server
    # started with --dev obeys.
    wrong_person: frozenset[str] = frozenset()
    foreign_page: frozenset[str] = frozenset()

    def set(self, *, down: frozenset[str], slow: frozenset[str],
            endpoints: dict[str, str], wrong_person: frozenset[str] = frozenset(),
            foreign_page: frozenset[str] = frozenset()) -> None:
        self.down, self.slow, self.endpoints = down, slow, dict(endpoints)
        self.wrong_person, self.foreign_page = wrong_person, foreign_page

    def rendering_fault(self, url: str) -> str | None:
        """The dev fault a municipal server is asked to make, by URL: the value of the
        ``Konbini-Dev-Fault`` header (``municipal_server.dev_faults``) or None."""
        for code, endpoint in self.endpoints.items():
            if url.startswith(endpoint.rstrip("/") + "/"):
                return ("wrong-person" if code in self.wrong_person
                        else "foreign-page" if code in self.foreign_page else None)
        return None

    def of(self, url: str) -> str | None:
        """The fault of a URL on a municipal server: "down", "slow" or None."""
        for code, endpoint in self.endpoints.items():
            if url.startswith(endpoint.rstrip("/") + "/"):
                return "down" if code in self.down else "slow" if code in self.slow else None
        return None


class MunicipalClient:
    def __init__(self, ssl_context: ssl.SSLContext, *, timeout_seconds: float = 15.0,
                 health_timeout_seconds: float = 3.0) -> None:
        self._ssl = ssl_context
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._health_timeout = aiohttp.ClientTimeout(total=health_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self.faults = MunicipalFaults()
        # Told (url, problem code) of every failed call: the center's metrics.
        self.failure_observer: Callable[[str, str], Awaitable[None]] | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(ssl=self._ssl, limit=200)
        self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("MunicipalClient.start() was not awaited")
        return self._session

    async def health(self, endpoint: str, code: str) -> bool:
        """True when the server answers ``/v1/health`` as municipality ``code``."""
        if code in self.faults.down or code in self.faults.slow:
            self.faults.endpoints[code] = endpoint  # follows a re-registration
            return False
        try:
            async with self.session.get(f"{endpoint}/v1/health",
                                        timeout=self._health_timeout) as response:
                if response.status != 200:
                    return False
                body = await response.json()
                return isinstance(body, dict) and body.get("code") == code
        except (aiohttp.ClientError, TimeoutError, ValueError, ssl.SSLError) as exc:
            log.info("health check of %s failed: %s", code, type(exc).__name__)
            return False

    async def menu(self, endpoint: str, body: dict[str, Any], request_id: str) -> dict[str, Any]:
        result = await self._post(f"{endpoint}/v1/menu", body, request_id)
        if _MENU.errors(result):
            raise Problem("upstream-error", "the municipal server sent a malformed menu")
        return result

    async def use_registration(self, endpoint: str, body: dict[str, Any],
                               request_id: str) -> dict[str, Any]:
        """本籍地の利用登録 with the municipality of the 本籍."""
        result = await self._post(f"{endpoint}/v1/use-registrations", body, request_id)
        if _USE_REGISTRATION.errors(result):
            raise Problem("upstream-error", "the municipal server sent a malformed answer")
        return result

    async def certificates(self, endpoint: str, body: dict[str, Any],
                           request_id: str) -> dict[str, Any]:
        """Order certificates; retried once on a lost connection, which is
        safe because the municipal server is idempotent on ``request_id``."""
        for attempt in (1, 2):
            try:
                result = await self._post(f"{endpoint}/v1/certificates", body, request_id,
                                          retryable=attempt == 1)
                break
            except _Retry:
                log.warning("retrying certificates request after a lost connection")
        if _CERTIFICATES.errors(result):
            raise Problem("upstream-error", "the municipal server sent malformed certificates")
        return result

    async def _post(self, url: str, body: dict[str, Any], request_id: str,
                    *, retryable: bool = False) -> dict[str, Any]:
        try:
            return await self._exchange(url, body, request_id, retryable=retryable)
        except Problem as problem:
            if self.failure_observer is not None:
                await self.failure_observer(url, problem.code)
            raise

    async def _exchange(self, url: str, body: dict[str, Any], request_id: str,
                        *, retryable: bool = False) -> dict[str, Any]:
        fault = self.faults.of(url)
        if fault == "down":
            raise Problem("municipality-unavailable", "the municipal server cannot be reached")
        if fault == "slow":
            await asyncio.sleep(self._timeout.total or 0)
            raise Problem("upstream-timeout", "the municipal server did not answer in time")
        headers = {REQUEST_ID_HEADER: request_id, "Content-Type": "application/json"}
        rendering_fault = self.faults.rendering_fault(url)
        if rendering_fault is not None:
            headers[DEV_FAULT_HEADER] = rendering_fault
        try:
            async with self.session.post(url, data=_encode(body), timeout=self._timeout,
                                         headers=headers) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError as exc:
            raise Problem("upstream-timeout",
                          "the municipal server did not answer in time") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if retryable:
                raise _Retry from exc
            raise Problem("municipality-unavailable",
                          "the municipal server cannot be reached") from exc
        except (aiohttp.ClientError, ssl.SSLError) as exc:
            raise Problem("municipality-unavailable",
                          "the municipal server cannot be reached") from exc
        try:
            parsed = _parse(raw)
        except ValueError as exc:
            raise Problem("upstream-error", "the municipal server sent no JSON") from exc
        if not isinstance(parsed, dict):
            raise Problem("upstream-error", "the municipal server sent no JSON object")
        if status >= 400:
            raise _relay(parsed, status)
        return parsed


def _encode(body: dict[str, Any]) -> bytes:
    """A request body as JSON: orjson, or json as aiohttp's ``json=`` wrote it (ASCII
    escapes) for what orjson refuses."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body).encode()


def _parse(raw: bytes) -> Any:
    """A municipal answer as JSON. orjson parses the certificates answer (a PDF as base64,
    ~200 KB) in half of json's time; what it refuses (not UTF-8, NaN, an integer beyond 64
    bits) json decides, as it always did."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


class _Retry(Exception):
    pass


def _relay(body: dict[str, Any], status: int) -> Problem:
    """A municipal refusal, passed to the kiosk with only the fields it needs."""
    code = body.get("code")
    if code in RELAYED_CODES and PROBLEM_STATUS.get(code) == status:
        extra = {k: body[k] for k in ("reason", "message", "errors") if k in body}
        return Problem(code, str(body.get("detail", "")), **extra)
    retry_after = body.get("retry_after_seconds")
    if status == 503 and code == "database-unavailable" and isinstance(
            retry_after, int | float) and not isinstance(retry_after, bool):
        # Its database is restarting: the kiosk may try again shortly, and is told when.
        return Problem("municipality-unavailable", "the municipal server's database is "
                       "unavailable; try again", retry_after_seconds=min(max(retry_after, 1), 60))
    if status in (502, 503, 504):
        return Problem("municipality-unavailable", "the municipal server is unavailable")
    return Problem("upstream-error", f"the municipal server answered {status}")
