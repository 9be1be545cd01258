"""The published OpenAPI documents describe what the services really serve,
and real responses conform to them."""

from __future__ import annotations

import aiohttp
from jsonschema import Draft202012Validator

from center.app import create_api_app, create_public_app
from center.metrics import CenterMetrics
from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from municipal_server.app import create_app as create_municipal_app
from tests.conftest import Raw, System


def _routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(route.method.lower(), route.resource.canonical) for route in app.router.routes()
            if route.method not in ("HEAD", "*")}


def _documented(document: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


async def _get(url: str, ssl_context=None) -> dict:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context)) as s, \
            s.get(url) as response:
        assert response.status == 200
        return await response.json()


class _Ctx:
    class config:
        dev_mode = True

    metrics = CenterMetrics()


async def test_center_document_matches_its_routes(system: System) -> None:
    document = await _get(f"{system.public_url}/v1/openapi.json")
    assert document["openapi"] == "3.1.0"
    same = await _get(f"{system.center_url}/v1/openapi.json", system.ssl_as_kiosk())
    assert same == document
    served = _routes(create_api_app(_Ctx())) | _routes(create_public_app(_Ctx()))  # type: ignore[arg-type]
    assert served == _documented(document)


async def test_municipal_document_matches_its_routes(system: System) -> None:
    document = await _get(f"{system.municipal_url('131016')}/v1/openapi.json",
                          system.ssl_as_center())
    served = _routes(create_municipal_app(None))  # type: ignore[arg-type]
    assert served == _documented(document)


async def test_responses_conform(system: System, kiosk: KioskClient, wallet: Wallet,
                                 as_kiosk: Raw) -> None:
    document = await _get(f"{system.public_url}/v1/openapi.json")
    paths = document["paths"]

    def check(path: str, method: str, status: str, body: object,
              media: str = "application/json") -> None:
        schema = paths[path][method]["responses"][status]["content"][media]["schema"]
        errors = list(Draft202012Validator(schema).iter_errors(body))
        assert not errors, errors

    session = await kiosk.start_session()
    check("/v1/sessions", "post", "201", session)
    authenticated = await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    check("/v1/sessions/{session_id}/authenticate", "post", "200", authenticated)
    menu = await kiosk.menu(session["session_id"])
    check("/v1/sessions/{session_id}/menu", "get", "200", menu)
    order = await kiosk.order(session["session_id"], "juminhyo", 1, {}, 200)
    check("/v1/sessions/{session_id}/orders", "post", "201", order)
    settlement = await kiosk.report_result(order["order_id"],
                                           [order["certificates"][0]["certificate_id"]])
    check("/v1/orders/{order_id}/result", "post", "200", settlement)
    check("/v1/trust-list", "get", "200", await _get(f"{system.public_url}/v1/trust-list"))
    _, problem, _ = await as_kiosk.call("GET", "/v1/nowhere")
    errors = list(Draft202012Validator(document["components"]["schemas"]["Problem"])
                  .iter_errors(problem))
    assert not errors
    await kiosk.end_session(session["session_id"])
