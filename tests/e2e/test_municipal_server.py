"""The municipal server as the center sees it: idempotent issuance, a server
that goes down, and residents refused on its live register."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from municipal_server.personas import resident_code
from tests.conftest import Raw, System
from tests.support import eventually, pdf_pages_text, table_count

KIOSK = {"terminal_id": "kiosk-0001", "chain": "seven-eleven", "store_id": "store-0001"}


def _request(request_id: str, **changes: object) -> dict:
    return {"request_id": request_id, "resident_code": resident_code("131016", "kasumi-taro"),
            "type": "juminhyo", "copies": 2, "options": {"members": "household"},
            "at": "2026-11-24T10:00:00+09:00", "kiosk": KIOSK, **changes}


@pytest.fixture
async def as_center(system: System):  # type: ignore[no-untyped-def]
    raw = Raw(system.municipal_url("131016"), system.ssl_as_center())
    yield raw
    await raw.close()


async def test_a_retry_returns_the_same_certificates_and_records_nothing_twice(
        system: System, as_center: Raw) -> None:
    history = system.municipal_db("131016")
    before = table_count(history, "issuance_history")
    first, second = await asyncio.gather(
        as_center.call("POST", "/v1/certificates", json_body=_request("retry-test-1")),
        as_center.call("POST", "/v1/certificates", json_body=_request("retry-test-1")))
    third = await as_center.call("POST", "/v1/certificates", json_body=_request("retry-test-1"))
    assert first[0] == second[0] == third[0] == 201
    assert first[1] == second[1] == third[1]
    assert table_count(history, "issuance_history") == before + 1
    certificates = first[1]["certificates"]
    assert len({c["certificate_number"] for c in certificates}) == 2
    for certificate in certificates:
        pdf = base64.b64decode(certificate["pdf"])
        assert hashlib.sha256(pdf).hexdigest() == certificate["sha256"]
        assert "霞 太郎" in pdf_pages_text(pdf)[0]


async def test_a_request_id_reused_for_another_request_is_refused(as_center: Raw) -> None:
    status, _, _ = await as_center.call("POST", "/v1/certificates",
                                        json_body=_request("retry-test-2"))
    assert status == 201
    status, problem, _ = await as_center.call(
        "POST", "/v1/certificates", json_body=_request("retry-test-2", copies=1))
    assert (status, problem["code"]) == (409, "conflict")


async def test_a_municipal_server_that_is_down(system: System, kiosk: KioskClient,
                                               wallet: Wallet, tmp_path) -> None:
    system.topology.stop_service("municipal-452017")
    try:
        with pytest.raises(KioskProblem) as refused:
            await kiosk.issue(wallet.get("bango-hanako"), "1234", "juminhyo", out_dir=tmp_path)
        assert refused.value.code == "municipality-unavailable"
        assert refused.value.problem["status"] == 503
        assert list(tmp_path.iterdir()) == []
    finally:
        system.topology.start_service("municipal-452017")
    # Back up: it registers again and its residents are served.
    async def issued():  # type: ignore[no-untyped-def]
        try:
            return await kiosk.issue(wallet.get("bango-hanako"), "1234", "juminhyo",
                                     out_dir=tmp_path)
        except KioskProblem as exc:
            assert exc.code == "municipality-unavailable"
            return None

    result = await eventually(issued)
    assert "番号 花子" in pdf_pages_text(result.files[0].read_bytes())[0]


async def test_smartphone_credentials_depend_on_the_chain(system: System,
                                                          wallet: Wallet) -> None:
    # The terminal registry says so: ローソン and ファミリーマート read smartphones (2024).
    phone = wallet.get("smartphone")
    async with KioskClient(system.terminal("kiosk-0002")) as lawson:
        result = await lawson.issue(phone, "1234", "juminhyo")
        assert result.settlement["charged_yen"] == 200
    async with KioskClient(system.terminal("kiosk-0001")) as seven_eleven:
        with pytest.raises(KioskProblem) as refused:
            await seven_eleven.issue(phone, "1234", "juminhyo")
        assert refused.value.code == "credential-not-supported"
