"""The published OpenAPI documents describe what the services really serve,
and real responses conform to them."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

from center.app import create_api_app, create_public_app
from center.metrics import CenterMetrics
from center.openapi import center_openapi
from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from konbini.problems import PROBLEM_STATUS
from municipal_server.admin_api import create_admin_app
from municipal_server.app import create_app as create_municipal_app
from tests.conftest import Raw, System


def _routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(route.method.lower(), route.resource.canonical) for route in app.router.routes()
            if route.method not in ("HEAD", "*")}


def _documented(document: dict, tags: set[str] | None = None) -> set[tuple[str, str]]:
    """(method, path) of the operations, or of those with one of ``tags``."""
    return {(method, path) for path, item in document["paths"].items()
            for method, op in item.items() if method != "parameters"
            and (tags is None or tags & set(op.get("tags", ())))}


async def _get(url: str, ssl_context=None, headers=None) -> dict:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context)) as s, \
            s.get(url, headers=headers) as response:
        assert response.status == 200
        return await response.json()


class _Ctx:
    def __init__(self, dev_mode: bool = True) -> None:
        self.config = type("Config", (), {"dev_mode": dev_mode})()
        self.metrics = CenterMetrics()


def _api_tags(document: dict) -> set[str]:
    """The tags of the mutual-TLS listener: all but ``public``."""
    return {tag["name"] for tag in document["tags"]} - {"public"}


def _admin_url(system: System, code: str = "131016") -> str:
    return f"http://127.0.0.1:{system.topology.ports.municipal_admin[code]}"


def _admin_token(system: System, code: str = "131016") -> dict[str, str]:
    token = (system.var / "municipal" / code / "admin-token").read_text().strip()
    return {"Authorization": f"Bearer {token}"}


async def _served_documents(system: System) -> dict[str, dict]:
    documents = {
        "center public": await _get(f"{system.public_url}/v1/openapi.json"),
        "center API (--dev)": await _get(f"{system.center_url}/v1/openapi.json",
                                         system.ssl_as_kiosk()),
        "clerk admin API": await _get(f"{_admin_url(system)}/admin/v1/openapi.json",
                                      headers=_admin_token(system)),
    }
    for code in system.topology.ports.municipal:
        documents[f"municipal {code}"] = await _get(
            f"{system.municipal_url(code)}/v1/openapi.json", system.ssl_as_center())
    return documents


async def test_every_served_document_validates(system: System) -> None:
    """openapi-spec-validator finds no error in any document a service serves
    (nor in the center's without --dev, which the tests never run)."""
    documents = await _served_documents(system)
    documents["center API (without --dev)"] = center_openapi(dev_mode=False)
    for name, document in documents.items():
        assert document["openapi"] == "3.1.0", name
        errors = [str(e).splitlines()[0] for e in
                  OpenAPIV31SpecValidator(document).iter_errors()]
        assert errors == [], (name, errors)
        for path, item in document["paths"].items():
            for method, op in item.items():
                if method == "parameters":
                    continue
                statuses = set(op["responses"])
                assert any(s.startswith("2") for s in statuses), (name, method, path)
                assert "default" not in statuses, (name, method, path)
                for status, response in op["responses"].items():
                    if status.startswith(("4", "5")):
                        media = response["content"]["application/problem+json"]
                        assert media["examples"], (name, method, path, status)


async def test_center_document_matches_its_routes(system: System) -> None:
    """Every route of each center listener is documented with the listener's
    tag, and every documented operation is served; with --dev and without."""
    document = await _get(f"{system.public_url}/v1/openapi.json")
    same = await _get(f"{system.center_url}/v1/openapi.json", system.ssl_as_kiosk())
    assert same == document
    api_tags = _api_tags(document)
    assert _routes(create_api_app(_Ctx())) == _documented(document, api_tags)  # type: ignore[arg-type]
    assert _routes(create_public_app(_Ctx())) == _documented(document, {"public"})  # type: ignore[arg-type]
    assert _documented(document) == (_documented(document, api_tags)
                                     | _documented(document, {"public"}))
    without_dev = center_openapi(dev_mode=False)
    assert (_routes(create_api_app(_Ctx(dev_mode=False)))  # type: ignore[arg-type]
            == _documented(without_dev, _api_tags(without_dev)))
    assert not any(path.startswith("/v1/dev/") for path in without_dev["paths"])


async def test_municipal_documents_match_their_routes(system: System) -> None:
    document = await _get(f"{system.municipal_url('131016')}/v1/openapi.json",
                          system.ssl_as_center())
    served = _routes(create_municipal_app(None))  # type: ignore[arg-type]
    assert served == _documented(document)
    admin = await _get(f"{_admin_url(system)}/admin/v1/openapi.json",
                       headers=_admin_token(system))
    assert _routes(create_admin_app(None, "token")) == _documented(admin)  # type: ignore[arg-type]


async def test_documented_routes_answer(system: System) -> None:
    """Probe: each documented path of the center's document, with its
    parameters filled in, reaches a handler on its listener (whatever the
    answer, never a 404 `not-found` or 405 for want of a route)."""
    document = await _get(f"{system.public_url}/v1/openapi.json")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=system.ssl_as_kiosk())) as api, aiohttp.ClientSession() as public:
        for method, path in sorted(_documented(document)):
            op = document["paths"][path][method]
            tags = set(op.get("tags", ()))
            session, base = ((public, system.public_url) if "public" in tags
                             else (api, system.center_url))
            url = base + path.replace("{", "").replace("}", "")
            async with session.request(method.upper(), url) as response:
                body = await response.read()
                assert response.status != 405, (method, path)
                if response.status == 404:
                    code = json.loads(body).get("code")
                    assert code != "not-found" or "{" in path, (method, path, code)


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


async def test_docs_api_md_says_what_the_documents_say(system: System) -> None:
    """docs/api.md, the contract in the repository, names every served path
    and every problem code the documents list (the clerk's resident paths
    abbreviated to `…/{resident_code}/…` in its table)."""
    contract = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(
        encoding="utf-8")
    documents = await _served_documents(system)
    documents["center API (without --dev)"] = center_openapi(dev_mode=False)
    missing = set()
    for name, document in documents.items():
        for path, item in document["paths"].items():
            short = path.replace("/admin/v1/residents/{resident_code}", "…/{resident_code}")
            for method in item:
                if method == "parameters":
                    continue
                if path not in contract and short not in contract:
                    missing.add((name, method, path))
                for code in item[method]["x-problem-codes"]:
                    if f"`{code}`" not in contract:
                        missing.add((name, "problem code", code))
    assert not missing, sorted(missing)
    for code in PROBLEM_STATUS:
        assert f"`{code}`" in contract, code
