"""One issuance in few transactions (issue 12), and nothing the live register
says is missed for it: the claim, the checks and the serial numbers commit
together, so a refusal keeps neither the claim nor a number."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from konbini.clock import Clock, parse_instant
from konbini.db import sqlite_url
from konbini.problems import Problem
from municipal_server.issuance import Issuer
from municipal_server.migrate import migrate
from municipal_server.personas import resident_code
from municipal_server.profile import load_profile
from municipal_server.register import MOVED_OUT, RESIDENT, Register

AT = "2026-11-24T10:00:00+09:00"
CHIYODA = "131016"
KIOSK = {"terminal_id": "kiosk-0001", "chain": "seven-eleven", "store_id": "store-0001"}


@pytest.fixture
async def issuer(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path / "register.db")
    await migrate(url, tmp_path, CHIYODA, "東京都千代田区", Clock(parse_instant(AT)))
    register = await Register.open(url)
    yield Issuer(load_profile(CHIYODA), register, b"k" * 32)
    await register.close()


def _request(request_id: str | None = None, **changes: Any) -> dict[str, Any]:
    return {"request_id": request_id or uuid.uuid4().hex,
            "resident_code": resident_code(CHIYODA, "kasumi-taro"), "type": "juminhyo",
            "copies": 1, "options": {"members": "household"}, "at": AT, "kiosk": KIOSK,
            **changes}


async def _count(register: Register, table: str) -> int:
    return int((await register.fetch(f"SELECT count(*) AS n FROM {table}"))[0]["n"])


def _serial(answer: dict[str, Any]) -> int:
    return int(answer["certificates"][0]["certificate_number"].rsplit("-", 1)[1])


async def test_a_refusal_keeps_no_claim_and_takes_no_number(issuer: Issuer) -> None:
    register = issuer.register
    first = _serial(await issuer.issue(_request()))
    holder = resident_code(CHIYODA, "kasumi-taro")
    await register.set_status(holder, MOVED_OUT, parse_instant(AT).date())
    claims = await _count(register, "issuance_claims")
    retried = _request("refused-then-issued")
    with pytest.raises(Problem) as refused:
        await issuer.issue(retried)
    assert (refused.value.code, refused.value.extra.get("reason")) == (
        "resident-ineligible", "moved-out")
    assert await _count(register, "issuance_claims") == claims  # the claim rolled back

    await register.set_status(holder, RESIDENT, parse_instant(AT).date())
    # Refused after the numbers were taken (the members are checked with the inputs):
    # the numbers roll back with the claim.
    with pytest.raises(Problem) as wrong_member:
        await issuer.issue(_request(options={"members": ["nobody"]}))
    assert wrong_member.value.code == "member-not-in-household"
    assert await _count(register, "issuance_claims") == claims
    # Back on the register: the same request_id is judged afresh and issued with the
    # very next number, and a retry of it answers the same certificate.
    answer = await issuer.issue(retried)
    assert _serial(answer) == first + 1
    assert await issuer.issue(retried) == answer
    assert await register.issued_numbers("refused-then-issued") == [
        answer["certificates"][0]["certificate_number"]]


async def test_the_menu_reads_the_live_register_every_time(issuer: Issuer) -> None:
    holder = resident_code(CHIYODA, "kasumi-taro")
    menu = await issuer.menu(holder, AT)
    assert {m["name"] for m in menu["household"]} >= {"霞 太郎", "霞 花子"}
    await issuer.register.set_status(holder, MOVED_OUT, parse_instant(AT).date())
    with pytest.raises(Problem) as refused:
        await issuer.menu(holder, AT)
    assert refused.value.code == "resident-ineligible"
