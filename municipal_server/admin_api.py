"""The clerk's admin API (窓口業務): the counter's daily work on the register,
on its own loopback port, behind a bearer token.

Every change is written and committed before the answer goes back, and every
kiosk request reads the register afresh, so a change is in force for the very
next order. The audit trail (操作記録) notes what was done to which record,
never the contents."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import secrets
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from konbini.files import write_private_file
from konbini.http import (
    access_log_middleware,
    json_response,
    problem_middleware,
    request_id_middleware,
)
from konbini.problems import Problem, invalid_request
from konbini.schemas import CARD_STATUS, CREDENTIAL, RESIDENT_CODE, obj
from konbini.validation import BodySchema, read_json
from konbini.wire import MAX_BODY_BYTES

from . import admin_domicile
from .context import MUNICIPAL, MunicipalContext, context
from .eligibility import age_on
from .openapi import admin_openapi as openapi_document
from .register import (
    DECEASED,
    MOVED_OUT,
    MOVING_OUT,
    DamageReport,
    Disaster,
    FamilyRegister,
    ForeignStatus,
    Household,
    IssuedCard,
    KosekiEntry,
    Register,
    Resident,
    SealRegistration,
    UnknownRecord,
)
from .render.seal import personal_seal_png
from .tax import assess

log = logging.getLogger(__name__)

TOKEN_FILE = "admin-token"
DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
TEXT = {"type": "string", "minLength": 1, "maxLength": 100}
LONG_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
AMOUNT = {"type": "integer", "minimum": 0, "maximum": 10_000_000_000}
PAIRS = {"type": "array", "maxItems": 20, "items": {
    "type": "array", "prefixItems": [TEXT, AMOUNT], "minItems": 2, "maxItems": 2}}

MEMBER = obj({
    "name": TEXT, "name_kana": TEXT, "birth_date": DATE, "sex": {"enum": ["男", "女"]},
    "relationship": TEXT,
    "moved_in_on": DATE, "moved_in_reason": TEXT, "previous_address": LONG_TEXT,
    "nationality": TEXT, "residence_status": TEXT, "period_of_stay": TEXT,
    "period_expires_on": DATE,
    "domicile": LONG_TEXT, "domicile_head": TEXT,
    "domicile_code": {"type": "string", "pattern": "^[0-9]{6}$"},
}, ["name", "name_kana", "birth_date", "sex", "relationship"])
HOUSEHOLD = BodySchema(obj({
    "address": LONG_TEXT,
    "members": {"type": "array", "minItems": 1, "maxItems": 10, "items": MEMBER},
}, ["address", "members"]))
NEW_MEMBER = BodySchema(MEMBER)
MOVE_OUT = BodySchema(obj({"on": DATE, "completed": {"type": "boolean"}}, ["on"]))
DEATH = BodySchema(obj({"on": DATE}, ["on"]))
SEAL = BodySchema(obj({"image_png": {"type": "string", "maxLength": 700_000},
                       "registered_on": DATE}))
SUPPORT_MEASURE = BodySchema(obj({"active": {"type": "boolean"}}, ["active"]))
CARD = BodySchema(obj({"public_key": {"type": "string", "maxLength": 4096},
                       "credential": CREDENTIAL}, ["public_key", "credential"]))
CARD_STATUS_CHANGE = BodySchema(obj({"status": CARD_STATUS, "reason": LONG_TEXT}, ["status"]))
PIN_RESET = BodySchema(obj({"reason": LONG_TEXT}))
TAX = BodySchema(obj({
    "gross_salary": AMOUNT, "other_income": PAIRS, "spouse": {"type": "boolean"},
    "dependents": {"type": "integer", "minimum": 0, "maximum": 20},
    "social_insurance": AMOUNT, "address": LONG_TEXT,
}, ["gross_salary"]))
EVENT = obj({"kind": TEXT, "details": {"type": "array", "maxItems": 12, "items": {
    "type": "array", "prefixItems": [TEXT, LONG_TEXT], "minItems": 2, "maxItems": 2}}},
    ["kind", "details"])
KOSEKI_PERSON = obj({
    "name": TEXT, "given_name": TEXT, "birth_date": DATE, "father": TEXT, "mother": TEXT,
    "relationship": TEXT, "spouse_role": {"enum": ["夫", "妻"]},
    "events": {"type": "array", "maxItems": 12, "items": EVENT},
    "removed": {"type": "boolean"}, "resident_code": RESIDENT_CODE,
    "addresses": {"type": "array", "maxItems": 20, "items": {
        "type": "array", "prefixItems": [LONG_TEXT, DATE], "minItems": 2, "maxItems": 2}},
}, ["name", "given_name", "birth_date", "relationship"])
FAMILY_REGISTER = BodySchema(obj({
    "domicile": LONG_TEXT, "head_name": TEXT, "compiled_on": DATE,
    "persons": {"type": "array", "minItems": 1, "maxItems": 12, "items": KOSEKI_PERSON},
}, ["domicile", "head_name", "compiled_on", "persons"]))
DISASTER = BodySchema(obj({"name": TEXT, "occurred_on": DATE}, ["name", "occurred_on"]))
DAMAGE_LEVELS = ["全壊", "大規模半壊", "中規模半壊", "半壊", "準半壊",
                 "準半壊に至らない（一部損壊）"]
DAMAGE = BodySchema(obj({"damage_level": {"enum": DAMAGE_LEVELS}, "flooding": TEXT,
                         "surveyed_on": DATE}, ["damage_level"]))

routes = web.RouteTableDef()
RESIDENT_PATH = "/admin/v1/residents/{resident_code}"


def load_or_create_token(var_dir: Path) -> str:
    """The clerk's bearer token, made on first start (mode 0600)."""
    path = var_dir / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    token = secrets.token_urlsafe(32)
    write_private_file(path, token.encode("ascii"))
    return token


ADMIN_TOKEN = web.AppKey("admin_token", str)


@web.middleware
async def token_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    supplied = request.headers.get("Authorization", "")
    expected = f"Bearer {request.app[ADMIN_TOKEN]}"
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise Problem("unauthorized", "the clerk's token is missing or wrong")
    return await handler(request)


def create_admin_app(ctx: MunicipalContext, token: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[
        request_id_middleware, access_log_middleware, problem_middleware, token_middleware])
    app[MUNICIPAL] = ctx
    app[ADMIN_TOKEN] = token
    app.add_routes(routes)
    app.add_routes(admin_domicile.routes)
    return app


# -- helpers -------------------------------------------------------------------
def _today(request: web.Request) -> date:
    return context(request).clock.now().date()


def _date(body: dict[str, Any], field: str, default: date | None = None) -> date:
    if field not in body:
        if default is None:
            raise invalid_request([{"field": field, "message": "required"}])
        return default
    try:
        return date.fromisoformat(body[field])
    except ValueError as exc:
        raise invalid_request([{"field": field, "message": "not a date (YYYY-MM-DD)"}]) from exc


async def _resident(request: web.Request) -> Resident:
    code = request.match_info["resident_code"]
    resident = await context(request).register.resident(code) if len(code) <= 32 else None
    if resident is None:
        raise Problem("resident-not-found", "no resident with this resident code")
    return resident


def _serial(request: web.Request) -> str:
    serial = request.match_info["serial"]
    if not re.fullmatch(r"[0-9a-f]{1,40}", serial):
        raise Problem("not-found", "no such card certificate")
    return serial


async def _audit(request: web.Request, action: str, target: str,
                 register: Register | None = None) -> None:
    """The audit entry, in the clerk's change's unit of work when given one."""
    ctx = context(request)
    await (register or ctx.register).log(ctx.clock.now(), action, target)
    log.info("clerk: %s %s", action, target)


async def _fresh_resident_code(ctx: MunicipalContext) -> str:
    """A new 11-digit 住民票コード no resident of this register has."""
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(11))
        if await ctx.register.resident(code) is None:
            return code


def _new_resident(code: str, household_id: str, member: dict[str, Any],
                  order: int, today: date) -> Resident:
    foreign = None
    if member.get("nationality"):
        if not {"residence_status", "period_of_stay", "period_expires_on"} <= member.keys():
            raise invalid_request([{"field": "members.residence_status",
                                    "message": "a foreign resident needs residence_status, "
                                               "period_of_stay and period_expires_on"}])
        foreign = ForeignStatus(member["residence_status"], member["period_of_stay"],
                                _date(member, "period_expires_on"))
    born = _date(member, "birth_date")
    if born > today:
        raise invalid_request([{"field": "birth_date", "message": "in the future"}])
    return Resident(
        resident_code=code, member_id="m-" + uuid.uuid4().hex[:16], household_id=household_id,
        name=member["name"], name_kana=member["name_kana"], birth_date=born,
        sex=member["sex"], relationship=member["relationship"], status="resident",
        moved_in_on=_date(member, "moved_in_on", today),
        moved_in_reason=member.get("moved_in_reason", "転入"),
        # 住所を定めた年月日 is the day they came; the 届出 is what the clerk records today.
        address_set_on=_date(member, "moved_in_on", today), notified_on=today,
        previous_address=member.get("previous_address"), support_measure=False,
        nationality=member.get("nationality"), household_order=order,
        domicile=member.get("domicile"), domicile_head=member.get("domicile_head"),
        domicile_code=member.get("domicile_code"), foreign=foreign)


def _resident_view(r: Resident) -> dict[str, Any]:
    return {"resident_code": r.resident_code, "member_id": r.member_id,
            "household_id": r.household_id, "name": r.name, "name_kana": r.name_kana,
            "birth_date": r.birth_date.isoformat(), "sex": r.sex,
            "relationship": r.relationship, "status": r.status,
            "status_on": r.status_on.isoformat() if r.status_on else None,
            "moved_in_on": r.moved_in_on.isoformat(), "moved_in_reason": r.moved_in_reason,
            "support_measure": r.support_measure, "nationality": r.nationality,
            "domicile": r.domicile, "domicile_code": r.domicile_code}


# -- residents and households (住民記録) ------------------------------------------
@routes.get("/admin/v1/residents")
async def find_residents(request: web.Request) -> web.Response:
    name = request.query.get("name", "")
    if not 1 <= len(name) <= 50:
        raise invalid_request([{"field": "name", "message": "1 to 50 characters"}])
    found = await context(request).register.find_residents(name)
    return json_response({"residents": [_resident_view(r) for r in found]})


@routes.get(RESIDENT_PATH)
async def show_resident(request: web.Request) -> web.Response:
    ctx = context(request)
    resident = await _resident(request)
    household = await ctx.register.household(resident.household_id)
    seal = await ctx.register.seal(resident.resident_code)
    return json_response({
        **_resident_view(resident),
        "address": household.address if household else None,
        "age": age_on(resident.birth_date, _today(request)),
        "seal": None if seal is None else {"status": seal.status,
                                           "registered_on": seal.registered_on.isoformat()},
        "tax_years": sorted(await ctx.register.tax_records(resident.resident_code)),
        "cards": [{"serial": c.serial, "credential": c.credential, "status": c.status}
                  for c in await ctx.register.cards(resident.resident_code)],
    })


@routes.get("/admin/v1/residents/{resident_code}/history")
async def history(request: web.Request) -> web.Response:
    """交付履歴: every certificate printed for this resident."""
    resident = await _resident(request)
    return json_response({"issuances": await context(request).register.issuance_history(
        resident.resident_code)})


@routes.post("/admin/v1/households")
async def add_household(request: web.Request) -> web.Response:
    """A move in (転入) of a new household, or a household set up here."""
    ctx = context(request)
    body = await read_json(request, HOUSEHOLD)
    today = _today(request)
    household = Household("h-" + uuid.uuid4().hex[:16], body["address"])
    members = [_new_resident(await _fresh_resident_code(ctx), household.household_id, m, n,
                             today) for n, m in enumerate(body["members"])]
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.add_household(household, members)
        await _audit(request, "add-household", household.household_id, register)
    return json_response({"household_id": household.household_id,
                          "residents": [_resident_view(r) for r in members]}, status=201)


@routes.post("/admin/v1/households/{household_id}/members")
async def add_member(request: web.Request) -> web.Response:
    """A birth (出生) or someone moving into an existing household."""
    ctx = context(request)
    body = await read_json(request, NEW_MEMBER)
    household_id = request.match_info["household_id"][:64]
    if await ctx.register.household(household_id) is None:
        raise Problem("not-found", "no such household")
    order = len(await ctx.register.household_members(household_id))
    resident = _new_resident(await _fresh_resident_code(ctx), household_id, body, order,
                             _today(request))
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.add_member(resident)
        await _audit(request, "add-member", resident.resident_code, register)
    return json_response(_resident_view(resident), status=201)


@routes.post("/admin/v1/residents/{resident_code}/move-out")
async def move_out(request: web.Request) -> web.Response:
    """転出届: scheduled (転出予定) until ``completed``, then moved out (転出)."""
    ctx = context(request)
    body = await read_json(request, MOVE_OUT)
    resident = await _resident(request)
    if resident.status == DECEASED:
        raise Problem("conflict", "a deceased resident cannot move out")
    status = MOVED_OUT if body.get("completed") else MOVING_OUT
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.set_status(resident.resident_code, status, _date(body, "on"))
        await _audit(request, status, resident.resident_code, register)
    return json_response(_resident_view(await _resident(request)))


@routes.post("/admin/v1/residents/{resident_code}/death")
async def death(request: web.Request) -> web.Response:
    """死亡届: the record is removed (消除) and the center revokes every card
    certificate of the resident, so the card cannot start another session."""
    ctx = context(request)
    body = await read_json(request, DEATH)
    resident = await _resident(request)
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.set_status(resident.resident_code, DECEASED, _date(body, "on"))
        await _audit(request, "death", resident.resident_code, register)
    # Not inside that transaction: a call over the network must not hold the
    # register's write lock. Revoking is idempotent; the clerk may repeat it.
    revoked = await ctx.center.set_resident_cards_status(resident.resident_code, "revoked",
                                                         "死亡 (deceased)")
    async with ctx.register.unit_of_work() as register:
        for serial in revoked:
            await register.set_card_status(serial, "revoked", "死亡")
    return json_response({**_resident_view(await _resident(request)),
                          "revoked_certificates": revoked})


@routes.put("/admin/v1/residents/{resident_code}/support-measure")
async def support_measure(request: web.Request) -> web.Response:
    """支援措置: set or clear."""
    ctx = context(request)
    body = await read_json(request, SUPPORT_MEASURE)
    resident = await _resident(request)
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.set_support_measure(resident.resident_code, body["active"])
        await _audit(request, "support-measure-" + ("set" if body["active"] else "clear"),
                     resident.resident_code, register)
    return json_response(_resident_view(await _resident(request)))


# -- seals (印鑑登録) ------------------------------------------------------------
@routes.put("/admin/v1/residents/{resident_code}/seal")
async def register_seal(request: web.Request) -> web.Response:
    """印鑑登録 with the impression (印影) as PNG; without one, the surname's seal."""
    ctx = context(request)
    body = await read_json(request, SEAL)
    resident = await _resident(request)
    if resident.status not in ("resident",):
        raise Problem("conflict", "only a current resident can register a seal")
    if age_on(resident.birth_date, _today(request)) < 15:
        raise Problem("conflict", "a seal can be registered from the age of 15")
    if "image_png" in body:
        try:
            image = base64.b64decode(body["image_png"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_request([{"field": "image_png", "message": "not base64"}]) from exc
        if not image.startswith(b"\x89PNG\r\n\x1a\n"):
            raise invalid_request([{"field": "image_png", "message": "not a PNG image"}])
    else:
        surname = (resident.name.split() or [""])[0]
        try:
            image = personal_seal_png(surname) if surname else b""
        except ValueError:
            image = b""
        if not image:  # a seal holds at most 6 characters: the clerk sends the 印影
            raise invalid_request([{"field": "image_png", "message":
                                    "required: the surname does not fit a seal"}])
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.register_seal(SealRegistration(
            resident.resident_code, image, "active", _date(body, "registered_on", _today(request))))
        await _audit(request, "seal-register", resident.resident_code, register)
    return json_response({"resident_code": resident.resident_code, "seal": "active"})


@routes.delete("/admin/v1/residents/{resident_code}/seal")
async def abolish_seal(request: web.Request) -> web.Response:
    """印鑑登録の廃止."""
    ctx = context(request)
    resident = await _resident(request)
    try:
        async with ctx.register.unit_of_work() as register:  # the change and its audit entry
            await register.abolish_seal(resident.resident_code, _today(request))
            await _audit(request, "seal-abolish", resident.resident_code, register)
    except UnknownRecord as exc:
        raise Problem("not-found", "this resident has no active seal registration") from exc
    return json_response({"resident_code": resident.resident_code, "seal": "abolished"})


# -- cards (マイナンバーカード) -----------------------------------------------------
@routes.post("/admin/v1/residents/{resident_code}/cards")
async def issue_card(request: web.Request) -> web.Response:
    """Have the center's JPKI certify the key of a card made at the counter."""
    ctx = context(request)
    body = await read_json(request, CARD)
    resident = await _resident(request)
    if resident.status != "resident":
        raise Problem("conflict", "cards are issued to current residents only")
    issued = await ctx.center.issue_card_certificate(resident.resident_code, body["public_key"],
                                                     body["credential"])
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.record_card(IssuedCard(issued["serial"], resident.resident_code,
                                                  body["credential"], "valid",
                                                  ctx.clock.now().isoformat()))
        await _audit(request, "card-issue", resident.resident_code, register)
    return json_response(issued, status=201)


@routes.post("/admin/v1/cards/{serial}/status")
async def card_status(request: web.Request) -> web.Response:
    """A lost card suspended (一時停止, 24 hours a day), found again, or revoked."""
    ctx = context(request)
    body = await read_json(request, CARD_STATUS_CHANGE)
    serial = _serial(request)
    await ctx.center.set_card_status(serial, body["status"], body.get("reason", ""))
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.set_card_status(serial, body["status"], body.get("reason", ""))
        await _audit(request, f"card-{body['status']}", serial, register)
    return json_response({"serial": serial, "status": body["status"]})


@routes.post("/admin/v1/cards/{serial}/pin-reset")
async def pin_reset(request: web.Request) -> web.Response:
    """暗証番号の初期化: done on the card itself at the counter's terminal;
    the server keeps the record of it."""
    await read_json(request, PIN_RESET, optional=True)
    serial = _serial(request)
    await context(request).center.card_certificate(serial)  # one of ours, or not-found
    await _audit(request, "pin-reset", serial)
    return json_response({"serial": serial, "pin_reset": True})


# -- tax (課税) --------------------------------------------------------------
@routes.put("/admin/v1/residents/{resident_code}/tax/{fiscal_year}")
async def record_tax(request: web.Request) -> web.Response:
    """The 年度's assessment, computed from the declared income."""
    ctx = context(request)
    body = await read_json(request, TAX)
    resident = await _resident(request)
    try:
        year = int(request.match_info["fiscal_year"])
    except ValueError as exc:
        raise invalid_request([{"field": "fiscal_year", "message": "not a year"}]) from exc
    if not 1950 <= year <= _today(request).year + 1:
        raise invalid_request([{"field": "fiscal_year", "message": "out of range"}])
    household = await ctx.register.household(resident.household_id)
    address = body.get("address") or (household.address if household else "")
    record = assess(resident.resident_code, year, address, gross_salary=body["gross_salary"],
                    other_income=tuple((k, v) for k, v in body.get("other_income", [])),
                    spouse=body.get("spouse", False), dependents=body.get("dependents", 0),
                    social_insurance=body.get("social_insurance"))
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.record_tax(record)
        await _audit(request, "tax-record", f"{resident.resident_code}/{year}", register)
    return json_response({
        "resident_code": resident.resident_code, "fiscal_year": year,
        "total_income": record.total_income, "taxable_income": record.taxable_income,
        "tax_yen": record.municipal_income_levy + record.municipal_per_capita
        + record.prefectural_income_levy + record.prefectural_per_capita})


# -- family registers (戸籍) -----------------------------------------------------
@routes.post("/admin/v1/family-registers")
async def add_family_register(request: web.Request) -> web.Response:
    """A 戸籍 whose 本籍 is here, with each person's 附票 (addresses and the
    住民票コード that links it to wherever they live)."""
    ctx = context(request)
    body = await read_json(request, FAMILY_REGISTER)
    register = FamilyRegister("k-" + uuid.uuid4().hex[:16], body["domicile"],
                              body["head_name"], _date(body, "compiled_on"))
    persons = []
    for n, p in enumerate(body["persons"], 1):
        code = p.get("resident_code")
        if code and await ctx.register.koseki_entry(code) is not None:
            raise Problem("conflict", "this resident code already has a 戸籍 entry here")
        persons.append(KosekiEntry(
            "kp-" + uuid.uuid4().hex[:16], register.register_id, n, p["name"], p["given_name"],
            _date(p, "birth_date"), p.get("father"), p.get("mother"), p["relationship"],
            p.get("spouse_role"),
            tuple((e["kind"], tuple((k, v) for k, v in e["details"]))
                  for e in p.get("events", [])),
            p.get("removed", False), code,
            tuple((a, _date({"d": d}, "d")) for a, d in p.get("addresses", []))))
    async with ctx.register.unit_of_work() as uow:  # the change and its audit entry
        await uow.add_family_register(register, persons)
        await _audit(request, "family-register", register.register_id, uow)
    return json_response({"register_id": register.register_id,
                          "persons": [p.person_id for p in persons]}, status=201)


# -- disasters (罹災) --------------------------------------------------------------
@routes.post("/admin/v1/disasters")
async def add_disaster(request: web.Request) -> web.Response:
    ctx = context(request)
    body = await read_json(request, DISASTER)
    disaster = Disaster("d-" + uuid.uuid4().hex[:12], body["name"], _date(body, "occurred_on"))
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.add_disaster(disaster)
        await _audit(request, "disaster", disaster.disaster_id, register)
    return json_response({"disaster_id": disaster.disaster_id, "name": disaster.name,
                          "occurred_on": disaster.occurred_on.isoformat()}, status=201)


@routes.put("/admin/v1/disasters/{disaster_id}/households/{household_id}")
async def record_damage(request: web.Request) -> web.Response:
    """被害認定: the damage the survey found to the household's dwelling."""
    ctx = context(request)
    body = await read_json(request, DAMAGE)
    disaster_id = request.match_info["disaster_id"]
    disaster = await ctx.register.disaster(disaster_id) if len(disaster_id) <= 64 else None
    if disaster is None:
        raise Problem("not-found", "no such disaster")
    household = await ctx.register.household(request.match_info["household_id"][:64])
    if household is None:
        raise Problem("not-found", "no such household")
    async with ctx.register.unit_of_work() as register:  # the change and its audit entry
        await register.record_damage(DamageReport(
            disaster, household.household_id, household.address, body["damage_level"],
            body.get("flooding"), _date(body, "surveyed_on", _today(request))))
        await _audit(request, "damage", f"{disaster_id}/{household.household_id}", register)
    return json_response({"disaster_id": disaster_id, "household_id": household.household_id,
                          "damage_level": body["damage_level"]})



def admin_openapi(name: str) -> dict[str, Any]:
    """The clerk's API as an OpenAPI 3.1 document (municipal_server.openapi)."""
    return openapi_document(name, {n: v for n, v in globals().items()
                                   if isinstance(v, BodySchema)},
                            extra_paths=admin_domicile.openapi_paths())




@routes.get("/admin/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(admin_openapi(context(request).profile.name))
