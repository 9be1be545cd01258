"""The HTTP stack's cheaper paths (issue 12) answer exactly as before:
``service_middleware`` (request id, access log, metrics and problem documents as
one layer) against the four middlewares it folds, and the JSON written and read
by orjson against json's for what orjson refuses."""

from __future__ import annotations

import logging
import math

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from center.municipal_client import _encode, _parse
from konbini.http import (
    access_log_middleware,
    current_request_id,
    json_bytes,
    json_response,
    problem_middleware,
    request_id_middleware,
    service_middleware,
)
from konbini.metrics import ServiceMetrics, serve_metrics
from konbini.problems import Problem

ACCESS = "konbini.access"


def app_with(folded: bool) -> web.Application:
    metrics = ServiceMetrics("test")
    metrics.count_issuances("POST", "/v1/certificates", metrics.counter(
        "certificate_requests", "by type and result", ["type", "result"]))
    middlewares = ([service_middleware(metrics, "api")] if folded else
                   [request_id_middleware, access_log_middleware, metrics.middleware("api"),
                    problem_middleware])
    app = web.Application(middlewares=middlewares)

    async def certificates(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("type") != "juminhyo":
            raise Problem("type-unavailable", "not here", reason="closed")
        return json_response({"certificates": [{"pdf": "JVBERi0=", "name": "霞 太郎"}]},
                             status=201)

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("a defect")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/v1/certificates")

    app.router.add_post("/v1/certificates", certificates)
    app.router.add_get("/v1/crash", crash)
    app.router.add_get("/v1/moved", moved)
    serve_metrics(app, metrics)
    return app


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.parametrize("folded", [False, True], ids=["four-layers", "folded"])
async def test_one_layer_answers_logs_and_counts_as_the_four(aiohttp_client, caplog,
                                                            folded: bool) -> None:
    client = await aiohttp_client(app_with(folded))
    caplog.set_level(logging.INFO, logger=ACCESS)

    ok = await client.post("/v1/certificates", json={"type": "juminhyo"},
                           headers={"X-Request-Id": "kiosk-req-1"})
    assert ok.status == 201 and ok.headers["X-Request-Id"] == "kiosk-req-1"
    assert (await ok.json())["certificates"][0]["name"] == "霞 太郎"

    refused = await client.post("/v1/certificates", json={"type": "inkan"})
    assert refused.status == 409 and refused.content_type == "application/problem+json"
    assert (await refused.json())["code"] == "type-unavailable"
    assert len(refused.headers["X-Request-Id"]) == 32  # made up: the caller sent none

    bad_id = await client.get("/nowhere/12345", headers={"X-Request-Id": "no spaces!"})
    assert bad_id.status == 404 and (await bad_id.json())["code"] == "not-found"
    assert bad_id.headers["X-Request-Id"] != "no spaces!"

    wrong_method = await client.delete("/v1/certificates")
    assert wrong_method.status == 405 and "POST" in wrong_method.headers["Allow"]
    assert (await wrong_method.json())["code"] == "method-not-allowed"

    crashed = await client.get("/v1/crash")
    assert crashed.status == 500 and (await crashed.json())["code"] == "internal-error"

    moved = await client.get("/v1/moved", allow_redirects=False)
    assert moved.status == 302 and moved.headers["Location"] == "/v1/certificates"
    assert "X-Request-Id" in moved.headers

    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS]
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "POST /v1/certificates 201", "POST /v1/certificates 409", "GET - 404",
        "DELETE - 405", "GET /v1/crash 500", "GET /v1/moved 302"]
    assert all(line.endswith("ms") for line in lines)
    assert not any("霞" in line or "12345" in line for line in lines)  # no data, no paths

    found = samples(await (await client.get("/metrics")).text())
    histogram = "konbini_http_request_duration_seconds_count"
    assert found[(histogram, frozenset({("listener", "api"), ("method", "POST"),
                                        ("route", "/v1/certificates"),
                                        ("status", "201")}))] == 1
    assert found[(histogram, frozenset({("listener", "api"), ("method", "GET"),
                                        ("route", "unmatched"), ("status", "404")}))] == 1
    assert found[(histogram, frozenset({("listener", "api"), ("method", "GET"),
                                        ("route", "/v1/moved"), ("status", "302")}))] == 1
    assert found[("konbini_refusals_total", frozenset({
        ("listener", "api"), ("code", "type-unavailable"), ("reason", "closed")}))] == 1
    assert found[("konbini_refusals_total", frozenset({
        ("listener", "api"), ("code", "internal-error"), ("reason", "")}))] == 1
    assert found[("konbini_certificate_requests_total", frozenset({
        ("type", "juminhyo"), ("result", "issued")}))] == 1
    assert found[("konbini_certificate_requests_total", frozenset({
        ("type", "inkan"), ("result", "type-unavailable")}))] == 1


async def test_the_request_id_is_the_log_lines_own_during_the_request(aiohttp_client
                                                                     ) -> None:
    seen: list[str] = []
    app = app_with(True)

    async def logs(request: web.Request) -> web.Response:
        seen.append(current_request_id.get())  # what RequestIdFilter puts on a log line
        return json_response({})

    app.router.add_get("/v1/logs", logs)
    client = await aiohttp_client(app)
    await client.get("/v1/logs", headers={"X-Request-Id": "req-42"})
    assert seen == ["req-42"]
    assert current_request_id.get() == "-"  # reset after the request


def test_json_bytes_writes_what_json_wrote_where_orjson_refuses() -> None:
    assert json_bytes({"name": "霞 太郎", "n": [1, 2.5, None, True]}).decode() == \
        '{"name":"霞 太郎","n":[1,2.5,null,true]}'
    # orjson refuses these; json writes them as it always did
    assert json_bytes({1: "a"}) == b'{"1": "a"}'
    assert json_bytes({"big": 2**70}) == b'{"big": 1180591620717411303424}'
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate: an error, as before
        json_bytes({"x": "\udafa"})


def test_municipal_answers_and_requests_round_trip_with_json_fallbacks() -> None:
    assert _parse(b'{"fee_yen": 300, "pdf": "JVBERi0="}') == {"fee_yen": 300,
                                                            "pdf": "JVBERi0="}
    assert math.isnan(_parse(b'{"x": NaN}')["x"])  # json's leniency, as before
    assert _parse('{"名": 1}'.encode("utf-16")) == {"名": 1}  # json detects UTF-16
    with pytest.raises(ValueError):
        _parse(b"<html>")
    assert _encode({"resident_code": "1", "at": "2026"}) == b'{"resident_code":"1","at":"2026"}'
    # what orjson refuses goes as aiohttp's json= sent it: ASCII escapes
    assert _encode({"x": "\udafa"}) == b'{"x": "\\udafa"}'
