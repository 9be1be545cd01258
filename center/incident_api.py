"""Incidents, voids and store reports over the mutual-TLS API.

Municipality API (municipal certificate): read and follow up its incidents,
void one of its certificates. Kiosk API (terminal certificate): a store
reports a wrong print of an order placed at that very terminal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from konbini.clock import parse_instant
from konbini.http import REQUEST_ID_KEY, json_response, peer
from konbini.openapi import operation
from konbini.problems import Problem, invalid_request
from konbini.schemas import ID, obj
from konbini.validation import BodySchema, read_json

from . import incidents, reconciliation
from .context import CenterContext, context
from .incidents import (
    MUNICIPALITY_VOID_PREFIX,
    MUNICIPALITY_VOID_REASONS,
    STORE_REPORT_PREFIX,
    STORE_REPORT_REASONS,
    IncidentKind,
    IncidentStatus,
    InvalidTransition,
)
from .kiosk_api import _own_order
from .municipality_api import _own_code
from .storage import CenterStore

INCIDENT_UPDATE = BodySchema(obj({
    "status": {"enum": [IncidentStatus.ACKNOWLEDGED.value, IncidentStatus.RESOLVED.value]},
    # The municipality's own follow-up note: what was done, never personal data.
    "note": {"type": "string", "maxLength": 500},
}, ["status"]))
CERTIFICATE_VOID = BodySchema(obj({
    "reason": {"enum": sorted(MUNICIPALITY_VOID_REASONS)},
}, ["reason"]))
ORDER_REPORT = BodySchema(obj({
    "what": {"enum": sorted(STORE_REPORT_REASONS)},
    # The copies concerned; absent, every copy of the order.
    "certificate_ids": {"type": "array", "items": ID, "minItems": 1, "maxItems": 10,
                        "uniqueItems": True},
}, ["what"]))
CERTIFICATE_NUMBER_MAX = 64

INCIDENT = {"type": "object", "required": [
    "incident_id", "kind", "municipality_code", "status", "created_at", "escalated"],
    "properties": {
        "incident_id": {"type": "string"},
        "kind": {"enum": [k.value for k in IncidentKind]},
        "municipality_code": {"type": "string"},
        "status": {"enum": [s.value for s in IncidentStatus]},
        "order_id": {"type": ["string", "null"]},
        "certificate_id": {"type": ["string", "null"]},
        "request_id": {"type": ["string", "null"]},
        "terminal_id": {"type": ["string", "null"]},
        "detail_code": {"type": ["string", "null"]},
        "note": {"type": "string"},
        "created_at": {"type": "string"},
        "acknowledged_at": {"type": ["string", "null"]},
        "resolved_at": {"type": ["string", "null"]},
        "escalated": {"type": "boolean"}}}
INCIDENT_LIST = {"type": "object", "required": ["incidents"],
                 "properties": {"incidents": {"type": "array", "items": INCIDENT}}}
VOID_RESULT = {"type": "object", "required": ["certificate_number", "status", "reason",
                                              "incident_id"],
               "properties": {"certificate_number": {"type": "string"},
                              "status": {"const": "void"}, "reason": {"type": "string"},
                              "incident_id": {"type": "string"}}}
REPORT_RESULT = {"type": "object", "required": ["order_id", "voided", "incident_id"],
                 "properties": {"order_id": {"type": "string"},
                                "voided": {"type": "array", "items": {"type": "string"}},
                                "incident_id": {"type": "string"}}}

routes = web.RouteTableDef()


def _filters(request: web.Request) -> tuple[IncidentStatus | None, datetime | None]:
    errors = []
    status = since = None
    if "status" in request.query:
        try:
            status = IncidentStatus(request.query["status"])
        except ValueError:
            errors.append({"field": "status", "message": "open, acknowledged or resolved"})
    if "since" in request.query:
        try:
            since = parse_instant(request.query["since"][:40])
        except ValueError:
            errors.append({"field": "since", "message": "not an ISO 8601 time"})
    if errors:
        raise invalid_request(errors)
    return status, since


@routes.get("/v1/municipalities/{code}/incidents")
async def list_incidents(request: web.Request) -> web.Response:
    ctx = context(request)
    code = _own_code(request)
    status, since = _filters(request)
    found = await incidents.incidents(ctx.store, municipality_code=code, status=status,
                                      since=since)
    now = ctx.clock.now()
    return json_response({"incidents": [i.to_wire(now) for i in found]})


@routes.post("/v1/municipalities/{code}/incidents/{incident_id}")
async def update_incident(request: web.Request) -> web.Response:
    ctx = context(request)
    code = _own_code(request)
    body = await read_json(request, INCIDENT_UPDATE)
    incident_id = request.match_info["incident_id"][:64]
    now = ctx.clock.now()
    try:
        updated = await incidents.update_status(ctx.store, incident_id, code,
                                                IncidentStatus(body["status"]),
                                                body.get("note"), now)
    except InvalidTransition as exc:
        raise Problem("conflict", str(exc)) from None
    if updated is None:
        raise Problem("not-found", "no such incident of this municipality")
    return json_response(updated.to_wire(now))


@routes.post("/v1/municipalities/{code}/certificates/{number}/void")
async def void_certificate(request: web.Request) -> web.Response:
    """The municipality voids one of its certificates (交付した証明書の無効化)."""
    ctx = context(request)
    code = _own_code(request)
    body = await read_json(request, CERTIFICATE_VOID)
    number = request.match_info["number"]
    found = (await incidents.certificates_by_number(ctx.store, code, number)
             if len(number) <= CERTIFICATE_NUMBER_MAX else [])
    if not found:
        raise Problem("not-found", "no certificate of this municipality has this number")
    if all(status == "void" for _, status in found):
        raise Problem("conflict", "the certificate is already void")
    now = ctx.clock.now()
    reason = MUNICIPALITY_VOID_PREFIX + body["reason"]
    # The void, its incident and the outcome owed commit together.
    async with ctx.store.unit_of_work() as uow:
        voided = await incidents.void_certificates(
            uow, [c.certificate_id for c, _ in found], reason)
        if not voided:
            raise Problem("conflict", "the certificate is already void")
        first = voided[0]
        incident_id = await incidents.record_incident(
            uow, kind=IncidentKind.MUNICIPALITY_VOID, municipality_code=code, now=now,
            order_id=first.order_id, certificate_id=first.certificate_id,
            request_id=request[REQUEST_ID_KEY], detail_code=body["reason"])
        # The municipality did this itself: nothing for it to acknowledge.
        await incidents.update_status(uow, incident_id, code,
                                      IncidentStatus.ACKNOWLEDGED, None, now)
        await _owe_voids(uow, code, voided, body["reason"], now)
    _deliver_soon(ctx, voided, now)
    return json_response({"certificate_number": number, "status": "void",
                          "reason": body["reason"], "incident_id": incident_id})


@routes.post("/v1/orders/{order_id}/report")
async def report_order(request: web.Request) -> web.Response:
    """A store reports a wrong print (誤交付の申出): the copies are voided and an
    incident is opened for the municipality. Only the terminal that placed the order."""
    ctx = context(request)
    body = await read_json(request, ORDER_REPORT)
    order = await _own_order(ctx, request)
    certificates = await ctx.store.order_certificates(order.order_id)
    wanted = set(body.get("certificate_ids") or [c.certificate_id for c in certificates])
    if not wanted <= {c.certificate_id for c in certificates}:
        raise invalid_request([{"field": "certificate_ids",
                                "message": "a certificate not in this order"}])
    now = ctx.clock.now()
    reason = STORE_REPORT_PREFIX + body["what"]
    numbers = {c.certificate_id: c.certificate_number for c in certificates}
    # The void, its incident and the outcome owed commit together.
    async with ctx.store.unit_of_work() as uow:
        if order.status == "issued":
            # Reported before the result: the whole order is voided and nothing charged.
            every = {c.certificate_id: reason for c in certificates}
            if await uow.settle_order(order.order_id, set(), every, now) is not None:
                wanted = {c.certificate_id for c in certificates}
        elif not await incidents.void_certificates(uow, sorted(wanted), reason):
            raise Problem("conflict", "these certificates are already void")
        incident_id = await incidents.record_incident(
            uow, kind=IncidentKind.STORE_REPORT, municipality_code=order.municipality_code,
            now=now, order_id=order.order_id,
            certificate_id=next(iter(sorted(wanted))) if len(wanted) == 1 else None,
            request_id=request[REQUEST_ID_KEY], terminal_id=peer(request).terminal_id,
            detail_code=body["what"])
        voided = [incidents.VoidedCertificate(cid, order.order_id, numbers[cid])
                  for cid in sorted(wanted)]
        await _owe_voids(uow, order.municipality_code, voided,
                         "store-report-" + body["what"], now)
    _deliver_soon(ctx, voided, now)
    return json_response({"order_id": order.order_id, "voided": sorted(wanted),
                          "incident_id": incident_id})


async def _owe_voids(uow: CenterStore, code: str,
                     voided: list[incidents.VoidedCertificate], reason: str,
                     now: datetime) -> None:
    by_order: dict[str, list[str]] = {}
    for cert in voided:
        by_order.setdefault(cert.order_id, []).append(cert.certificate_number)
    for order_id, numbers in by_order.items():
        await reconciliation.owe_void(uow, order_id, code, numbers, reason, now)


def _deliver_soon(ctx: CenterContext, voided: list[incidents.VoidedCertificate],
                  now: datetime) -> None:
    """Once committed, the owed outcomes are sent at once (the upkeep retries)."""
    for order_id in sorted({cert.order_id for cert in voided}):
        reconciliation.deliver_soon(ctx.store, ctx.municipal.session, now, order_id)


def openapi_paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/municipalities/{code}/incidents": {"get": operation(
            "Addition (incidents): the municipality's incidents, oldest first; query "
            "`status` (open, acknowledged, resolved) and `since` (ISO 8601) filter them",
            response=INCIDENT_LIST, problems=("municipality-mismatch", "invalid-request"))},
        "/v1/municipalities/{code}/incidents/{incident_id}": {"post": operation(
            "Addition (incidents): acknowledge or resolve an incident; open → acknowledged "
            "→ resolved (or open → resolved), anything else is 409 conflict",
            body=INCIDENT_UPDATE.schema, response=INCIDENT,
            problems=("municipality-mismatch", "not-found", "conflict", "invalid-request"))},
        "/v1/municipalities/{code}/certificates/{number}/void": {"post": operation(
            "Addition (incidents): void one of the municipality's certificates by its "
            "number; the inquiry site then reports it void with the reason",
            body=CERTIFICATE_VOID.schema, response=VOID_RESULT,
            problems=("municipality-mismatch", "not-found", "conflict", "invalid-request"))},
        "/v1/orders/{order_id}/report": {"post": operation(
            "Addition (incidents): the store reports a wrong print; the copies are voided "
            "(an order not yet settled is refunded whole) and an incident is opened. Only "
            "the terminal that placed the order",
            body=ORDER_REPORT.schema, response=REPORT_RESULT,
            problems=("order-not-found", "conflict", "invalid-request"))},
    }

