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
