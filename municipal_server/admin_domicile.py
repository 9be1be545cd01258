"""The clerk's work on family registers kept here (本籍地), beside the admin
API: approving a use registration (利用登録) and the 届出 filed against a 戸籍
until they are entered. Wired into :mod:`admin_api` by one line each."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from konbini.http import json_response
from konbini.openapi import operation
from konbini.problems import Problem, invalid_request
from konbini.schemas import obj
from konbini.validation import BodySchema, read_json

from .context import context
from .register import USE_REGISTERED, Register

DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
NOTIFICATION = BodySchema(obj({"kind": {"type": "string", "minLength": 1, "maxLength": 40},
                               "filed_on": DATE}, ["kind"]))
REFLECT = BodySchema(obj({"on": DATE}))

routes = web.RouteTableDef()
USE_PATH = "/admin/v1/use-registrations"
NOTIFICATIONS_PATH = "/admin/v1/family-registers/{register_id}/notifications"


def _day(request: web.Request, body: dict[str, Any], field: str) -> date:
    """The date in ``field``, else today; one that matches the pattern but is no
    date (``0000-00-00``) is a 422, not a 500 (found by the fuzzing)."""
    if field not in body:
        return context(request).clock.now().date()
    try:
        return date.fromisoformat(body[field])
    except ValueError as exc:
        raise invalid_request([{"field": field, "message": "not a date (YYYY-MM-DD)"}]) from exc


async def _audit(request: web.Request, action: str, target: str,
                 register: Register | None = None) -> None:
    """The audit entry, in the clerk's change's unit of work when given one."""
    ctx = context(request)
    await (register or ctx.register).log(ctx.clock.now(), action, target)


@routes.get(USE_PATH)
async def pending_use_registrations(request: web.Request) -> web.Response:
    """Applications waiting for the clerk (登録手続き中)."""
    pending = await context(request).register.pending_use_registrations()
    return json_response({"pending": pending})


@routes.post(USE_PATH + "/{resident_code}/approve")
async def approve_use_registration(request: web.Request) -> web.Response:
    """利用登録の承認: the 戸籍 is issued at kiosks from the next request on."""
    ctx = context(request)
    code = request.match_info["resident_code"]
    status = await ctx.register.use_registration_status(code) if len(code) <= 32 else None
    if status is None:
        raise Problem("not-found", "no use registration for this resident code")
    if status != USE_REGISTERED:
        async with ctx.register.unit_of_work() as register:  # the change and its audit entry
            await register.approve_use_registration(code, ctx.clock.now())
            await _audit(request, "approve-use-registration", code, register)
    return json_response({"resident_code": code, "status": USE_REGISTERED})


async def _family_register(request: web.Request) -> str:
    register_id = request.match_info["register_id"]
    found = (await context(request).register.family_register(register_id)
             if len(register_id) <= 64 else None)
    if found is None:
        raise Problem("not-found", "no family register with this id")
    return register_id


@routes.post(NOTIFICATIONS_PATH)
async def file_notification(request: web.Request) -> web.Response:
    """A 届出 received: 戸籍証明書 of this register wait until it is entered."""
    body = await read_json(request, NOTIFICATION)
    register_id = await _family_register(request)
    async with context(request).register.unit_of_work() as register:
        number = await register.file_notification(register_id, body["kind"],
                                                  _day(request, body, "filed_on"))
        await _audit(request, "file-notification", register_id, register)
    return json_response({"register_id": register_id, "notification_id": number,
                          "pending": True}, status=201)


@routes.post(NOTIFICATIONS_PATH + "/reflect")
async def reflect_notifications(request: web.Request) -> web.Response:
    """The filed 届出 are entered in the 戸籍 (戸籍に記載): kiosks issue it again."""
    body = await read_json(request, REFLECT)
    register_id = await _family_register(request)
    async with context(request).register.unit_of_work() as register:
        await register.reflect_notifications(register_id, _day(request, body, "on"))
        await _audit(request, "reflect-notifications", register_id, register)
    return json_response({"register_id": register_id, "pending": False})


def openapi_paths() -> dict[str, Any]:
    def op(summary: str, body: BodySchema | None = None, ok: int = 200, *,
           response: dict[str, Any]) -> dict[str, Any]:
        return operation(summary, body=body.schema if body else None, ok=ok,
                         response=response, security="clerkToken",
                         problems=("not-found", "invalid-request", "unauthorized"))

    def answer(**properties: dict[str, Any]) -> dict[str, Any]:  # every one required
        return {"type": "object", "required": list(properties), "properties": properties}
    text = {"type": "string"}
    pending = {"type": "boolean"}
    return {
        USE_PATH: {"get": op("Use registrations waiting for approval (登録手続き中)",
                             response=answer(pending={"type": "array", "items": answer(
                                 resident_code=text, residence_code=text,
                                 registered_at=text)}))},
        USE_PATH + "/{resident_code}/approve": {"post": op(
            "Approve a use registration (本籍地の利用登録)",
            response=answer(resident_code=text, status=text))},
        NOTIFICATIONS_PATH: {"post": op(
            "A 届出 filed against this 戸籍, not yet entered", NOTIFICATION, 201,
            response=answer(register_id=text, notification_id={}, pending=pending))},
        NOTIFICATIONS_PATH + "/reflect": {"post": op(
            "The filed 届出 are entered", REFLECT,
            response=answer(register_id=text, pending=pending))},
    }
