"""The rules of issue 15 over the wire, each with its persona: a household
with a member moving out, a 戸籍 with a 届出 not yet entered (until the clerk
enters it), an address longer than a certificate prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import System
from tests.support import pdf_pages_text, table_count

CHIYODA = "131016"


def clerk(system: System, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "municipal_server", "admin", "--code", CHIYODA,
         "--var", str(system.var), "--url",
         f"http://127.0.0.1:{system.topology.ports.municipal_admin[CHIYODA]}", *args],
        capture_output=True, text=True, timeout=60)
    output = json.loads(done.stdout)
    assert done.returncode == 0, output
    return output["result"]


async def _menu(kiosk: KioskClient, card, ) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    session = await kiosk.start_session()
    try:
        await kiosk.authenticate(session, card, "1234")
        menu = await kiosk.menu(session["session_id"])
    finally:
        await kiosk.end_session(session["session_id"])
    return {item["type"]: item for item in menu["items"]}


async def test_a_household_with_a_member_moving_out_gets_no_juminhyo(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    card = wallet.get("household-moving-out")
    menu = await _menu(kiosk, card)
    juminhyo = menu["juminhyo"]
    assert (juminhyo["available"], juminhyo["reason"]) == (False,
                                                          "household-member-moving-out")
    assert "転出予定" in juminhyo["message"]
    before = table_count(system.municipal_db(CHIYODA), "issuance_history")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(card, "1234", "juminhyo", out_dir=tmp_path)
    assert refused.value.problem["reason"] == "household-member-moving-out"
    assert table_count(system.municipal_db(CHIYODA), "issuance_history") == before
    # His own 記載事項証明書 is still issued, with his name on it.
    result = await kiosk.issue(card, "1234", "juminhyo_kisai", out_dir=tmp_path)
    assert "大橋 健" in pdf_pages_text(result.files[0].read_bytes())[0]


async def test_a_family_register_waits_for_its_notification_to_be_entered(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    card = wallet.get("koseki-pending")
    menu = await _menu(kiosk, card)
    for kind in ("koseki_zenbu", "koseki_kojin"):
        assert (menu[kind]["available"], menu[kind]["reason"]) == (False,
                                                                   "notification-pending")
    assert menu["koseki_fuhyo"]["available"] is True
    assert menu["juminhyo"]["available"] is True
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(card, "1234", "koseki_zenbu", out_dir=tmp_path)
    assert refused.value.problem["reason"] == "notification-pending"

    # The clerk enters the 婚姻届: the very next request gets the 戸籍.
    assert clerk(system, "reflect-notifications", "k-sasaki") == {
        "register_id": "k-sasaki", "pending": False}
    result = await kiosk.issue(card, "1234", "koseki_zenbu", out_dir=tmp_path)
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert "戸籍全部事項証明書" in front and "佐々木 亮" in front
    # And a new one filed stops it again.
    assert clerk(system, "file-notification", "k-sasaki", "--kind", "出生届")["pending"]
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(card, "1234", "koseki_kojin", out_dir=tmp_path)
    assert refused.value.problem["reason"] == "notification-pending"


async def test_an_address_longer_than_printed_is_refused_with_the_reason(
        kiosk: KioskClient, wallet: Wallet) -> None:
    session = await kiosk.start_session()
    with pytest.raises(KioskProblem) as refused:
        await kiosk.authenticate(session, wallet.get("long-address"), "1234")
        await kiosk.menu(session["session_id"])
    problem = refused.value.problem
    assert (problem["code"], problem["reason"]) == ("resident-ineligible", "too-long-to-print")
    assert "住所が証明書に印字できる文字数(60文字)を超える" in problem["message"]
    await kiosk.end_session(session["session_id"])


async def test_the_clerk_lists_and_approves_pending_use_registrations(
        system: System) -> None:
    listed = clerk(system, "use-registrations")
    assert isinstance(listed["pending"], list)
    done = subprocess.run(
        [sys.executable, "-m", "municipal_server", "admin", "--code", CHIYODA,
         "--var", str(system.var), "--url",
         f"http://127.0.0.1:{system.topology.ports.municipal_admin[CHIYODA]}",
         "approve-use-registration", "00000000000"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert json.loads(done.stdout)["problem"]["code"] == "not-found"


async def test_another_person_of_the_same_family_register(
        kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    card = wallet.get("kasumi-taro")
    menu = await _menu(kiosk, card)
    for kind in ("koseki_kojin", "koseki_fuhyo"):
        persons = menu[kind]["persons"]
        assert [(p["name"], p["self"]) for p in persons] == [
            ("霞 太郎", True), ("霞 花子", False), ("霞 次郎", False)]
    assert "persons" not in menu["koseki_zenbu"]

    hanako = next(p["person_id"] for p in menu["koseki_kojin"]["persons"]
                  if p["name"] == "霞 花子")
    result = await kiosk.issue(card, "1234", "koseki_kojin", options={"person": hanako},
                               out_dir=tmp_path)
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert "戸籍個人事項証明書" in front
    assert "花子" in front and "山田 次郎" in front  # her father, from her 身分事項
    assert "霞 一郎" not in front  # 太郎's father: not his record
    result = await kiosk.issue(card, "1234", "koseki_fuhyo", options={"person": hanako},
                               out_dir=tmp_path)
    assert "霞 花子" in pdf_pages_text(result.files[0].read_bytes())[0]

    # Someone of another 戸籍 is refused, and nothing is issued.
    with pytest.raises(KioskProblem) as refused:
        await kiosk.issue(card, "1234", "koseki_kojin", options={"person": "kp-bango-ichiro"},
                          out_dir=tmp_path)
    problem = refused.value.problem
    assert problem["code"] == "invalid-request"
    assert problem["errors"][0]["field"] == "options.person"
