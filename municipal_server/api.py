"""Municipal server API (mutual TLS, only the center's certificate)."""

from __future__ import annotations

from aiohttp import web

from konbini.http import json_response
from konbini.schemas import MUNICIPAL_CERTIFICATES_REQUEST, MUNICIPAL_MENU_REQUEST
from konbini.validation import BodySchema, read_json

from .context import context

MENU_REQUEST = BodySchema(MUNICIPAL_MENU_REQUEST)
CERTIFICATES_REQUEST = BodySchema(MUNICIPAL_CERTIFICATES_REQUEST)

routes = web.RouteTableDef()


@routes.get("/v1/health")
async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "code": context(request).profile.code})


@routes.post("/v1/menu")
async def menu(request: web.Request) -> web.Response:
    body = await read_json(request, MENU_REQUEST)
    return json_response(await context(request).issuer.menu(body["resident_code"], body["at"]))


@routes.post("/v1/certificates")
async def certificates(request: web.Request) -> web.Response:
    """Issue ``copies`` certificates; idempotent on ``request_id``."""
    body = await read_json(request, CERTIFICATES_REQUEST)
    return json_response(await context(request).issuer.issue(body), status=201)
