"""Municipality API (mutual TLS, municipal certificate): registration of
certificate servers, maintenance windows, and the JPKI card certificates
of the municipality's residents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from konbini.clock import isoformat, parse_instant
from konbini.http import json_response, peer
from konbini.problems import Problem, invalid_request
from konbini.schemas import CARD_STATUS as CARD_STATUS_SCHEMA
from konbini.schemas import CERT_TYPE, CREDENTIAL, ISO_TIME, RESIDENT_CODE, obj
from konbini.validation import BodySchema, read_json, require

from .calendar import MaintenanceWindow
from .context import CenterContext, context
from .jpki import load_card_public_key
from .municipalities import is_valid_municipality_code, registration_from_wire
from .storage import CardRecord

HOURS_SPAN = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$"}
REGISTRATION = BodySchema(obj({
    "name": {"type": "string", "minLength": 1, "maxLength": 50},
    "prefecture": {"type": "string", "minLength": 1, "maxLength": 10},
    "endpoint": {"type": "string", "pattern": "^https://[^\\s/?#]+(/[^\\s?#]*)?$",
                 "maxLength": 200},
    "services": {"type": "array", "minItems": 1, "maxItems": 20, "items": obj({
        "type": CERT_TYPE,
        "fee_yen": {"type": "integer", "minimum": 0, "maximum": 10000},
        "hours": obj({"weekday": HOURS_SPAN, "weekend": HOURS_SPAN, "holiday": HOURS_SPAN}),
    }, ["type", "fee_yen"])},
}, ["name", "prefecture", "endpoint", "services"]))
MAINTENANCE = BodySchema(obj({
    "starts_at": ISO_TIME, "ends_at": ISO_TIME,
    "reason": {"type": "string", "maxLength": 200},
}, ["starts_at", "ends_at"]))
CARD_ISSUE = BodySchema(obj({
    "resident_code": RESIDENT_CODE,
    "public_key": {"type": "string", "maxLength": 4096},
    "credential": CREDENTIAL,
    # Additions for test environments: a card issued in the past, or already expired.
    "not_before": ISO_TIME,
    "not_after": ISO_TIME,
}, ["resident_code", "public_key", "credential"]))
CARD_STATUS = BodySchema(obj({
    "status": CARD_STATUS_SCHEMA,
    "reason": {"type": "string", "maxLength": 200},
}, ["status"]))

routes = web.RouteTableDef()


def _own_code(request: web.Request) -> str:
    """The path's municipality code, which must be the caller's own."""
    code = request.match_info["code"]
    if not is_valid_municipality_code(code):
        raise invalid_request([{"field": "code",
                                "message": "not a JIS X 0402 code (6 digits, check digit)"}])
    if peer(request).common_name != code:
        raise Problem("municipality-mismatch",
                      "a municipality may only manage its own registration")
    return code


def _instant(body: dict[str, Any], field: str) -> datetime:
    try:
        return parse_instant(body[field])
    except ValueError as exc:
        raise invalid_request([{"field": field, "message": "not an ISO 8601 time"}]) from exc


async def _registration_body(ctx: CenterContext, code: str) -> dict[str, Any]:
    found = await ctx.store.municipality(code)
    if found is None:
        raise Problem("not-found", "this municipality is not registered")
    registration, status = found
    windows = await ctx.store.maintenance(code, ctx.clock.now())
    return {
        "code": registration.code, "name": registration.name,
        "prefecture": registration.prefecture, "endpoint": registration.endpoint,
        "services": [s.to_wire() for s in registration.services], "status": status,
        "maintenance": [{"starts_at": isoformat(w.starts_at), "ends_at": isoformat(w.ends_at),
                         "reason": w.reason} for w in windows],
    }


@routes.put("/v1/municipalities/{code}")
async def register(request: web.Request) -> web.Response:
    ctx = context(request)
    code = _own_code(request)
    body = await read_json(request, REGISTRATION)
    try:
        registration = registration_from_wire(code, body)
    except ValueError as exc:
        field, _, message = str(exc).partition("|")
        raise invalid_request([{"field": field, "message": message}]) from exc
    healthy = await ctx.municipal.health(registration.endpoint, code)
    status = "active" if healthy else "unreachable"
    created = await ctx.store.upsert_municipality(
        registration, [s.to_wire() for s in registration.services], status, ctx.clock.now())
    return json_response(await _registration_body(ctx, code), status=201 if created else 200)


@routes.get("/v1/municipalities/{code}")
async def show(request: web.Request) -> web.Response:
    ctx = context(request)
    return json_response(await _registration_body(ctx, _own_code(request)))


@routes.delete("/v1/municipalities/{code}")
async def withdraw(request: web.Request) -> web.Response:
    ctx = context(request)
    if not await ctx.store.delete_municipality(_own_code(request)):
        raise Problem("not-found", "this municipality is not registered")
    return web.Response(status=204)


@routes.post("/v1/municipalities/{code}/maintenance")
async def add_maintenance(request: web.Request) -> web.Response:
    ctx = context(request)
    code = _own_code(request)
    body = await read_json(request, MAINTENANCE)
    starts_at, ends_at = _instant(body, "starts_at"), _instant(body, "ends_at")
    require(ends_at > starts_at, "ends_at", "must be after starts_at")
    if await ctx.store.municipality(code) is None:
        raise Problem("not-found", "register the municipality before announcing maintenance")
    window = MaintenanceWindow(starts_at, ends_at, body.get("reason", ""))
    window_id = await ctx.store.add_maintenance(code, window)
    return json_response({"id": window_id, "starts_at": isoformat(starts_at),
                          "ends_at": isoformat(ends_at), "reason": window.reason}, status=201)


@routes.post("/v1/jpki/certificates")
async def issue_card_certificate(request: web.Request) -> web.Response:
    """Certify a card key for one of the caller's residents (利用者証明用電子証明書)."""
    ctx = context(request)
    municipality_code = peer(request).common_name
    body = await read_json(request, CARD_ISSUE)
    try:
        public_key = load_card_public_key(body["public_key"])
    except ValueError as exc:
        raise invalid_request([{"field": "public_key", "message": str(exc)}]) from exc
    not_before = _instant(body, "not_before") if "not_before" in body else None
    not_after = _instant(body, "not_after") if "not_after" in body else None
    now = ctx.clock.now()
    if not_before and not_after:
        require(not_after > not_before, "not_after", "must be after not_before")
    issued = ctx.jpki.issue(public_key, now=now, not_before=not_before, not_after=not_after)
    await ctx.store.add_card(issued.serial, municipality_code, body["resident_code"],
                             body["credential"], issued.not_before, issued.not_after, now)
    return json_response({"serial": issued.serial, "certificate": issued.pem,
                          "not_after": isoformat(issued.not_after)}, status=201)


async def _own_card(ctx: CenterContext, request: web.Request) -> CardRecord:
    """The path's card certificate, which must be one of the caller's residents'."""
    serial = request.match_info["serial"]
    card = await ctx.store.card(serial) if len(serial) <= 40 else None
    if card is None or card.municipality_code != peer(request).common_name:
        raise Problem("not-found", "no such certificate of this municipality")
    return card


@routes.get("/v1/jpki/certificates/{serial}")
async def show_card_certificate(request: web.Request) -> web.Response:
    """Addition: one of the caller's card certificates, as the JPKI registry holds it."""
    card = await _own_card(context(request), request)
    return json_response({"serial": card.serial, "resident_code": card.resident_code,
                          "credential": card.credential, "status": card.status,
                          "not_after": isoformat(card.not_after)})


@routes.post("/v1/jpki/certificates/{serial}/status")
async def set_card_status(request: web.Request) -> web.Response:
    """Suspend (lost card, 一時停止), revoke (失効) or reinstate a card certificate."""
    ctx = context(request)
    body = await read_json(request, CARD_STATUS)
    card = await _own_card(ctx, request)
    serial = card.serial
    if card.status == "revoked" and body["status"] != "revoked":
        raise Problem("conflict", "a revoked certificate cannot be reinstated")
    await ctx.store.set_card_status(serial, body["status"], body.get("reason", ""),
                                    ctx.clock.now())
    return json_response({"serial": serial, "status": body["status"]})


@routes.post("/v1/jpki/residents/{resident_code}/status")
async def set_resident_cards_status(request: web.Request) -> web.Response:
    """Every card certificate of one resident at once: revoked when the
    resident dies (死亡による失効), suspended or reinstated otherwise.
    Certificates already revoked stay revoked."""
    ctx = context(request)
    body = await read_json(request, CARD_STATUS)
    resident_code = request.match_info["resident_code"]
    if len(resident_code) > 32:
        raise Problem("not-found", "no certificates for this resident")
    changed = []
    for serial in await ctx.store.resident_cards(peer(request).common_name, resident_code):
        card = await ctx.store.card(serial)
        if card is None or card.status == "revoked":
            continue
        await ctx.store.set_card_status(serial, body["status"], body.get("reason", ""),
                                        ctx.clock.now())
        changed.append(serial)
    return json_response({"resident_code": resident_code, "status": body["status"],
                          "serials": changed})

