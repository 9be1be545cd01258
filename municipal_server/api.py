"""Municipal server API (mutual TLS, only the center's certificate)."""

from __future__ import annotations

from aiohttp import web

from konbini.http import json_response
from konbini.problems import Problem, invalid_request
from konbini.schemas import (
    MUNICIPAL_CERTIFICATES_REQUEST,
    MUNICIPAL_MENU_REQUEST,
    MUNICIPAL_OUTCOME_REQUEST,
    MUNICIPAL_USE_REGISTRATION_REQUEST,
)
from konbini.validation import BodySchema, read_json

from .context import context
from .dev_faults import FAULT_HEADER, FAULTS
from .issuance import RESIDENCE
from .outcomes import per_certificate, summary

MENU_REQUEST = BodySchema(MUNICIPAL_MENU_REQUEST)
CERTIFICATES_REQUEST = BodySchema(MUNICIPAL_CERTIFICATES_REQUEST)
USE_REGISTRATION_REQUEST = BodySchema(MUNICIPAL_USE_REGISTRATION_REQUEST)
OUTCOME_REQUEST = BodySchema(MUNICIPAL_OUTCOME_REQUEST)

routes = web.RouteTableDef()


@routes.get("/v1/health")
async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "code": context(request).profile.code})


@routes.post("/v1/menu")
async def menu(request: web.Request) -> web.Response:
    body = await read_json(request, MENU_REQUEST)
    return json_response(await context(request).issuer.menu(
        body["resident_code"], body["at"], body.get("basis", RESIDENCE)))


@routes.post("/v1/certificates")
async def certificates(request: web.Request) -> web.Response:
    """Issue ``copies`` certificates; idempotent on ``request_id``."""
    body = await read_json(request, CERTIFICATES_REQUEST)
    ctx = context(request)
    fault = request.headers.get(FAULT_HEADER) if ctx.dev else None
    return json_response(await ctx.issuer.issue(body, fault if fault in FAULTS else None),
                         status=201)


@routes.post("/v1/use-registrations")
async def use_registration(request: web.Request) -> web.Response:
    """本籍地の利用登録 (addition): a person whose 本籍 is here and who lives in
    ``residence_code`` may from now on have their family registers at a kiosk.
    201 when registered now, 200 when it already was."""
    body = await read_json(request, USE_REGISTRATION_REQUEST)
    result = await context(request).issuer.register_use(
        body["resident_code"], body["residence_code"], body["at"])
    return json_response(result, status=201 if result["created"] else 200)


@routes.post("/v1/certificates/{request_id}/outcome")
async def outcome(request: web.Request) -> web.Response:
    """Addition (reconciliation): the center reports what became of a request's
    certificates; the issuance history shows it. Idempotent: the same report
    again changes nothing."""
    body = await read_json(request, OUTCOME_REQUEST)
    ctx = context(request)
    request_id = request.match_info["request_id"][:64]
    if "\x00" in request_id:  # in no table (PostgreSQL's text cannot even hold it)
        raise Problem("not-found", "no issuance with this request id")
    # One transaction for the lookup, the report and its read-back (issue 12: three).
    async with ctx.register.unit_of_work() as register:
        numbers = await register.issued_numbers(request_id)
        if numbers is None:
            raise Problem("not-found", "no issuance with this request id")
        try:
            outcomes = per_certificate(numbers, body)
        except KeyError as exc:
            raise invalid_request([{"field": "certificates", "message":
                                    f"not a certificate of this request: {exc}"}]) from None
        await register.record_outcomes(request_id, outcomes, ctx.clock.now())
        recorded = await register.issuance_outcomes(request_id)
    return json_response({
        "request_id": request_id,
        "outcome": summary(numbers, {n: o["outcome"] for n, o in recorded.items()}),
        "certificates": [{"certificate_number": n, **o} for n, o in sorted(recorded.items())]})
