"""A JSON integer written with a fraction (``1.0``) passes ``"type": "integer"``
(JSON Schema), so what the handlers get must be an int: ``copies: 1.0`` in an
order made the municipal server answer 500 (found by the contract fuzzing)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from konbini.problems import Problem
from konbini.schemas import obj
from konbini.validation import BodySchema, read_json

ORDER = BodySchema(obj({"copies": {"type": "integer", "minimum": 1, "maximum": 10},
                        "ratio": {"type": "number"}}, ["copies"]))


async def _echo(request: web.Request) -> web.Response:
    try:
        body = await read_json(request, ORDER)
    except Problem as problem:
        return web.json_response({"code": problem.code}, status=422)
    return web.json_response({name: type(value).__name__ for name, value in body.items()})


async def test_integral_numbers_reach_the_handler_as_integers(aiohttp_client: Any) -> None:
    app = web.Application()
    app.router.add_post("/", _echo)
    client = await aiohttp_client(app)
    for raw, expected in (('{"copies": 1.0}', {"copies": "int"}),
                          ('{"copies": 2e0, "ratio": 0.5}', {"copies": "int", "ratio": "float"}),
                          ('{"copies": 3, "ratio": 1.0}', {"copies": "int", "ratio": "int"})):
        response = await client.post("/", data=raw, headers={"Content-Type": "application/json"})
        assert (response.status, await response.json()) == (200, expected), raw
    response = await client.post("/", data='{"copies": 1.5}',
                                 headers={"Content-Type": "application/json"})
    assert (response.status, await response.json()) == (422, {"code": "invalid-request"})
