"""Settlement, statements and statistics over the Municipality API (mutual TLS,
the municipality's own code only): fee periods (campaign fees), the monthly
statement as JSON, PDF or CSV, and fiscal-year statistics."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from konbini.http import json_response
from konbini.openapi import operation
from konbini.problems import Problem, invalid_request
from konbini.schemas import CERT_TYPE, obj
from konbini.validation import BodySchema, read_json

from .context import CenterContext, context
from .fees import with_fees_in_force
from .model.settlement import FeePeriod, TermsError, fiscal_year_of, parse_date
from .municipality_api import _own_code
from .reports import statement, statistics
from .statement_documents import statement_csv, statement_pdf

DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
FEE_PERIOD = BodySchema(obj({
    "type": CERT_TYPE,
    "fee_yen": {"type": "integer", "minimum": 0, "maximum": 10000},
    "starts_on": DATE,
    "ends_on": DATE,
}, ["type", "fee_yen", "starts_on", "ends_on"]))
_INT, _STR = {"type": "integer"}, {"type": "string"}
_COUNTS = {"type": "object", "additionalProperties": _INT}
FEE_PERIOD_OUT = {"type": "object", "required": ["id", "type", "fee_yen", "starts_on",
                                                  "ends_on"],
                  "properties": {"id": _INT, "type": _STR, "fee_yen": _INT,
                                 "starts_on": DATE, "ends_on": DATE}}
FEES = {"type": "object", "required": ["periods", "in_force"], "properties": {
    "periods": {"type": "array", "items": FEE_PERIOD_OUT},
    "in_force": {"type": "array", "items": {"type": "object",
                                            "required": ["type", "fee_yen"],
                                            "properties": {"type": _STR, "fee_yen": _INT}}}}}
STATEMENT_LINE = {"type": "object", "required": [
    "type", "label", "group", "fee_yen", "certificates", "fees_yen", "commission_yen",
    "refunded_copies", "refunded_yen"], "properties": {
    "type": _STR, "label": _STR, "group": _STR, "fee_yen": _INT, "certificates": _INT,
    "fees_yen": _INT, "commission_yen": _INT, "refunded_copies": _INT,
    "refunded_yen": _INT}}
STATEMENT = {"type": "object", "required": [
    "kind", "municipality_code", "municipality_name", "month", "fiscal_year", "lines",
    "certificates", "fees_collected_yen", "refunded_copies", "refunded_yen",
    "center_commission_yen", "store_commission_yen", "commission_yen",
    "yearly_contribution_yen", "contribution_yen", "net_yen", "contract", "by_chain",
    "direction"], "properties": {
    "kind": {"const": "municipality"}, "municipality_code": _STR, "municipality_name": _STR,
    "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "fiscal_year": _INT,
    "lines": {"type": "array", "items": STATEMENT_LINE}, "certificates": _INT,
    "fees_collected_yen": _INT, "refunded_copies": _INT, "refunded_yen": _INT,
    "center_commission_yen": _INT, "store_commission_yen": _INT, "commission_yen": _INT,
    "yearly_contribution_yen": _INT, "contribution_yen": _INT,
    "net_yen": {"type": "integer", "description": "negative: the municipality pays"},
    "contract": {"type": "object"}, "by_chain": {"type": "array", "items": {"type": "object"}},
    "direction": {"enum": ["payable-to-municipality", "receivable-from-municipality"]}}}
STATISTICS = {"type": "object", "required": [
    "fiscal_year", "municipality_code", "total", "fees_yen", "by_group", "by_type", "by_month",
    "by_hour", "by_weekday", "by_municipality", "by_chain", "refusals", "refunded_copies"],
    "properties": {
        "fiscal_year": _INT, "municipality_code": {"type": ["string", "null"]}, "total": _INT,
        "fees_yen": _INT, "by_group": _COUNTS, "by_type": _COUNTS,
        "by_month": {"type": "object", "additionalProperties": _COUNTS,
                     "description": "YYYY-MM → type group → certificates (and total)"},
        "by_hour": _COUNTS, "by_weekday": _COUNTS, "by_municipality": _COUNTS,
        "by_chain": _COUNTS, "refunded_copies": _INT,
        "refusals": {"type": "array", "items": {
            "type": "object", "required": ["code", "count"],
            "properties": {"code": _STR, "reason": {"type": ["string", "null"]},
                           "count": _INT}}},
        "municipality_names": {"type": "object", "additionalProperties": _STR}}}


def _statement_operation() -> dict[str, Any]:
    """The statement as JSON, or as PDF or CSV by the extension of ``{month}``."""
    statement_op = operation(
        "Addition: the monthly statement (証明書コンビニ交付手数料請求内訳書): certificates by "
        "type and fee, fees collected, commission, contribution share, net (negative: the "
        "municipality pays); YYYY-MM for JSON, YYYY-MM.pdf (Japanese PDF), YYYY-MM.csv",
        response=STATEMENT, problems=("invalid-request", "municipality-mismatch", "not-found"))
    statement_op["responses"]["200"]["content"].update({
        "application/pdf": {"schema": {"type": "string", "format": "binary",
                                       "contentMediaType": "application/pdf"}},
        "text/csv": {"schema": {"type": "string"}}})
    statement_op["parameters"] = [{
        "name": "month", "in": "path", "required": True,
        "description": "YYYY-MM (JSON), YYYY-MM.pdf (application/pdf) or YYYY-MM.csv "
                       "(text/csv, UTF-8)",
        "schema": {"type": "string", "minLength": 1, "examples": ["2026-11", "2026-11.pdf",
                                                                 "2026-11.csv"]}}]
    return statement_op


routes = web.RouteTableDef()


def _problem(error: TermsError) -> Problem:
    return invalid_request([{"field": error.field, "message": error.message}])


async def _registered(ctx: CenterContext, code: str):  # type: ignore[no-untyped-def]
    found = await ctx.store.municipality(code)
    if found is None:
        raise Problem("not-found", "this municipality is not registered")
    return found[0]


@routes.post("/v1/municipalities/{code}/fees")
async def add_fee_period(request: web.Request) -> web.Response:
    """A fee for one type between two dates (a campaign fee); periods of one
    type may not overlap (409 conflict, nothing changed)."""
    ctx = context(request)
    code = _own_code(request)
    body = await read_json(request, FEE_PERIOD)
    registration = await _registered(ctx, code)
    try:
        period = FeePeriod(code, body["type"], body["fee_yen"],
                           parse_date(body["starts_on"], "starts_on"),
                           parse_date(body["ends_on"], "ends_on")).check()
    except TermsError as exc:
        raise _problem(exc) from exc
    if registration.offer(period.type) is None:
        raise invalid_request([{"field": "type",
                                "message": "this municipality does not offer this type"}])
    added = await ctx.store.ledger.add_fee_period(period, ctx.clock.now())
    if added is None:
        raise Problem("conflict", "the period overlaps another fee period of this type",
                      errors=[{"field": "starts_on", "message": "overlaps an existing period"}])
    return json_response(added.to_json(), status=201)


@routes.get("/v1/municipalities/{code}/fees")
async def list_fee_periods(request: web.Request) -> web.Response:
    ctx = context(request)
    code = _own_code(request)
    registration = await _registered(ctx, code)
    now = ctx.clock.now()
    in_force = await with_fees_in_force(ctx.store, registration, now)
    return json_response({
        "periods": [p.to_json() for p in await ctx.store.ledger.fee_periods(code)],
        "in_force": [{"type": o.type.value, "fee_yen": o.fee_yen} for o in in_force.services],
    })


@routes.delete("/v1/municipalities/{code}/fees/{period_id}")
async def delete_fee_period(request: web.Request) -> web.Response:
    ctx = context(request)
    code = _own_code(request)
    raw = request.match_info["period_id"]
    if not raw.isdigit() or len(raw) > 12 or not await ctx.store.ledger.delete_fee_period(
            code, int(raw)):
        raise Problem("not-found", "no such fee period")
    return web.Response(status=204)


@routes.get("/v1/municipalities/{code}/statements/{month}")
async def get_statement(request: web.Request) -> web.Response:
    """``{month}`` is YYYY-MM, YYYY-MM.pdf or YYYY-MM.csv."""
    ctx = context(request)
    code = _own_code(request)
    name = request.match_info["month"]
    month, _, extension = name.partition(".")
    if extension not in ("", "pdf", "csv"):
        raise Problem("not-found", "a statement is .pdf, .csv or JSON")
    try:
        found = await statement(ctx.store, month, municipality=code)
    except TermsError as exc:
        if exc.field == "municipality":
            raise Problem("not-found", "this municipality is not registered") from exc
        raise _problem(exc) from exc
    filename = f"statement-{code}-{month}"
    if extension == "pdf":
        pdf = await asyncio.to_thread(statement_pdf, found)
        return web.Response(body=pdf, content_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{filename}.pdf"'})
    if extension == "csv":
        return web.Response(text=statement_csv(found), content_type="text/csv",
                            charset="utf-8", headers={
                                "Content-Disposition": f'attachment; filename="{filename}.csv"'})
    return json_response(found.to_json())


@routes.get("/v1/municipalities/{code}/statistics")
async def get_statistics(request: web.Request) -> web.Response:
    ctx = context(request)
    code = _own_code(request)
    raw = request.query.get("fiscal_year")
    if raw is None:
        fiscal_year = fiscal_year_of(ctx.clock.now())
    elif raw.isdigit() and len(raw) == 4:
        fiscal_year = int(raw)
    else:
        raise invalid_request([{"field": "fiscal_year", "message": "a year such as 2026"}])
    try:
        found = await statistics(ctx.store, fiscal_year, municipality=code)
    except TermsError as exc:
        if exc.field == "municipality":
            raise Problem("not-found", "this municipality is not registered") from exc
        raise _problem(exc) from exc
    return json_response(found.to_json())


def openapi_paths() -> dict[str, dict[str, Any]]:
    statement_op = _statement_operation()
    statistics_op = operation(
        "Addition: the municipality's statistics for a fiscal year (April–March, JST): "
        "printed certificates by month, type group, type, chain, hour, weekday; refusals by "
        "code and reason", response=STATISTICS,
        problems=("invalid-request", "municipality-mismatch", "not-found"))
    statistics_op.setdefault("parameters", []).append(
        {"name": "fiscal_year", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}})
    return {
        "/v1/municipalities/{code}/fees": {
            "post": operation(
                "Addition: a fee for one type from starts_on to ends_on inclusive (Japan "
                "dates), e.g. a campaign fee; the menu and orders use the fee in force; "
                "overlapping periods of one type are refused (409 conflict)",
                body=FEE_PERIOD.schema, ok=201, response=FEE_PERIOD_OUT,
                problems=("invalid-request", "conflict", "municipality-mismatch",
                          "not-found")),
            "get": operation("Addition: the fee periods and the fees in force now",
                             response=FEES, problems=("municipality-mismatch", "not-found")),
        },
        "/v1/municipalities/{code}/fees/{period_id}": {"delete": operation(
            "Addition: withdraw a fee period", ok=204,
            problems=("municipality-mismatch", "not-found"))},
        "/v1/municipalities/{code}/statements/{month}": {"get": statement_op},
        "/v1/municipalities/{code}/statistics": {"get": statistics_op},
    }
