"""However malformed the request, no route answers 500: every documented
operation of every service gets junk bodies and odd path parameters."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest

from tests.conftest import Raw, System

JUNK_BODIES: list[bytes | None] = [
    None, b"", b"garbage", b"[]", b"null", b"0", b'"text"', b'{"a": 1}',
    json.dumps({"type": "juminhyo", "copies": 10**30, "options": {"members": [None]},
                "expected_fee_yen": 1e308}).encode(),
    b"[" * 5000 + b"]" * 5000,
    json.dumps({"certificate": "A" * 5000, "signature": "_-" * 100}).encode(),
    json.dumps({"name": "\u0000", "prefecture": "\ud800".encode("utf-8", "surrogatepass")
                .decode("utf-8", "replace"), "endpoint": "https://[::1", "services": [{}]}
               ).encode(),
    b"\xff\xfe\x00",
]
PATH_VALUES = ["x", "0", "%00", "..%2F..", "%E9%9C%9E", "A" * 300]


def _paths(document: dict) -> list[tuple[str, str]]:
    found = []
    for template, item in document["paths"].items():
        for method in item:
            for value in PATH_VALUES:
                found.append((method.upper(), re.sub(r"\{[^}]+\}", value, template)))
    return found


async def _sweep(raw: Raw, document: dict) -> list[str]:
    failures = []
    for method, path in _paths(document):
        for body in JUNK_BODIES:
            status, response, headers = await raw.call(method, path, data=body)
            if status >= 500 and not (status in (503, 504) and isinstance(response, dict)):
                failures.append(f"{method} {path} {body[:20] if body else body!r}: {status}")
            elif status >= 400:
                assert headers["Content-Type"].startswith("application/problem+json"), path
    return failures


async def _document(url: str, ssl_context=None) -> dict:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context)) as s, \
            s.get(url) as response:
        return await response.json()


@pytest.mark.parametrize("caller", ["kiosk", "municipality"])
async def test_center_api(system: System, caller: str) -> None:
    document = await _document(f"{system.public_url}/v1/openapi.json")
    context = (system.ssl_as_kiosk("kiosk-0002") if caller == "kiosk"
               else system.ssl_as_municipality("141003"))
    raw = Raw(system.center_url, context)
    try:
        assert await _sweep(raw, document) == []
    finally:
        await raw.close()


async def test_municipal_server(system: System) -> None:
    document = await _document(f"{system.municipal_url('131016')}/v1/openapi.json",
                               system.ssl_as_center())
    raw = Raw(system.municipal_url("131016"), system.ssl_as_center())
    try:
        assert await _sweep(raw, document) == []
    finally:
        await raw.close()
