"""JSON may spell a lone surrogate ("\\udafa"), which is not Unicode text and
cannot be stored or printed: every service refuses it with 422
``invalid-request`` naming the field, and changes nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from tests.contract.conftest import Contract

FAMILY_REGISTER = {
    "domicile": "試験県検証市本町1番地", "head_name": "見本 一郎", "compiled_on": "2020-01-01",
    "persons": [{"name": "見本 一郎", "given_name": "一郎", "birth_date": "1980-01-01",
                 "relationship": "筆頭者"}]}


def _call(url: str, body: bytes, headers: dict[str, str], context=None,  # type: ignore[no-untyped-def]
          method: str = "POST") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_clerk_api_refuses_a_lone_surrogate_and_stores_nothing(contract: Contract) -> None:
    auth = {"Authorization": f"Bearer {contract.admin_token}"}
    body = json.dumps({**FAMILY_REGISTER, "head_name": "見本 \udafa"}).encode()
    assert b"\\udafa" in body
    status, problem = _call(f"{contract.admin_url}/admin/v1/family-registers", body, auth)
    assert status == 422, problem
    assert problem["code"] == "invalid-request"
    assert problem["errors"] == [{"field": "head_name",
                                  "message": "not Unicode text (a lone surrogate)"}]
    # nested, and in a member name
    persons = [{**FAMILY_REGISTER["persons"][0], "events": [
        {"kind": "出生", "details": [["出生地", "\ud800"]]}]}]
    status, problem = _call(f"{contract.admin_url}/admin/v1/family-registers",
                            json.dumps({**FAMILY_REGISTER, "persons": persons}).encode(), auth)
    assert (status, problem["errors"][0]["field"]) == (422, "persons.0.events.0.details.0.1")
    status, problem = _call(f"{contract.admin_url}/admin/v1/households", json.dumps(
        {"address": "試験県検証市本町1番地", "members": [], "\udc00": 1}).encode(), auth)
    assert (status, problem["code"]) == (422, "invalid-request")
    # nothing was written: a search finds no 見本
    request = urllib.request.Request(
        f"{contract.admin_url}/admin/v1/residents?name=%E8%A6%8B%E6%9C%AC", headers=auth)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["residents"] == []
    # the same register, spelt properly, is accepted
    status, created = _call(f"{contract.admin_url}/admin/v1/family-registers",
                            json.dumps(FAMILY_REGISTER).encode(), auth)
    assert status == 201, created


def test_kiosk_and_municipality_apis_refuse_a_lone_surrogate(contract: Contract) -> None:
    center = contract.system.center_url
    status, problem = _call(f"{center}/v1/sessions", b'{"credential": "card\\udafa"}', {},
                            contract.ssl_as_kiosk())
    assert (status, problem["code"], problem["errors"][0]["field"]) == (
        422, "invalid-request", "credential")
    status, problem = _call(f"{center}/v1/municipalities/011002/maintenance",
                            b'{"starts_at": "2026-11-28T22:00:00+09:00", "ends_at": '
                            b'"2026-11-29T06:00:00+09:00", "reason": "\\udafa"}', {},
                            contract.ssl_as_municipality())
    assert (status, problem["errors"][0]["field"]) == (422, "reason")
