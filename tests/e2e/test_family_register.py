"""Family registers follow the 本籍, not the address: the use registration
(本籍地の利用登録) across municipalities, over the wire (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from tests.conftest import System
from tests.support import pdf_pages_text, table_count

CHIYODA, MIYAZAKI = "131016", "452017"
FAMILY_REGISTER_TYPES = {"koseki_zenbu", "koseki_kojin", "koseki_fuhyo"}


def _by_municipality(menu: dict) -> dict[tuple[str, str], dict]:
    return {(i["municipality"]["code"], i["type"]): i for i in menu["items"]}


def approve_use_registration(system: System, code: str, persona: str,
                             residence: str) -> dict:
    """The domicile's clerk approves the application, with the real command line."""
    import json
    import subprocess
    import sys

    from municipal_server.personas import resident_code

    done = subprocess.run(
        [sys.executable, "-m", "municipal_server", "admin", "--code", code,
         "--var", str(system.var), "--url",
         f"http://127.0.0.1:{system.topology.ports.municipal_admin[code]}",
         "approve-use-registration", resident_code(residence, persona)],
        capture_output=True, text=True, timeout=60)
    output = json.loads(done.stdout)
    assert done.returncode == 0, output
    assert output["result"]["status"] == "registered"
    return output


async def test_bango_hanako_registers_with_her_domicile_and_orders_there(
        system: System, kiosk: KioskClient, fresh_card, tmp_path: Path) -> None:
    card = await fresh_card("bango-hanako")  # a registration belongs to one card
    session = await kiosk.start_session()
    sid = session["session_id"]
    await kiosk.authenticate(session, card, "1234")

    # Before: 宮崎市 keeps no 戸籍 of hers and says where to go.
    before = _by_municipality(await kiosk.menu(sid))
    for cert_type in FAMILY_REGISTER_TYPES:
        item = before[(MIYAZAKI, cert_type)]
        assert item["available"] is False
        assert item["reason"] == "use-registration-required"
        # Where to register, for the kiosk's one-touch button: her own 本籍.
        assert item["register_with"] == {"code": CHIYODA, "name": "千代田区"}
        assert (CHIYODA, cert_type) not in before
    assert not any("register_with" in item or "domicile_code" in item
                   for item in before.values() if item["type"] not in FAMILY_REGISTER_TYPES)
    with pytest.raises(KioskProblem) as refused:
        await kiosk.order(sid, "koseki_kojin", 1, {}, 450, municipality_code=CHIYODA)
    assert refused.value.problem["reason"] == "use-registration-required"

    applied = await kiosk.register_use(sid, CHIYODA)
    assert applied == {"municipality": {"code": CHIYODA, "name": "千代田区"},
                       "status": "pending"}
    assert await kiosk.register_use(sid, CHIYODA) == applied  # again: no harm

    # Pending (登録手続き中) until 千代田区's clerk approves it: nothing of the 戸籍 yet.
    pending = _by_municipality(await kiosk.menu(sid))
    for cert_type in FAMILY_REGISTER_TYPES:
        item = pending[(CHIYODA, cert_type)]
        assert (item["available"], item["reason"]) == (False, "use-registration-pending")
        assert "登録手続き中" in item["message"]
        assert (MIYAZAKI, cert_type) not in pending
    assert not any("register_with" in item for item in pending.values())
    chiyoda_history = table_count(system.municipal_db(CHIYODA), "issuance_history")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.order(sid, "koseki_kojin", 1, {}, 450, municipality_code=CHIYODA)
    assert refused.value.problem["reason"] == "use-registration-pending"
    assert table_count(system.municipal_db(CHIYODA), "issuance_history") == chiyoda_history

    approve_use_registration(system, CHIYODA, "bango-hanako", MIYAZAKI)
    registered = await kiosk.register_use(sid, CHIYODA)
    assert registered == {"municipality": {"code": CHIYODA, "name": "千代田区"},
                          "status": "registered"}

    # After: 千代田区's family-register types beside 宮崎市's own items.
    after = _by_municipality(await kiosk.menu(sid))
    for cert_type in FAMILY_REGISTER_TYPES:
        assert (MIYAZAKI, cert_type) not in after
        assert after[(CHIYODA, cert_type)]["available"] is True
    assert not any("register_with" in item for item in after.values())
    assert after[(CHIYODA, "koseki_kojin")]["fee_yen"] == 450
    assert after[(MIYAZAKI, "juminhyo")]["fee_yen"] == 300

    # The order goes to 千代田区, which prints from its own 戸籍.
    chiyoda_history = table_count(system.municipal_db(CHIYODA), "issuance_history")
    miyazaki_history = table_count(system.municipal_db(MIYAZAKI), "issuance_history")
    order = await kiosk.order(sid, "koseki_kojin", 1, {}, 450, municipality_code=CHIYODA)
    [certificate] = order["certificates"]
    assert certificate["certificate_number"].startswith(CHIYODA + "-")
    pdf = await kiosk.download(certificate)
    front = pdf_pages_text(pdf)[0]
    assert "戸籍個人事項証明書" in front
    assert "東京都千代田区千代田1番" in front and "花子" in front
    assert "千代田区長" in front
    await kiosk.report_result(order["order_id"], [certificate["certificate_id"]])
    assert table_count(system.municipal_db(CHIYODA), "issuance_history") == chiyoda_history + 1
    assert table_count(system.municipal_db(MIYAZAKI), "issuance_history") == miyazaki_history

    # Her own municipality's types still come from 宮崎市.
    with pytest.raises(KioskProblem) as refused:
        await kiosk.order(sid, "juminhyo", 1, {}, 450, municipality_code=CHIYODA)
    assert refused.value.problem["reason"] == "not-offered"
    await kiosk.end_session(sid)


async def test_domicile_elsewhere_without_registration(system: System, kiosk: KioskClient,
                                                       wallet: Wallet) -> None:
    before = table_count(system.center_db, "orders")
    session = await kiosk.start_session()
    sid = session["session_id"]
    await kiosk.authenticate(session, wallet.get("domicile-elsewhere"), "1234")
    menu = _by_municipality(await kiosk.menu(sid))
    for cert_type in FAMILY_REGISTER_TYPES:
        assert menu[(CHIYODA, cert_type)]["reason"] == "use-registration-required"
        assert menu[(CHIYODA, cert_type)]["message"] == "本籍地の利用登録が必要です"
        assert menu[(CHIYODA, cert_type)]["register_with"] == {"code": MIYAZAKI,
                                                               "name": "宮崎市"}
    for municipality in (None, MIYAZAKI):
        with pytest.raises(KioskProblem) as refused:
            await kiosk.order(sid, "koseki_zenbu", 1, {}, 450, municipality_code=municipality)
        assert refused.value.problem["code"] == "type-unavailable"
        assert refused.value.problem["reason"] == "use-registration-required"
    assert menu[(CHIYODA, "juminhyo")]["available"] is True
    assert table_count(system.center_db, "orders") == before
    await kiosk.end_session(sid)


async def test_registering_where_there_is_no_family_register(kiosk: KioskClient,
                                                            fresh_card) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, await fresh_card("kasumi-hanako"), "1234")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.register_use(session["session_id"], MIYAZAKI)
    assert refused.value.problem["code"] == "type-unavailable"
    assert refused.value.problem["reason"] == "no-domicile"
    with pytest.raises(KioskProblem) as refused:
        await kiosk.register_use(session["session_id"], CHIYODA)
    assert refused.value.problem["code"] == "invalid-request"
    assert refused.value.problem["errors"][0]["field"] == "municipality_code"
    with pytest.raises(KioskProblem) as refused:
        await kiosk.register_use(session["session_id"], "999999")
    assert refused.value.problem["code"] == "municipality-not-participating"
    await kiosk.end_session(session["session_id"])


async def test_an_ineligible_holder_cannot_register(kiosk: KioskClient, fresh_card) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, await fresh_card("kasumi-jiro"), "1234")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.register_use(session["session_id"], MIYAZAKI)
    assert refused.value.problem["code"] == "resident-ineligible"
    assert refused.value.problem["reason"] == "under-15"
    await kiosk.end_session(session["session_id"])


async def test_the_command_line_registers_and_orders_from_the_domicile(
        system: System, fresh_card, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from municipal_server.personas import resident_code

    Wallet(system.topology.wallet_dir).put(
        "bango-hanako-cli", await fresh_card("bango-hanako"), label="番号 花子",
        municipality_code=MIYAZAKI, resident_code=resident_code(MIYAZAKI, "bango-hanako"))
    base = [sys.executable, "-m", "kiosk_sim"]
    common = ["--var", str(system.var), "--center", system.center_url,
              "--persona", "bango-hanako-cli", "--pin", "1234"]

    def run(*args: str) -> tuple[int, dict]:
        done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)
        return done.returncode, json.loads(done.stdout)

    code, output = run("issue", *common, "--type", "koseki_fuhyo", "--municipality", CHIYODA,
                       "--out", str(tmp_path))
    assert (code, output["problem"]["code"]) == (1, "type-unavailable")  # not on her menu
    code, output = run("register-use", *common, "--municipality", CHIYODA)
    assert code == 0, output
    if output["registration"]["status"] == "pending":  # this test alone: not yet approved
        code, output = run("issue", *common, "--type", "koseki_fuhyo",
                           "--municipality", CHIYODA, "--out", str(tmp_path))
        assert (code, output["problem"]["reason"]) == (1, "use-registration-pending")
        approve_use_registration(system, CHIYODA, "bango-hanako", MIYAZAKI)
        code, output = run("register-use", *common, "--municipality", CHIYODA)
    assert (code, output["registration"]["status"]) == (0, "registered")
    code, output = run("issue", *common, "--type", "koseki_fuhyo", "--municipality", CHIYODA,
                       "--out", str(tmp_path))
    assert code == 0, output
    front = pdf_pages_text(Path(output["files"][0]).read_bytes())[0]
    assert "戸籍の附票の写し" in front and "宮崎県宮崎市橘通西1丁目1番1号" in front


async def test_a_domicile_that_is_down_does_not_take_the_menu_with_it(
        kiosk: KioskClient, fresh_card, as_kiosk) -> None:
    card = await fresh_card("bango-hanako")
    session = await kiosk.start_session()
    sid = session["session_id"]
    await kiosk.authenticate(session, card, "1234")
    await kiosk.register_use(sid, CHIYODA)
    status, _, _ = await as_kiosk.call("PUT", "/v1/dev/faults",
                                       json_body={"municipalities_down": [CHIYODA]})
    assert status == 200
    try:
        menu = _by_municipality(await kiosk.menu(sid))
    finally:
        await as_kiosk.call("PUT", "/v1/dev/faults", json_body={})
    assert menu[(MIYAZAKI, "juminhyo")]["available"] is True
    for cert_type in FAMILY_REGISTER_TYPES:
        item = menu[(CHIYODA, cert_type)]
        assert (item["available"], item["reason"]) == (False, "municipality-unavailable")
    await kiosk.end_session(sid)
