"""The clerk's interface (admin API and CLI): every change is in force for the
very next request, and bad input changes nothing (issue 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import System
from tests.support import database_dump, pdf_pages_text

CHIYODA = "131016"
ADDRESS = "東京都千代田区九段南1丁目2番1号"


class Admin:
    """The admin API of 千代田区 with the clerk's token."""

    def __init__(self, system: System, token: str | None = None) -> None:
        self.base = f"http://127.0.0.1:{system.topology.ports.municipal_admin[CHIYODA]}"
        self.token = token if token is not None else (
            system.var / "municipal" / CHIYODA / "admin-token").read_text().strip()
        self.session = aiohttp.ClientSession()

    async def __call__(self, method: str, path: str, body: Any = None, *,
                       data: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        kwargs: dict[str, Any] = {"json": body} if data is None else {
            "data": data, "headers": {**headers, "Content-Type": "application/json"}}
        kwargs.setdefault("headers", headers)
        async with self.session.request(method, self.base + path, **kwargs) as response:
            return response.status, await response.json(content_type=None)


@pytest.fixture
async def admin(system: System) -> AsyncIterator[Admin]:
    client = Admin(system)
    yield client
    await client.session.close()


def cli(system: System, *args: str, wallet: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, "-m", "municipal_server", "admin", "--code", CHIYODA,
               "--var", str(system.var), "--url",
               f"http://127.0.0.1:{system.topology.ports.municipal_admin[CHIYODA]}", *args]
    if wallet is not None:
        command += ["--wallet", str(wallet)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    output = json.loads(done.stdout)
    assert (done.returncode == 0) == output["ok"], done.stderr
    return output


async def move_in(admin: Admin, name: str, *, moved_in_on: str = "2025-04-01",
                  birth: str = "1985-05-05") -> dict[str, Any]:
    status, body = await admin("POST", "/admin/v1/households", {
        "address": ADDRESS, "members": [{
            "name": name, "name_kana": "てすと", "birth_date": birth, "sex": "女",
            "relationship": "世帯主", "moved_in_on": moved_in_on}]})
    assert status == 201, body
    return body["residents"][0]


def issue_card(system: System, resident: str, wallet: Path) -> str:
    output = cli(system, "issue-card", resident, "--key", f"card-{resident}", wallet=wallet)
    return output["result"]["key"]


async def juminhyo(kiosk: KioskClient, card, cert_type: str = "juminhyo",  # type: ignore[no-untyped-def]
                   options: dict | None = None) -> str:
    result = await kiosk.issue(card, "1234", cert_type, options=options or {})
    [certificate] = result.order["certificates"]
    return certificate["certificate_id"]


async def refusal(kiosk: KioskClient, card, cert_type: str = "juminhyo") -> dict:  # type: ignore[no-untyped-def]
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(card, "1234", cert_type)
    return refused.value.problem


async def test_a_moved_in_resident_gets_a_card_and_a_certificate(
        system: System, admin: Admin, kiosk: KioskClient, tmp_path: Path) -> None:
    # Through the command line, as at the counter: 転入 today, then the card.
    moved = cli(system, "move-in", "--address", ADDRESS, "--name", "九段 桜子", "--kana",
                "くだん さくらこ", "--birth", "1990-03-03", "--sex", "女")
    resident = moved["result"]["residents"][0]["resident_code"]
    key = issue_card(system, resident, tmp_path)
    card = Wallet(tmp_path).get(key)
    # Moved in today: refused until tomorrow.
    assert (await refusal(kiosk, card))["reason"] == "moved-in-today"

    earlier = await move_in(admin, "九段 梅子")
    key = issue_card(system, earlier["resident_code"], tmp_path)
    result = await kiosk.issue(Wallet(tmp_path).get(key), "1234", "juminhyo", out_dir=tmp_path)
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert "九段 梅子" in front and ADDRESS in front
    shown = cli(system, "show", earlier["resident_code"])["result"]
    assert shown["name"] == "九段 梅子" and len(shown["cards"]) == 1
    history = cli(system, "history", earlier["resident_code"])["result"]["issuances"]
    assert [h["type"] for h in history] == ["juminhyo"]


async def test_abolishing_a_seal_refuses_the_next_inkan(
        system: System, admin: Admin, kiosk: KioskClient, tmp_path: Path) -> None:
    resident = (await move_in(admin, "印鑑 登子"))["resident_code"]
    card = Wallet(tmp_path).get(issue_card(system, resident, tmp_path))
    assert (await refusal(kiosk, card, "inkan"))["reason"] == "seal-not-registered"
    status, _ = await admin("PUT", f"/admin/v1/residents/{resident}/seal", {})
    assert status == 200
    await juminhyo(kiosk, card, "inkan")
    status, _ = await admin("DELETE", f"/admin/v1/residents/{resident}/seal")
    assert status == 200
    problem = await refusal(kiosk, card, "inkan")
    assert (problem["code"], problem["reason"]) == ("type-unavailable", "seal-not-registered")
    # Abolished twice: nothing to abolish.
    status, body = await admin("DELETE", f"/admin/v1/residents/{resident}/seal")
    assert (status, body["code"]) == (404, "not-found")


async def test_a_move_out_refuses_the_next_order(
        system: System, admin: Admin, kiosk: KioskClient, tmp_path: Path) -> None:
    resident = (await move_in(admin, "転出 予子"))["resident_code"]
    card = Wallet(tmp_path).get(issue_card(system, resident, tmp_path))
    await juminhyo(kiosk, card)
    status, _ = await admin("POST", f"/admin/v1/residents/{resident}/move-out",
                            {"on": "2026-12-10"})
    assert status == 200
    assert (await refusal(kiosk, card))["reason"] == "moving-out"
    cli(system, "move-out", resident, "--on", "2026-12-10", "--completed")
    assert (await refusal(kiosk, card))["reason"] == "moved-out"


async def test_a_support_measure_refuses_until_cleared(
        system: System, admin: Admin, kiosk: KioskClient, tmp_path: Path) -> None:
    resident = (await move_in(admin, "支援 守子"))["resident_code"]
    card = Wallet(tmp_path).get(issue_card(system, resident, tmp_path))
    cli(system, "support-measure", resident, "--set")
    assert (await refusal(kiosk, card))["reason"] == "support-measure"
    cli(system, "support-measure", resident, "--clear")
    await juminhyo(kiosk, card)


async def test_a_death_revokes_the_card(system: System, admin: Admin, kiosk: KioskClient,
                                        tmp_path: Path) -> None:
    resident = (await move_in(admin, "死亡 届子"))["resident_code"]
    card = Wallet(tmp_path).get(issue_card(system, resident, tmp_path))
    await juminhyo(kiosk, card)
    output = cli(system, "death", resident, "--on", "2026-11-24")
    assert output["result"]["status"] == "deceased"
    assert len(output["result"]["revoked_certificates"]) == 1
    problem = await refusal(kiosk, card)
    assert problem["code"] == "card-revoked"


async def test_a_lost_card_is_suspended_and_found_again(
        system: System, admin: Admin, kiosk: KioskClient, tmp_path: Path) -> None:
    resident = (await move_in(admin, "紛失 届子"))["resident_code"]
    card = Wallet(tmp_path).get(issue_card(system, resident, tmp_path))
    [shown] = (await admin("GET", f"/admin/v1/residents/{resident}"))[1]["cards"]
    cli(system, "card-status", shown["serial"], "suspended", "--reason", "紛失")
    assert (await refusal(kiosk, card))["code"] == "card-suspended"
    cli(system, "card-status", shown["serial"], "valid")
    await juminhyo(kiosk, card)


async def test_a_locked_pin_is_reset_at_the_counter(
        system: System, admin: Admin, kiosk: KioskClient, tmp_path: Path) -> None:
    resident = (await move_in(admin, "暗証 忘子"))["resident_code"]
    key = issue_card(system, resident, tmp_path)
    card = Wallet(tmp_path).get(key)
    for _ in range(3):
        with pytest.raises(KioskProblem):
            await kiosk.issue(card, "9999", "juminhyo")
    assert (await refusal(kiosk, card))["code"] == "pin-locked"
    output = cli(system, "reset-pin", key, wallet=tmp_path)
    assert output["result"]["remaining"] == 3
    await juminhyo(kiosk, Wallet(tmp_path).get(key))


async def test_tax_family_register_and_disaster_records(
        system: System, admin: Admin, kiosk: KioskClient, tmp_path: Path) -> None:
    moved = await move_in(admin, "記録 多子")
    resident = moved["resident_code"]
    card = Wallet(tmp_path).get(issue_card(system, resident, tmp_path))
    assert (await refusal(kiosk, card, "tax_income"))["reason"] == "no-tax-record"
    output = cli(system, "tax", resident, "--year", "2026", "--salary", "4321000")
    assert output["result"]["total_income"] > 0
    result = await kiosk.issue(card, "1234", "tax_income", options={"fiscal_year": 2026},
                               out_dir=tmp_path / "tax")
    assert "4,321,000" in pdf_pages_text(result.files[0].read_bytes())[0]

    assert (await refusal(kiosk, card, "koseki_kojin"))["reason"] == "no-domicile"
    status, body = await admin("POST", "/admin/v1/family-registers", {
        "domicile": "東京都千代田区九段南一丁目2番", "head_name": "記録 多子",
        "compiled_on": "2015-04-01", "persons": [{
            "name": "記録 多子", "given_name": "多子", "birth_date": "1985-05-05",
            "father": "記録 一", "mother": "記録 二子", "relationship": "長女",
            "events": [{"kind": "出生", "details": [["出生日", "昭和60年5月5日"],
                                                    ["出生地", "東京都千代田区"]]}],
            "resident_code": resident,
            "addresses": [[ADDRESS, "2025-04-01"]]}]})
    assert status == 201, body
    result = await kiosk.issue(card, "1234", "koseki_kojin", out_dir=tmp_path / "koseki")
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert "東京都千代田区九段南一丁目2番" in front and "多子" in front

    assert (await refusal(kiosk, card, "risai"))["reason"] == "no-disaster-record"
    disaster = cli(system, "disaster", "--name", "令和8年大雨", "--on", "2026-10-01")["result"]
    cli(system, "damage", disaster["disaster_id"], moved["household_id"], "--level", "準半壊",
        "--flooding", "床下浸水")
    result = await kiosk.issue(card, "1234", "risai", out_dir=tmp_path / "risai")
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert "令和8年大雨" in front and "準半壊" in front


async def test_the_admin_api_wants_the_clerks_token(system: System) -> None:
    for token in ("", "wrong"):
        client = Admin(system, token=token)
        try:
            status, body = await client("GET", "/admin/v1/residents?name=霞")
        finally:
            await client.session.close()
        assert (status, body["code"]) == (401, "unauthorized")


def _register_dump(system: System) -> str:
    """The register's rows, but not the answers kept for a center's retry:
    the server forgets each 60 s after it was given, whatever a test does."""
    return database_dump(system.municipal_db(CHIYODA), without=("issuance_claims",))


@pytest.mark.parametrize(("method", "path", "body", "code", "field"), [
    ("POST", "/admin/v1/households", {"address": ADDRESS, "members": []},
     "invalid-request", "members"),
    ("POST", "/admin/v1/households", {"address": ADDRESS, "members": [{
        "name": "未来 子", "name_kana": "みらい", "birth_date": "2999-01-01", "sex": "女",
        "relationship": "世帯主"}]}, "invalid-request", "birth_date"),
    ("POST", "/admin/v1/households", {"address": ADDRESS, "members": [{
        "name": "外国 人", "name_kana": "がいこく", "birth_date": "1980-01-01", "sex": "男",
        "relationship": "世帯主", "nationality": "フランス"}]},
     "invalid-request", "members.residence_status"),
    ("POST", "/admin/v1/households", {"address": ADDRESS, "members": [{
        "name": "性別 不明", "name_kana": "せいべつ", "birth_date": "1980-01-01", "sex": "X",
        "relationship": "世帯主"}]}, "invalid-request", "members.0.sex"),
    ("POST", "/admin/v1/residents/00000000000/move-out", {"on": "2026-12-01"},
     "resident-not-found", None),
    ("POST", "/admin/v1/residents/00000000000/death", {"on": "2026-12-01"},
     "resident-not-found", None),
    ("PUT", "/admin/v1/residents/00000000000/support-measure", {"active": "yes"},
     "invalid-request", "active"),
    ("PUT", "/admin/v1/disasters/nope/households/h-kasumi", {"damage_level": "全壊"},
     "not-found", None),
    ("PUT", "/admin/v1/disasters/r8-typhoon-10/households/h-kasumi", {"damage_level": "大"},
     "invalid-request", "damage_level"),
    ("POST", "/admin/v1/disasters", {"name": "x", "occurred_on": "yesterday"},
     "invalid-request", "occurred_on"),
    ("POST", "/admin/v1/family-registers", {"domicile": "x", "head_name": "x",
                                            "compiled_on": "2020-01-01", "persons": [],
                                            "extra": 1}, "invalid-request", None),
    ("GET", "/admin/v1/residents?name=", None, "invalid-request", "name"),
    ("GET", "/admin/v1/nothing-here", None, "not-found", None),
])
async def test_bad_admin_input_is_refused_and_changes_nothing(
        system: System, admin: Admin, method: str, path: str, body: Any, code: str,
        field: str | None) -> None:
    before = _register_dump(system)
    status, problem = await admin(method, path, body)
    assert problem["code"] == code, problem
    assert 400 <= status < 500
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]]
    assert _register_dump(system) == before


@pytest.mark.parametrize("raw", ["{", "[]", "\"text\"", "{\"address\": 1}"])
async def test_malformed_admin_bodies(system: System, admin: Admin, raw: str) -> None:
    before = _register_dump(system)
    status, problem = await admin("POST", "/admin/v1/households", data=raw)
    assert (status, problem["code"]) == (422, "invalid-request")
    assert _register_dump(system) == before


async def test_the_admin_document_matches_its_routes(admin: Admin) -> None:
    from municipal_server.admin_api import create_admin_app
    from tests.e2e.test_openapi import _documented, _routes

    status, document = await admin("GET", "/admin/v1/openapi.json")
    assert status == 200 and document["openapi"] == "3.1.0"
    assert _routes(create_admin_app(None, "t")) == _documented(document)  # type: ignore[arg-type]


async def test_no_junk_makes_the_admin_api_fail(system: System, admin: Admin) -> None:
    from tests.e2e.test_no_server_errors import JUNK_BODIES, _paths

    _, document = await admin("GET", "/admin/v1/openapi.json")
    before = _register_dump(system)
    failures = []
    for method, path in _paths(document):
        for body in JUNK_BODIES:
            async with admin.session.request(
                    method, admin.base + path, data=body,
                    headers={"Authorization": f"Bearer {admin.token}",
                             "Content-Type": "application/json"}) as response:
                if response.status >= 500:
                    failures.append(f"{method} {path} {body[:20] if body else body!r}")
                elif response.status >= 400:
                    assert response.content_type == "application/problem+json", path
    assert failures == []
    after = _register_dump(system)
    # Only the audit trail of refused changes may differ: nothing was refused into the log.
    assert after == before
