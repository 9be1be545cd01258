"""Malformed requests get a problem document with a 4xx status, never a
500, and change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from tests.conftest import Raw, System
from tests.support import table_count


@pytest.fixture
async def authenticated(kiosk: KioskClient, wallet: Wallet) -> AsyncIterator[str]:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    yield session["session_id"]
    await kiosk.end_session(session["session_id"])


GOOD_ORDER = {"type": "juminhyo", "copies": 1, "options": {}, "expected_fee_yen": 200}

BAD_ORDERS = [
    ("malformed JSON", '{"type": "juminhyo",', "body"),
    ("JSON that is not an object", '["juminhyo"]', "body"),
    ("not UTF-8", b"\xff\xfe{}", "body"),
    ("empty body", "", "body"),
    ("copies as a string", {**GOOD_ORDER, "copies": "1"}, "copies"),
    ("copies 0", {**GOOD_ORDER, "copies": 0}, "copies"),
    ("copies 11", {**GOOD_ORDER, "copies": 11, "expected_fee_yen": 2200}, "copies"),
    ("unknown type", {**GOOD_ORDER, "type": "passport"}, "type"),
    ("unknown field", {**GOOD_ORDER, "colour": "red"}, "colour"),
    ("unknown option", {**GOOD_ORDER, "options": {"photo": True}}, "options.photo"),
    ("option of another type", {**GOOD_ORDER, "options": {"fiscal_year": 2025}},
     "options.fiscal_year"),
    ("members neither household nor a list", {**GOOD_ORDER, "options": {"members": "all"}},
     "options.members"),
    ("a boolean as the fee", {**GOOD_ORDER, "expected_fee_yen": True}, "expected_fee_yen"),
    ("a negative fee", {**GOOD_ORDER, "expected_fee_yen": -200}, "expected_fee_yen"),
    ("type missing", {"copies": 1, "expected_fee_yen": 200}, "type"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_ORDERS, ids=[c[0] for c in BAD_ORDERS])
async def test_bad_orders(system: System, as_kiosk: Raw, authenticated: str, case: str,
                          body: object, field: str) -> None:
    before = (table_count(system.center_db, "orders"),
              table_count(system.municipal_db("131016"), "issuance_history"))
    path = f"/v1/sessions/{authenticated}/orders"
    if isinstance(body, dict):
        status, problem, headers = await as_kiosk.call("POST", path, json_body=body)
    else:
        status, problem, headers = await as_kiosk.call("POST", path, data=body)
    assert status == 422, problem
    assert headers["Content-Type"].startswith("application/problem+json")
    assert problem["code"] == "invalid-request"
    assert field in {e["field"] for e in problem["errors"]}, problem["errors"]
    assert (table_count(system.center_db, "orders"),
            table_count(system.municipal_db("131016"), "issuance_history")) == before


async def test_a_body_over_one_mebibyte(system: System, as_kiosk: Raw,
                                        authenticated: str) -> None:
    before = table_count(system.center_db, "orders")
    padding = "x" * (1024 * 1024 + 1)
    status, problem, _ = await as_kiosk.call(
        "POST", f"/v1/sessions/{authenticated}/orders",
        json_body={**GOOD_ORDER, "options": {"disaster_id": padding}})
    assert (status, problem["code"]) == (413, "request-too-large")
    assert table_count(system.center_db, "orders") == before


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("GET", "/v1/nowhere", None, 404, "not-found"),
    ("PATCH", "/v1/sessions", {}, 405, "method-not-allowed"),
    ("POST", "/v1/sessions", {"credential": "passport"}, 422, "invalid-request"),
    ("POST", "/v1/sessions/nope/authenticate", {"certificate": "!!", "signature": ""}, 422,
     "invalid-request"),
    ("POST", "/v1/sessions/nope/authenticate", {"certificate": "AA", "signature": "AA"}, 404,
     "session-not-found"),
    ("GET", "/v1/sessions/" + "x" * 500 + "/menu", None, 404, "session-not-found"),
    ("GET", "/v1/orders/nope/certificates/nope.pdf", None, 404, "order-not-found"),
    ("POST", "/v1/orders/nope/result", {"printed": "all"}, 422, "invalid-request"),
    ("DELETE", "/v1/sessions/nope", None, 404, "session-not-found"),
])
async def test_kiosk_api_problems(as_kiosk: Raw, method: str, path: str, body: object,
                                  status: int, code: str) -> None:
    got, problem, headers = await as_kiosk.call(method, path, json_body=body)
    assert (got, problem["code"]) == (status, code), problem
    assert headers["Content-Type"].startswith("application/problem+json")


async def test_authenticate_with_garbage_certificate(kiosk: KioskClient) -> None:
    from kiosk_sim.client import KioskProblem

    session = await kiosk.start_session()
    with pytest.raises(KioskProblem) as refused:
        await kiosk.request("POST", f"/v1/sessions/{session['session_id']}/authenticate",
                            {"certificate": "AAAA", "signature": "AAAA"})
    assert refused.value.code == "certificate-untrusted"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "千代田区", "prefecture": "東京都", "endpoint": "http://127.0.0.1:1",
      "services": [{"type": "juminhyo", "fee_yen": 200}]}, "endpoint"),
    ({"name": "千代田区", "prefecture": "東京都", "endpoint": "https://127.0.0.1:1",
      "services": [{"type": "juminhyo", "fee_yen": 200, "hours": {"weekday": "17:00-08:30"}}]},
     "services.0.hours"),
    ({"name": "千代田区", "prefecture": "東京都", "endpoint": "https://127.0.0.1:1",
      "services": [{"type": "juminhyo", "fee_yen": 200}, {"type": "juminhyo", "fee_yen": 300}]},
     "services.1.type"),
    ({"name": "千代田区", "prefecture": "東京都", "endpoint": "https://127.0.0.1:1",
      "services": []}, "services"),
])
async def test_bad_registrations_change_nothing(system: System, as_chiyoda: Raw, body: dict,
                                                field: str) -> None:
    _, before, _ = await as_chiyoda.call("GET", "/v1/municipalities/131016")
    status, problem, _ = await as_chiyoda.call("PUT", "/v1/municipalities/131016",
                                               json_body=body)
    assert (status, problem["code"]) == (422, "invalid-request")
    assert field in {e["field"] for e in problem["errors"]}, problem["errors"]
    _, after, _ = await as_chiyoda.call("GET", "/v1/municipalities/131016")
    assert after == before


async def test_bad_municipal_server_requests(system: System) -> None:
    raw = Raw(system.municipal_url("131016"), system.ssl_as_center())
    try:
        for body, status, code in [
            ({"resident_code": "1", "at": "2026-11-24T10:00:00+09:00", "extra": 1}, 422,
             "invalid-request"),
            ({"resident_code": "00000000000", "at": "2026-11-24T10:00:00+09:00"}, 403,
             "resident-ineligible"),
            ({"resident_code": "1", "at": "yesterday"}, 422, "invalid-request"),
        ]:
            got, problem, _ = await raw.call("POST", "/v1/menu", json_body=body)
            assert (got, problem["code"]) == (status, code), problem
    finally:
        await raw.close()
