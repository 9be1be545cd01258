"""Certificates the demo's center issues are samples: its keys are development keys, so
both pages say 見本 and the inquiry site says the key is a development key; the back
names the inquiry site by its full address."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from center.qr_keys import QrKeyring
from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from konbini.clock import parse_instant
from tests.conftest import BASE_CLOCK, System
from tests.support import pdf_pages_text

REPO = Path(__file__).resolve().parents[2]


async def test_a_demo_certificate_is_a_sample_on_paper_and_at_the_inquiry_site(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo", copies=1,
                               options={"members": "household"}, out_dir=tmp_path)
    pdf = result.files[0].read_bytes()
    front, back = (text.replace(" ", "").replace("\n", "") for text in pdf_pages_text(pdf))
    assert "見本" in front and "SAMPLE" in front and "霞太郎" in front
    # The register's 住所を定めた年月日 and 届出日, for each of the household's three.
    assert front.count("住所を定めた年月日") == 3 and front.count("届出日") == 3
    assert "平成27年4月8日" in front  # 霞 太郎's 転入届, a week after he moved in
    assert "見本" in back and "SAMPLE" in back
    # The inquiry site by its whole address: this center's own public listener.
    assert f"{system.public_url}/verify" in back

    form = aiohttp.FormData()
    form.add_field("file", pdf, filename="certificate.pdf", content_type="application/pdf")
    async with aiohttp.ClientSession() as session, session.post(
            f"{system.public_url}/v1/verify", data=form) as response:
        assert response.status == 200
        body = await response.json()
    assert body["development_key"] is True
    assert body["signature_valid"] is True and body["checks"]["front"] == "matches"
    assert body["message"].splitlines()[-1] == (
        "開発用の鍵で署名された見本（SAMPLE）です。証明書としての効力はありません。")
    # Something no key of the trust list signed: nothing to say about its key.
    form = aiohttp.FormData()
    form.add_field("file", b"%PDF-1.4 not really", filename="x.pdf",
                   content_type="application/pdf")
    async with aiohttp.ClientSession() as session, session.post(
            f"{system.public_url}/v1/verify", data=form) as response:
        body = await response.json()
    assert body.get("development_key") is None


async def test_a_production_key_leaves_the_mark_off(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    """The operator makes a production key as the README says; the running center signs
    with it from its next certificate, which carries no 見本."""
    keys = [sys.executable, "-m", "center", "keys", "rotate", "--var", str(system.var)]
    environment = {**os.environ, "KONBINI_CLOCK": BASE_CLOCK}
    made = subprocess.run([*keys, "--production"], capture_output=True, text=True,
                          env=environment, cwd=REPO, check=True)
    assert "production key" in made.stdout
    try:
        result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo", copies=1,
                                   options={"members": "household"}, out_dir=tmp_path)
        pdf = result.files[0].read_bytes()
        for text in pdf_pages_text(pdf):
            assert "見本" not in text and "SAMPLE" not in text
        form = aiohttp.FormData()
        form.add_field("file", pdf, filename="certificate.pdf",
                       content_type="application/pdf")
        async with aiohttp.ClientSession() as session, session.post(
                f"{system.public_url}/v1/verify", data=form) as response:
            body = await response.json()
        assert body["development_key"] is False and body["status"] == "valid"
        assert "見本" not in body["message"]
    finally:
        # The rest of the session's certificates are samples again.
        ring = QrKeyring.load_or_create(system.var / "center" / "qr-keys",
                                        parse_instant(BASE_CLOCK))
        ring.rotate(parse_instant(BASE_CLOCK), development=True)
