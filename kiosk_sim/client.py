"""The kiosk side of the protocol (キオスク端末): a client of the center's
Kiosk API over mutual TLS, and the whole issuance as one call.

Errors of every kind — the card's own (wrong PIN), the center's, or a lost
connection — come out as :class:`KioskProblem` carrying an RFC 9457
problem document, so a script or a UI decides by ``code`` alone."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import ssl
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDict

from konbini.b64 import b64url_decode, b64url_encode
from konbini.tls import client_context
from konbini.wire import REQUEST_ID_HEADER

from .card import CardError, VirtualCard


class KioskProblem(Exception):
    def __init__(self, problem: dict[str, Any]) -> None:
        super().__init__(f"{problem.get('code')}: {problem.get('detail', '')}")
        self.problem = problem

    @property
    def code(self) -> str:
        return str(self.problem.get("code", ""))


@dataclass(frozen=True)
class Terminal:
    """A kiosk terminal's identity: its TLS certificate and the center it trusts."""

    center_url: str
    cert: Path
    key: Path
    ca: Path

    @classmethod
    def from_pki(cls, pki_dir: Path, terminal_id: str = "kiosk-0001",
                 center_url: str = "https://127.0.0.1:8443") -> Terminal:
        return cls(center_url, pki_dir / "kiosk" / f"{terminal_id}.cert.pem",
                   pki_dir / "kiosk" / f"{terminal_id}.key.pem", pki_dir / "tls-ca.cert.pem")

    def ssl_context(self) -> ssl.SSLContext:
        return client_context(self.cert, self.key, self.ca)


@dataclass
class IssueResult:
    order: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    settlement: dict[str, Any] = field(default_factory=dict)


class KioskClient:
    """One terminal's connection to the center. Use as an async context manager."""

    def __init__(self, terminal: Terminal, *, timeout_seconds: float = 60.0) -> None:
        self.terminal = terminal
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KioskClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.terminal.ssl_context()),
            timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _reconnect(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self.__aenter__()

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                      *, request_id: str | None = None, headers: dict[str, str] | None = None,
                      ) -> tuple[int, Any, CIMultiDict[str]]:
        """One call; returns (status, parsed body or bytes, headers). Raises
        KioskProblem for problem documents and for an unreachable center."""
        assert self._session is not None, "use KioskClient as an async context manager"
        headers = {**(headers or {}), REQUEST_ID_HEADER: request_id or uuid.uuid4().hex}
        try:
            async with self._session.request(method, self.terminal.center_url + path,
                                             json=body, headers=headers) as response:
                raw = await response.read()
                content_type = response.content_type
                status = response.status
                response_headers = CIMultiDict(response.headers)
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            # The kept-alive connections may all lead to the same dead server (through a
            # balancer, each TCP connection is bound to one worker): start afresh.
            await self._reconnect()
            raise KioskProblem({"type": "about:blank", "title": "Network error", "status": 0,
                                "code": "network-error",
                                "detail": f"the center cannot be reached: {type(exc).__name__}"}
                               ) from exc
        if content_type == "application/problem+json" or status >= 400:
            try:
                problem = json.loads(raw)
            except ValueError:
                problem = {"code": "upstream-error", "status": status, "detail": raw[:200]}
            raise KioskProblem(problem)
        if content_type == "application/json":
            return status, json.loads(raw), response_headers
        return status, raw, response_headers

    # -- the Kiosk API, one call each ------------------------------------------
    async def start_session(self, credential: str = "card") -> dict[str, Any]:
        return (await self.request("POST", "/v1/sessions", {"credential": credential}))[1]

    async def authenticate(self, session: dict[str, Any], card: VirtualCard,
                           pin: str | None) -> dict[str, Any]:
        """The card checks the PIN itself and signs the challenge; the center checks both."""
        try:
            signature = card.sign_challenge(b64url_decode(session["challenge"]), pin)
            certificate = card.certificate_der()
        except CardError as exc:
            raise KioskProblem(exc.problem()) from exc
        return (await self.request(
            "POST", f"/v1/sessions/{session['session_id']}/authenticate",
            {"certificate": b64url_encode(certificate),
             "signature": b64url_encode(signature)}))[1]

    async def menu(self, session_id: str) -> dict[str, Any]:
        return (await self.request("GET", f"/v1/sessions/{session_id}/menu"))[1]

    async def order(self, session_id: str, cert_type: str, copies: int,
                    options: dict[str, Any], expected_fee_yen: int,
                    municipality_code: str | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        """Order ``copies``; ``municipality_code`` sends a family-register order to
        the municipality of the 本籍 (after the use registration). A lost
        connection is retried once with the same ``Idempotency-Key``."""
        body = {"type": cert_type, "copies": copies, "options": options,
                "expected_fee_yen": expected_fee_yen}
        if municipality_code is not None:
            body["municipality_code"] = municipality_code
        # The same Idempotency-Key on a resend: a lost answer never makes a second order.
        key = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        path = f"/v1/sessions/{session_id}/orders"
        try:
            return (await self.request("POST", path, body, headers=key))[1]
        except KioskProblem as exc:
            if exc.code != "network-error":
                raise
            return (await self.request("POST", path, body, headers=key))[1]

    async def register_use(self, session_id: str, municipality_code: str) -> dict[str, Any]:
        """本籍地の利用登録 with the municipality of the holder's 本籍."""
        return (await self.request("POST", f"/v1/sessions/{session_id}/use-registrations",
                                   {"municipality_code": municipality_code}))[1]

    async def download(self, certificate: dict[str, Any]) -> bytes:
        """The PDF to print, checked against the digest the center announced."""
        _, pdf, _ = await self.request("GET", certificate["pdf_url"])
        if hashlib.sha256(pdf).hexdigest() != certificate["sha256"]:
            raise KioskProblem({"code": "download-corrupt", "status": 0,
                                "detail": "the PDF does not match its sha256"})
        return pdf

    async def report_result(self, order_id: str, printed: list[str],
                            failed: list[dict[str, str]] | None = None) -> dict[str, Any]:
        return (await self.request("POST", f"/v1/orders/{order_id}/result",
                                   {"printed": printed, "failed": failed or []}))[1]

    async def end_session(self, session_id: str) -> None:
        await self.request("DELETE", f"/v1/sessions/{session_id}")

    # -- the whole issuance -------------------------------------------------
    async def issue(self, card: VirtualCard, pin: str | None, cert_type: str, *,
                    copies: int = 1, options: dict[str, Any] | None = None,
                    out_dir: Path | None = None,
                    municipality_code: str | None = None) -> IssueResult:
        """Insert the card, enter the PIN, order, print, report, take the card.

        The card checks the PIN before anything is sent, so a wrong PIN or a
        locked card never reaches the center."""
        try:
            card.verify_pin(pin)
        except CardError as exc:
            raise KioskProblem(exc.problem()) from exc
        credential = "smartphone" if card.credential == "smartphone" else "card"
        session = await self.start_session(credential)
        try:
            await self.authenticate(session, card, pin)
            menu = await self.menu(session["session_id"])
            item = next((i for i in menu["items"] if i["type"] == cert_type and (
                municipality_code is None
                or i.get("municipality", {}).get("code") == municipality_code)), None)
            if item is None or not item["available"]:
                raise KioskProblem({
                    "type": "about:blank", "title": "Conflict", "status": 409,
                    "code": "type-unavailable",
                    "reason": item.get("reason", "not-offered") if item else "not-offered",
                    "detail": item.get("message", "") if item else "not on the menu"})
            order = await self.order(session["session_id"], cert_type, copies, options or {},
                                     item["fee_yen"] * copies, municipality_code)
            result = IssueResult(order)
            printed = []
            for certificate in order["certificates"]:
                pdf = await self.download(certificate)
                if out_dir is not None:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    path = out_dir / f"{certificate['certificate_number']}.pdf"
                    await asyncio.to_thread(path.write_bytes, pdf)
                    result.files.append(path)
                printed.append(certificate["certificate_id"])
            result.settlement = await self.report_result(order["order_id"], printed)
            return result
        finally:
            # The card is returned whatever the center says.
            with contextlib.suppress(KioskProblem):
                await self.end_session(session["session_id"])
