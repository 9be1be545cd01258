"""The happy paths, end to end: card → center → municipality → center → kiosk."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import aiohttp

from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from konbini.b64 import b64url_encode
from konbini.jws import public_key_from_b64, verify_es256
from municipal_server.personas import member_id, resident_code
from tests.conftest import System
from tests.support import (
    A4_POINTS,
    embedded_font_files,
    pdf_page_sizes,
    pdf_pages_text,
    pdf_qr_codes,
)

KASUMI_HOUSEHOLD = ("霞 太郎", "霞 花子", "霞 次郎")


async def trust_keys(system: System) -> dict:
    async with aiohttp.ClientSession() as session, session.get(
            f"{system.public_url}/v1/trust-list") as response:
        assert response.status == 200
        body = await response.json()
    return {k["kid"]: public_key_from_b64(k["public_key"]) for k in body["keys"]}


async def test_juminhyo_for_the_whole_household(system: System, kiosk: KioskClient,
                                                wallet: Wallet, tmp_path) -> None:
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo",
                               options={"members": "household"}, out_dir=tmp_path)

    assert result.order["fee_yen"] == 200
    assert result.settlement == {"charged_yen": 200, "refunded_yen": 0}
    [path] = result.files
    pdf = path.read_bytes()
    [certificate] = result.order["certificates"]
    assert hashlib.sha256(pdf).hexdigest() == certificate["sha256"]

    sizes = pdf_page_sizes(pdf)
    assert len(sizes) == 2
    for width, height in sizes:
        assert abs(width - A4_POINTS[0]) < 1 and abs(height - A4_POINTS[1]) < 1
    front, back = pdf_pages_text(pdf)
    for name in KASUMI_HOUSEHOLD:
        assert name in front
    assert "住民票の写し" in front
    assert "千代田区長" in front
    assert "東京都千代田区霞が関2丁目1番2号" in front
    assert certificate["certificate_number"] in front
    assert "世帯全員" in front
    assert embedded_font_files(pdf) >= 1
    # Never printed: the resident record code.
    assert resident_code("131016", "kasumi-taro") not in front
    # The back carries no personal data.
    for name in KASUMI_HOUSEHOLD:
        assert name not in back

    [token] = pdf_qr_codes(pdf, page_index=1)
    _, claims = verify_es256(token, await trust_keys(system))
    assert claims["cid"] == certificate["certificate_id"]
    assert claims["num"] == certificate["certificate_number"]
    assert claims["typ"] == "juminhyo"
    assert claims["mun"] == "131016"
    assert isinstance(claims["iat"], int)
    assert len(claims["dig"]) == 43  # base64url of a SHA-256


async def test_juminhyo_of_chosen_members_with_relationship(
        kiosk: KioskClient, wallet: Wallet, tmp_path) -> None:
    hanako = member_id("131016", "kasumi-hanako")
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo",
                               options={"members": [hanako], "relationship": True},
                               out_dir=tmp_path)
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert "霞 花子" in front
    assert "霞 次郎" not in front
    assert "妻" in front
    assert "世帯全員" not in front


async def test_relationship_only_when_asked(kiosk: KioskClient, wallet: Wallet,
                                            tmp_path) -> None:
    result = await kiosk.issue(wallet.get("kasumi-hanako"), "1234", "juminhyo",
                               options={"members": "household"}, out_dir=tmp_path)
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert "霞 花子" in front
    assert "妻" not in front  # 続柄 is printed only on request


async def test_seal_registration_certificate(kiosk: KioskClient, wallet: Wallet,
                                             tmp_path) -> None:
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "inkan", out_dir=tmp_path)
    front, back = pdf_pages_text(result.files[0].read_bytes())
    assert "印鑑登録証明書" in front
    assert "霞 太郎" in front
    assert "霞 花子" not in front
    assert "昭和55年4月1日" in front  # born 1980-04-01, in the Japanese era
    assert "千代田区長" in front
    assert "霞 太郎" not in back


async def test_copies_are_certificates_of_their_own(kiosk: KioskClient, wallet: Wallet,
                                                    tmp_path) -> None:
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo", copies=3,
                               options={"members": "household"}, out_dir=tmp_path)
    numbers = {c["certificate_number"] for c in result.order["certificates"]}
    ids = {c["certificate_id"] for c in result.order["certificates"]}
    assert len(numbers) == 3 and len(ids) == 3
    assert result.order["fee_yen"] == 600
    assert result.settlement["charged_yen"] == 600
    for path, certificate in zip(result.files, result.order["certificates"], strict=True):
        front = pdf_pages_text(path.read_bytes())[0]
        assert certificate["certificate_number"] in front


async def test_another_municipality(kiosk: KioskClient, wallet: Wallet, tmp_path) -> None:
    result = await kiosk.issue(wallet.get("bango-hanako"), "1234", "juminhyo",
                               out_dir=tmp_path)
    front = pdf_pages_text(result.files[0].read_bytes())[0]
    assert "番号 花子" in front
    assert "宮崎市長" in front
    assert "平成元年3月31日" in front
    assert result.order["fee_yen"] == 300


def test_command_line_issue(system: System, tmp_path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "kiosk_sim", "issue", "--var", str(system.var), "--center",
         system.center_url, "--persona", "kasumi-taro", "--pin", "1234", "--type", "juminhyo",
         "--option", "members=household", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    output = json.loads(completed.stdout)
    assert output["ok"] is True
    [file] = output["files"]
    assert output["order"]["certificates"][0]["certificate_number"] + ".pdf" in file
    front = pdf_pages_text(Path(file).read_bytes())[0]
    assert "霞 太郎" in front


def test_command_line_refusal_exits_1(system: System, tmp_path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "kiosk_sim", "issue", "--var", str(system.var), "--center",
         system.center_url, "--persona", "kasumi-jiro", "--pin", "1234", "--type", "juminhyo",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    output = json.loads(completed.stdout)
    assert output == {"ok": False, "problem": output["problem"]}
    assert output["problem"]["code"] == "resident-ineligible"
    assert output["problem"]["reason"] == "under-15"
    assert list(tmp_path.iterdir()) == []


async def test_request_id_travels_to_the_municipality(system: System, kiosk: KioskClient,
                                                      wallet: Wallet) -> None:
    session = await kiosk.start_session()
    await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
    request_id = "trace-" + b64url_encode(b"menu-request-1")
    _, menu, headers = await kiosk.request("GET", f"/v1/sessions/{session['session_id']}/menu",
                                           request_id=request_id)
    assert headers["X-Request-Id"] == request_id
    assert all(i["available"] for i in menu["items"]), menu["items"]
    assert request_id in system.log("municipal-131016")
    await kiosk.end_session(session["session_id"])
