"""What the fuzzing found, kept as plain tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from tests.contract.conftest import Contract


def _admin(contract: Contract, method: str, path: str, body: object = None
           ) -> tuple[int, dict]:
    request = urllib.request.Request(
        contract.admin_url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {contract.admin_token}",
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_seal_without_impression_for_a_surname_that_does_not_fit(contract: Contract) -> None:
    """印鑑登録 without an impression makes the surname's seal; a surname of
    more than 6 characters (or none) cannot be one: 422, nothing registered
    (was a 500)."""
    for name in ("ヴァンデンブルックス ジャン", "   "):
        status, household = _admin(contract, "POST", "/admin/v1/households", {
            "address": "試験県検証市本町2番地", "members": [{
                "name": name, "name_kana": "みほん", "birth_date": "1980-01-01",
                "sex": "男", "relationship": "世帯主"}]})
        assert status == 201, household
        code = household["residents"][0]["resident_code"]
        status, problem = _admin(contract, "PUT", f"/admin/v1/residents/{code}/seal", {})
        assert (status, problem["code"]) == (422, "invalid-request"), problem
        assert problem["errors"][0]["field"] == "image_png"
        status, record = _admin(contract, "GET", f"/admin/v1/residents/{code}")
        assert status == 200 and record["seal"] is None


def test_a_notification_dated_on_no_day_is_refused(contract: Contract) -> None:
    """届出 and their entry on a date that matches YYYY-MM-DD but is no day
    (0000-00-00): 422 on the field, the register still certifiable (was a 500)."""
    status, register = _admin(contract, "POST", "/admin/v1/family-registers", {
        "domicile": "試験県検証市本町4番地", "head_name": "見本 一郎", "compiled_on": "2000-01-01",
        "persons": [{"name": "見本", "given_name": "一郎", "birth_date": "1970-01-01",
                     "relationship": "戸主"}]})
    assert status == 201, register
    path = f"/admin/v1/family-registers/{register['register_id']}/notifications"
    status, problem = _admin(contract, "POST", path, {"kind": "出生", "filed_on": "0000-00-00"})
    assert (status, problem["code"], problem["errors"][0]["field"]) == (
        422, "invalid-request", "filed_on"), problem
    status, problem = _admin(contract, "POST", path + "/reflect", {"on": "2026-02-30"})
    assert (status, problem["code"], problem["errors"][0]["field"]) == (
        422, "invalid-request", "on"), problem
    status, answer = _admin(contract, "POST", path + "/reflect", {})
    assert (status, answer["pending"]) == (200, False), answer
