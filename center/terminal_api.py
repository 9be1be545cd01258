"""Chain API (mutual TLS, chain certificate ``CN=chain:<name>`` from the TLS
CA): a convenience-store chain enrols its kiosk terminals with the center,
and suspends or revokes them. The operator's command line
(``python -m center terminals``) does the same for any chain."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from cryptography import x509

from konbini.http import json_response, peer
from konbini.openapi import operation
from konbini.problems import Problem, invalid_request
from konbini.schemas import obj
from konbini.validation import BodySchema, read_json

from . import terminals
from .context import context
from .terminals import TerminalStatus

ENROLMENT = BodySchema(obj({
    "certificate": {"type": "string", "minLength": 1, "maxLength": 8192},
    "address": {"type": "string", "maxLength": 200},
    "hours": {"type": "string", "maxLength": 100},
}, ["certificate"]))
TERMINAL_STATUS = BodySchema(obj({
    "status": {"enum": [s.value for s in TerminalStatus]},
    "reason": {"type": "string", "maxLength": 200},
}, ["status"]))
TERMINAL = {"type": "object", "required": [
    "fingerprint", "terminal_id", "chain", "store_id", "address", "hours", "status"],
    "properties": {"fingerprint": {"type": "string"}, "terminal_id": {"type": "string"},
                   "chain": {"type": "string"}, "store_id": {"type": "string"},
                   "address": {"type": "string"}, "hours": {"type": "string"},
                   "status": {"enum": [s.value for s in TerminalStatus]},
                   "reason": {"type": "string"}, "enrolled_at": {"type": "string"},
                   "updated_at": {"type": "string"}}}
TERMINAL_LIST = {"type": "object", "required": ["terminals", "smartphone"],
                 "properties": {"terminals": {"type": "array", "items": TERMINAL},
                                "smartphone": {"type": "boolean"}}}

routes = web.RouteTableDef()


def _own_chain(request: web.Request) -> str:
    chain = request.match_info["chain"]
    if peer(request).chain != chain:
        raise Problem("chain-mismatch", "a chain may only manage its own terminals")
    return chain


@routes.get("/v1/chains/{chain}/terminals")
async def list_terminals(request: web.Request) -> web.Response:
    ctx = context(request)
    chain = _own_chain(request)
    return json_response({
        "terminals": [t.to_wire() for t in await terminals.terminals(ctx.store, chain=chain)],
        "smartphone": await terminals.reads_smartphones(ctx.store, chain)})


@routes.post("/v1/chains/{chain}/terminals")
async def enrol_terminal(request: web.Request) -> web.Response:
    """Enrol one of the chain's kiosk certificates (its subject's O must be the chain)."""
    ctx = context(request)
    chain = _own_chain(request)
    body = await read_json(request, ENROLMENT)
    pem = body["certificate"].encode()
    try:
        subject_chain = terminals.kiosk_identity(x509.load_pem_x509_certificate(pem)).chain
    except (ValueError, terminals.EnrolmentError) as exc:
        raise invalid_request([{"field": "certificate", "message": str(exc)}]) from None
    if subject_chain != chain:
        raise Problem("chain-mismatch", "the terminal certificate names another chain")
    try:
        enrolled = await terminals.enrol(ctx.store, pem, address=body.get("address", ""),
                                         hours=body.get("hours", ""), now=ctx.clock.now())
    except terminals.EnrolmentError as exc:
        raise Problem("conflict", str(exc)) from None
    return json_response(enrolled.to_wire(), status=201)


@routes.post("/v1/chains/{chain}/terminals/{fingerprint}")
async def set_terminal_status(request: web.Request) -> web.Response:
    """Suspend, reinstate (``active``) or revoke one terminal certificate."""
    ctx = context(request)
    chain = _own_chain(request)
    body = await read_json(request, TERMINAL_STATUS)
    fingerprint = request.match_info["fingerprint"].lower()
    found = await terminals.terminal(ctx.store, fingerprint) if len(fingerprint) == 64 else None
    if found is None or found.chain != chain:
        raise Problem("not-found", "no such terminal of this chain")
    if found.status is TerminalStatus.REVOKED:
        raise Problem("conflict", "a revoked terminal stays revoked")
    changed = await terminals.set_status(ctx.store, fingerprint, TerminalStatus(body["status"]),
                                         body.get("reason", ""), ctx.clock.now())
    if not changed:
        raise Problem("conflict", "a revoked terminal stays revoked")
    return json_response(changed[0].to_wire())


def openapi_paths() -> dict[str, dict[str, Any]]:
    problems = ("client-not-allowed", "chain-mismatch", "invalid-request")
    return {
        "/v1/chains/{chain}/terminals": {
            "get": operation("Addition (terminal registry): the chain's enrolled terminals "
                             "and whether its kiosks read smartphones (chain certificate "
                             "CN=chain:<name>)", response=TERMINAL_LIST, problems=problems),
            "post": operation("Addition (terminal registry): enrol a kiosk certificate (PEM, "
                              "O=<chain>) with the store's address and opening hours; 409 "
                              "conflict when its terminal id is enrolled at another store",
                              body=ENROLMENT.schema, ok=201, response=TERMINAL,
                              problems=(*problems, "conflict"))},
        "/v1/chains/{chain}/terminals/{fingerprint}": {"post": operation(
            "Addition (terminal registry): suspend, reinstate (active) or revoke a terminal "
            "certificate by its SHA-256 fingerprint; revoked is final (409 conflict); the "
            "terminal is refused from its very next request",
            body=TERMINAL_STATUS.schema, response=TERMINAL,
            problems=(*problems, "not-found", "conflict"))},
    }
