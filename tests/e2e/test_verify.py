"""The inquiry site over the wire, on certificates the real system issued: the PDF and
a simulated 300 dpi scan of the printed back, a failed print, an edited PDF, bad
uploads, the recovered front, and the offline check from the command line."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pikepdf
import pytest
import zxingcpp
from jsonschema import Draft202012Validator
from PIL import Image

from center.antiforgery import optics
from center.antiforgery.raster import render_grey
from center.antiforgery.scramble import front_raster
from center.qr_keys import QrKeyring
from kiosk_sim.client import KioskClient
from kiosk_sim.wallet import Wallet
from konbini.clock import parse_instant
from konbini.jws import sign_es256
from tests.conftest import BASE_CLOCK, System
from tests.unit.antiforgery_helpers import without_tint

REPO = Path(__file__).resolve().parents[2]


async def _issue(kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> tuple[bytes, dict]:
    result = await kiosk.issue(wallet.get("kasumi-taro"), "1234", "juminhyo", copies=1,
                               options={"members": "household"}, out_dir=tmp_path)
    return result.files[0].read_bytes(), result.order["certificates"][0]


async def _verify(system: System, data: bytes, filename: str = "upload",
                  content_type: str = "application/octet-stream",
                  ) -> tuple[int, dict[str, Any], str]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type=content_type)
    async with aiohttp.ClientSession() as session, session.post(
            f"{system.public_url}/v1/verify", data=form) as response:
        return response.status, await response.json(content_type=None), \
            response.headers.get("Content-Type", "")


async def _front(system: System, url: str) -> np.ndarray:
    async with aiohttp.ClientSession() as session, session.get(
            f"{system.public_url}{url}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        return np.asarray(Image.open(io.BytesIO(await response.read())).convert("L"))


async def _schema(system: System) -> dict:
    async with aiohttp.ClientSession() as session, session.get(
            f"{system.public_url}/v1/openapi.json") as response:
        document = await response.json()
    return document["paths"]["/v1/verify"]["post"]["responses"]["200"]["content"][
        "application/json"]["schema"]


def _scan_png(pdf: bytes, conditions: optics.ScanConditions) -> bytes:
    scan = optics.print_and_scan(render_grey(pdf, 1, 300), conditions)
    out = io.BytesIO()
    Image.fromarray(scan).save(out, format="PNG")
    return out.getvalue()


async def test_the_pdf_of_a_printed_certificate_is_valid(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    pdf, certificate = await _issue(kiosk, wallet, tmp_path)
    status, body, _ = await _verify(system, pdf, "certificate.pdf", "application/pdf")
    assert status == 200, body
    assert not list(Draft202012Validator(await _schema(system)).iter_errors(body))
    assert body["status"] == "valid" and body["signature_valid"] is True
    assert body["source"] == "pdf"
    assert body["checks"] == {"signature": "valid", "record": "printed", "front": "matches",
                              "front_image": "recovered", "sheets": "complete"}
    assert body["certificate"]["certificate_id"] == certificate["certificate_id"]
    assert body["certificate"]["certificate_number"] == certificate["certificate_number"]
    assert body["certificate"]["type"] == "juminhyo"
    assert body["certificate"]["type_label"] == "住民票の写し"
    assert body["certificate"]["municipality"] == {"code": "131016", "name": "千代田区"}
    issued = body["certificate"]["issued_at"]
    assert issued.startswith("2026-11-24T10:") and issued.endswith("+09:00")
    front = await _front(system, body["front_image_url"])
    value = optics.ssim(front, front_raster(without_tint(pdf)))
    print(f"front recovered from the issued PDF: SSIM {value:.3f}")
    assert value >= 0.99


@pytest.mark.parametrize("conditions", [
    optics.ScanConditions(rotation_deg=-1.0, offset_mm=(3.0, -3.0), blur_px=1.0, seed=11),
    optics.ScanConditions.random(12),
], ids=["worst", "random"])
async def test_a_scan_of_the_printed_back_is_valid(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path,
        conditions: optics.ScanConditions) -> None:
    pdf, certificate = await _issue(kiosk, wallet, tmp_path)
    status, body, _ = await _verify(system, _scan_png(pdf, conditions), "back.png",
                                    "image/png")
    assert status == 200, body
    assert body["status"] == "valid" and body["source"] == "scan"
    assert body["checks"]["front"] == "not-checked"  # paper is compared by eye
    assert body["certificate"]["certificate_id"] == certificate["certificate_id"]
    front = await _front(system, body["front_image_url"])
    value = optics.ssim(front, front_raster(without_tint(pdf)))
    print(f"front recovered from a scan {conditions}: SSIM {value:.3f}")
    assert value >= 0.8


async def test_a_certificate_whose_printing_failed_is_void(
        system: System, kiosk: KioskClient, wallet: Wallet) -> None:
    session = await kiosk.start_session()
    try:
        await kiosk.authenticate(session, wallet.get("kasumi-taro"), "1234")
        order = await kiosk.order(session["session_id"], "juminhyo", 1,
                                  {"members": "household"}, 200)
        certificate = order["certificates"][0]
        pdf = await kiosk.download(certificate)
        await kiosk.report_result(order["order_id"], [], [
            {"certificate_id": certificate["certificate_id"], "reason": "paper-jam"}])
    finally:
        await kiosk.end_session(session["session_id"])
    status, body, _ = await _verify(system, pdf, "certificate.pdf")
    assert status == 200
    assert body["status"] == "void" and body["signature_valid"] is True
    assert body["checks"]["record"] == "void" and body["void_reason"] == "paper-jam"
    # The misprint, scanned, says the same.
    _, scanned, _ = await _verify(system, _scan_png(pdf, optics.ScanConditions(seed=13)))
    assert scanned["status"] == "void"


async def test_an_edited_front_is_not_what_the_municipality_issued(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    pdf, _ = await _issue(kiosk, wallet, tmp_path)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        # White out a part of the front and write something else over it.
        page.contents_add(pikepdf.Stream(document, b"q 1 g 150 600 200 40 re f Q"))
        out = io.BytesIO()
        document.save(out)
    status, body, _ = await _verify(system, out.getvalue(), "certificate.pdf")
    assert status == 200
    assert body["status"] == "unknown"
    assert body["signature_valid"] is True  # the QR code itself is genuine
    assert body["checks"]["front"] == "edited"
    assert "一致しません" in body["message"]


def _qr_png(text: str) -> bytes:
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=6)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_a_forged_qr_code_is_unknown(system: System, tmp_path: Path) -> None:
    forger = QrKeyring.load_or_create(tmp_path / "forger", parse_instant(
        "2026-11-24T10:00:00+09:00"))
    kid, key = forger.current(parse_instant("2026-11-24T10:00:00+09:00"))
    token = sign_es256({"cid": "0" * 32, "num": "131016-2026-9999999", "typ": "juminhyo",
                        "mun": "131016", "iat": 1795482000, "dig": "A" * 43}, key, kid)
    status, body, _ = await _verify(system, _qr_png(token), "qr.png", "image/png")
    assert status == 200
    assert body["status"] == "unknown" and body["signature_valid"] is False
    assert body["certificate"] is None and body["front_image_url"] is None
    assert body["checks"]["signature"] == "unknown-key"


def _bomb() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = zlib.compress(b"\x00" * 200_000_001, 9)[:200_000]  # a big zero stream
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


async def test_bad_uploads_get_a_clear_answer_never_a_500(system: System) -> None:
    blank = io.BytesIO()
    Image.new("L", (1240, 1754), 255).save(blank, format="PNG")
    cases = [
        (b"just some text", 415, "unsupported-media-type"),
        (_bomb(), 413, "image-too-large"),
        (b"%PDF-1.7 nothing more", 422, "invalid-request"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), 422, "invalid-request"),
    ]
    for data, expected, code in cases:
        status, body, content_type = await _verify(system, data)
        assert (status, body.get("code")) == (expected, code), body
        assert content_type.startswith("application/problem+json")
    status, body, _ = await _verify(system, blank.getvalue(), "blank.png", "image/png")
    assert status == 200 and body["status"] == "unreadable"
    assert body["certificate"] is None and body["checks"]["signature"] == "no-qr-code"

    async with aiohttp.ClientSession() as session:
        # Not multipart at all, and multipart without the file.
        async with session.post(f"{system.public_url}/v1/verify",
                                json={"file": "x"}) as response:
            assert response.status == 415
            assert (await response.json(content_type=None))["code"] == "unsupported-media-type"
        form = aiohttp.FormData()
        form.add_field("other", b"x", filename="x")
        async with session.post(f"{system.public_url}/v1/verify", data=form) as response:
            assert response.status == 422
            assert (await response.json(content_type=None))["code"] == "invalid-request"
        # Over the size limit: refused from the declared length, before reading.
        huge = aiohttp.FormData()
        huge.add_field("file", b"\0" * (17 * 1024 * 1024), filename="big.png")
        async with session.post(f"{system.public_url}/v1/verify", data=huge) as response:
            assert response.status == 413
            assert (await response.json(content_type=None))["code"] == "request-too-large"
        async with session.get(f"{system.public_url}/v1/verify/fronts/nope.png") as response:
            assert response.status == 404
            assert (await response.json(content_type=None))["code"] == "not-found"


async def test_the_inquiry_page(system: System) -> None:
    async with aiohttp.ClientSession() as session, session.get(
            f"{system.public_url}/verify") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        html = await response.text()
    assert "証明書照会サイト" in html and 'name="file"' in html and "/v1/verify" in html


async def test_the_offline_check_from_the_command_line(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    pdf, certificate = await _issue(kiosk, wallet, tmp_path)
    async with aiohttp.ClientSession() as session, session.get(
            f"{system.public_url}/v1/trust-list") as response:
        (tmp_path / "trust-list.json").write_bytes(await response.read())
    edited = tmp_path / "edited.pdf"
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.pages[0].contents_add(pikepdf.Stream(document, b"q 0 g 100 100 50 50 re f Q"))
        document.save(edited)
    scan = tmp_path / "back.png"
    scan.write_bytes(_scan_png(pdf, optics.ScanConditions(rotation_deg=0.7, seed=14)))
    original = tmp_path / "certificate.pdf"
    original.write_bytes(pdf)
    junk = tmp_path / "junk.txt"
    junk.write_text("not a certificate")

    def run(path: Path) -> tuple[int, dict]:
        done = subprocess.run(
            [sys.executable, "-m", "center", "verify", str(path), "--trust-list",
             str(tmp_path / "trust-list.json"), "--json"],
            capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
        return done.returncode, json.loads(done.stdout)

    code, report = await asyncio.to_thread(run, original)
    assert code == 0 and report["result"] == "signature-valid" and report["front"] == "matches"
    assert report["certificate"]["certificate_id"] == certificate["certificate_id"]
    assert any("page 1" in line for line in report["proves"])
    assert "void" in report["online_only"]
    code, report = await asyncio.to_thread(run, scan)
    assert code == 0 and report["source"] == "scan" and report["front"] == "not-checked"
    code, report = await asyncio.to_thread(run, edited)
    assert code == 1 and report["result"] == "front-edited"
    code, report = await asyncio.to_thread(run, junk)
    assert code == 2 and report["code"] == "unsupported-media-type"


async def test_a_key_rotation_by_the_operator_keeps_printed_certificates_valid(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    # The operator rotates the QR key while the center runs: the next certificate is
    # signed, and its front scrambled, with the new key and its own secret; one printed
    # before still verifies and still shows its front.
    old_pdf, _ = await _issue(kiosk, wallet, tmp_path)
    _, old_body, _ = await _verify(system, old_pdf, "old.pdf", "application/pdf")
    old_kid = old_body["kid"]

    def keys(action: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "center", "keys", action, "--var", str(system.var)],
            capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
            env={**os.environ, "KONBINI_CLOCK": BASE_CLOCK})
        return done.stdout

    rotated = await asyncio.to_thread(keys, "rotate")
    new_kid = rotated.split()[2]
    assert new_kid != old_kid and new_kid.startswith("qr-")
    listing = await asyncio.to_thread(keys, "list")
    assert any(line.startswith(new_kid) and " signs " in line for line in listing.splitlines())
    assert any(line.startswith(old_kid) and "verifies only" in line
               for line in listing.splitlines())

    new_pdf, _ = await _issue(kiosk, wallet, tmp_path)
    for pdf, kid in ((new_pdf, new_kid), (old_pdf, old_kid)):
        status, body, _ = await _verify(system, pdf, "certificate.pdf", "application/pdf")
        assert status == 200 and body["status"] == "valid" and body["kid"] == kid, body
        front = await _front(system, body["front_image_url"])
        assert optics.ssim(front, front_raster(without_tint(pdf))) >= 0.99
    scrambled_with = {kid: (system.var / "center" / "qr-keys" / f"{kid}.scramble.secret")
                      .read_bytes() for kid in (old_kid, new_kid)}
    assert scrambled_with[old_kid] != scrambled_with[new_kid]
