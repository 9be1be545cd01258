"""Every certificate type of API.md for a resident who may have it, and the
exact refusal for those who may not (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk_sim.client import KioskClient, KioskProblem
from kiosk_sim.wallet import Wallet
from municipal_server.personas import resident_code
from tests.conftest import System
from tests.support import pdf_pages_text, table_count

# What a reader checks on the front of each type kasumi-taro may have.
EXPECTED: dict[str, tuple[dict, tuple[str, ...]]] = {
    "juminhyo_kisai": ({}, ("住民票記載事項証明書", "霞 太郎", "東京都千代田区霞が関2丁目1番2号",
                            "昭和55年4月1日")),
    "inkan": ({}, ("印鑑登録証明書", "霞 太郎", "昭和55年4月1日")),
    "tax_income": ({"fiscal_year": 2026}, ("所得証明書", "霞 太郎", "令和8年度",
                                            "6,200,000")),
    "tax_assessment": ({"fiscal_year": 2025}, ("課税証明書", "霞 太郎", "令和7年度")),
    "tax_income_assessment": ({}, ("所得課税証明書", "霞 太郎", "令和8年度", "6,200,000",
                                   "特別区民税", "都民税")),
    "koseki_zenbu": ({}, ("戸籍全部事項証明書", "東京都千代田区霞が関二丁目1番", "霞 太郎",
                          "花子", "次郎", "婚姻")),
    "koseki_kojin": ({}, ("戸籍個人事項証明書", "東京都千代田区霞が関二丁目1番", "太郎")),
    "koseki_fuhyo": ({}, ("戸籍の附票の写し", "東京都港区芝公園4丁目2番8号",
                          "東京都千代田区霞が関2丁目1番2号")),
    "risai": ({"disaster_id": "r8-typhoon-10"}, ("罹災証明書", "令和8年台風第10号", "半壊",
                                                 "霞 太郎")),
}


def _front(result) -> str:  # type: ignore[no-untyped-def]
    [path] = result.files
    return pdf_pages_text(Path(path).read_bytes())[0]


@pytest.mark.parametrize("cert_type", sorted(EXPECTED))
async def test_every_type_for_kasumi_taro(kiosk: KioskClient, wallet: Wallet, tmp_path: Path,
                                          cert_type: str) -> None:
    options, expected = EXPECTED[cert_type]
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", cert_type, options=options,
                               out_dir=tmp_path)
    front = _front(result)
    for text in expected:
        assert text in front, (cert_type, text)
    assert resident_code("131016", "kasumi-taro") not in front
    assert "千代田区長" in front


async def test_family_register_of_the_whole_register_and_of_one_person(
        kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    zenbu = _front(await kiosk.issue(wallet.get("kasumi-taro"), "1234", "koseki_zenbu",
                                     out_dir=tmp_path / "zenbu"))
    kojin = _front(await kiosk.issue(wallet.get("kasumi-taro"), "1234", "koseki_kojin",
                                     out_dir=tmp_path / "kojin"))
    assert "花子" in zenbu and "次郎" in zenbu
    assert "花子" not in kojin.replace("霞 花子", "")  # only as 配偶者氏名 in his 婚姻 entry
    assert "次郎" not in kojin


async def test_juminhyo_with_domicile_for_japanese_nationals(kiosk: KioskClient, wallet: Wallet,
                                                             tmp_path: Path) -> None:
    with_items = _front(await kiosk.issue(
        wallet.get("kasumi-taro"), "1234", "juminhyo", out_dir=tmp_path / "a",
        options={"members": "household", "relationship": True, "domicile": True}))
    without = _front(await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo",
                                       out_dir=tmp_path / "b", options={"members": "household"}))
    assert "東京都千代田区霞が関二丁目1番" in with_items
    assert "筆頭者" in with_items
    assert "東京都千代田区霞が関二丁目1番" not in without


async def test_juminhyo_of_a_foreign_resident_with_nationality(
        kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    front = _front(await kiosk.issue(wallet.get("foreign-resident"), "1234", "juminhyo",
                                     out_dir=tmp_path, options={"nationality": True,
                                                                "domicile": True}))
    for text in ("スミス ジョン", "アメリカ合衆国", "技術・人文知識・国際業務", "1988年8月8日",
                 "2028年3月31日", "中長期在留者"):
        assert text in front, text
    assert "昭和63年" not in front  # Western dates for foreign residents
    assert "本籍" not in front or "筆頭者" not in front  # no 戸籍 for a foreign resident


async def _refusal(kiosk: KioskClient, wallet: Wallet, persona: str, cert_type: str,
                   options: dict | None = None) -> tuple[dict, dict]:
    """The menu item and the order's problem for a type the persona may not have."""
    session = await kiosk.start_session()
    try:
        await kiosk.authenticate(session, wallet.get(persona), "1234")
        menu = await kiosk.menu(session["session_id"])
        item = next(i for i in menu["items"] if i["type"] == cert_type)
        with pytest.raises(KioskProblem) as refused:
            await kiosk.order(session["session_id"], cert_type, 1, options or {},
                              item["fee_yen"])
        return item, refused.value.problem
    finally:
        await kiosk.end_session(session["session_id"])


@pytest.mark.parametrize(("persona", "cert_type", "options", "reason", "in_menu"), [
    ("domicile-elsewhere", "tax_income", {}, "no-tax-record", True),
    ("kasumi-hanako", "tax_income", {"fiscal_year": 2025}, "no-tax-record", False),
    ("no-seal", "risai", {}, "no-disaster-record", True),
    ("foreign-resident", "koseki_zenbu", {}, "no-domicile", True),
    ("no-seal", "koseki_fuhyo", {}, "no-domicile", True),
    ("domicile-elsewhere", "koseki_kojin", {}, "use-registration-required", True),
    ("kasumi-taro", "risai", {"disaster_id": "no-such-disaster"}, "no-disaster-record", False),
])
async def test_types_refused_with_the_exact_reason(
        system: System, kiosk: KioskClient, wallet: Wallet, persona: str, cert_type: str,
        options: dict, reason: str, in_menu: bool) -> None:
    before = table_count(system.center_db, "orders")
    item, problem = await _refusal(kiosk, wallet, persona, cert_type, options)
    assert problem["code"] == "type-unavailable"
    assert problem["reason"] == reason
    assert problem["message"]
    if in_menu:
        assert item["available"] is False and item["reason"] == reason
    assert table_count(system.center_db, "orders") == before


async def test_moved_in_today_is_refused(kiosk: KioskClient, wallet: Wallet) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("moved-in-today"), "1234")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.menu(session["session_id"])
    assert refused.value.problem["code"] == "resident-ineligible"
    assert refused.value.problem["reason"] == "moved-in-today"
    await kiosk.end_session(session["session_id"])


async def test_menu_offers_the_choices_of_the_options(kiosk: KioskClient,
                                                      wallet: Wallet) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    items = {i["type"]: i for i in (await kiosk.menu(session["session_id"]))["items"]}
    assert items["tax_income"]["fiscal_years"] == [2026, 2025]
    assert items["risai"]["disasters"] == [{"disaster_id": "r8-typhoon-10",
                                            "name": "令和8年台風第10号",
                                            "occurred_on": "2026-08-30"}]
    assert items["risai"]["fee_yen"] == 0
    assert items["koseki_zenbu"]["fee_yen"] == 450
    await kiosk.end_session(session["session_id"])


async def test_an_option_of_another_type_is_refused(kiosk: KioskClient, wallet: Wallet) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    with pytest.raises(KioskProblem) as refused:
        await kiosk.order(session["session_id"], "inkan", 1, {"fiscal_year": 2026}, 200)
    assert refused.value.problem["code"] == "invalid-request"
    assert refused.value.problem["errors"][0]["field"] == "options.fiscal_year"
    await kiosk.end_session(session["session_id"])
