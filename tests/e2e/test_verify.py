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
    assert report["development_key"] is True  # the test center's key: a sample (見本)
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


# --- a relying party's own JOSE library ------------------------------------------------------

async def test_the_qr_code_verifies_with_pyjwt_and_the_jwk_set(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    """A bank's developer: read the QR code off the printed back, fetch the JWK Set,
    verify with PyJWT. Nothing of ours on their side."""
    import jwt

    from tests.support import pdf_qr_codes

    pdf, certificate = await _issue(kiosk, wallet, tmp_path)
    [token] = pdf_qr_codes(pdf)
    async with aiohttp.ClientSession() as session, session.get(
            f"{system.public_url}/v1/trust-list/jwks.json") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/jwk-set+json")
        document = await response.json(content_type=None)
    # The API listener serves the same set, and the same keys as the trust list.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=system.ssl_as_kiosk())) as session:
        async with session.get(f"{system.center_url}/v1/trust-list/jwks.json") as response:
            assert await response.json(content_type=None) == document
        async with session.get(f"{system.center_url}/v1/trust-list") as response:
            trust_list = await response.json()
    assert [k["kid"] for k in document["keys"]] == [k["kid"] for k in trust_list["keys"]]
    for key in document["keys"]:
        assert {k: key[k] for k in ("kty", "crv", "alg", "use")} == {
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"}
    # Each key says whether it is a development key, as the trust list does.
    assert [k["development"] for k in document["keys"]] == [
        k["development"] for k in trust_list["keys"]] and document["keys"][0]["development"]

    keys = jwt.PyJWKSet.from_dict(document)
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, keys[kid].key, algorithms=["ES256"])
    assert claims["cid"] == certificate["certificate_id"]
    assert claims["num"] == certificate["certificate_number"]
    assert (claims["typ"], claims["mun"]) == ("juminhyo", "131016")

    # A forged payload under the center's header and signature does not verify.
    header, _, signature = token.split(".")
    forged = jwt.utils.base64url_encode(json.dumps(
        {**claims, "mun": "452017"}, separators=(",", ":")).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", keys[kid].key, algorithms=["ES256"])


# --- uploads crafted to exhaust the center ------------------------------------------------------

def crafted_png(width: int, height: int) -> bytes:
    """A real, valid PNG of a blank page that compresses to almost nothing: the
    report's was 154 KB for 39.7 million pixels."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (255, 255, 255)).save(out, format="PNG", optimize=True)
    return out.getvalue()


async def _verify_from(address: str, system: System, data: bytes,
                       ) -> tuple[int, dict[str, Any], Any]:
    """POST /v1/verify from another loopback address: another client to the center."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename="back.png", content_type="image/png")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            local_addr=(address, 0))) as session, session.post(
            f"{system.public_url}/v1/verify", data=form) as response:
        return response.status, await response.json(content_type=None), response.headers


async def test_crafted_uploads_are_refused_and_real_ones_still_verify(
        system: System, kiosk: KioskClient, wallet: Wallet, tmp_path: Path) -> None:
    from center.inquiry import MAX_IMAGE_PIXELS

    crafted = crafted_png(5300, 7490)  # 39.7 Mpx
    assert len(crafted) < 400_000 and MAX_IMAGE_PIXELS < 5300 * 7490
    # One client sends 40 at once: the header refuses each it reads, and past the
    # address's budget (10 at once, then one every 3 s) the rest are not even read.
    answers = await asyncio.gather(*(_verify_from("127.0.0.77", system, crafted)
                                     for _ in range(40)))
    codes = [(status, body["code"]) for status, body, _ in answers]
    assert set(codes) <= {(413, "image-too-large"), (429, "rate-limited")}, codes
    assert codes.count((413, "image-too-large")) >= 10
    limited = [(body, headers) for status, body, headers in answers if status == 429]
    assert limited, "40 uploads at once from one address were all read"
    assert limited[0][0]["retry_after_seconds"] > 0
    assert int(limited[0][1]["Retry-After"]) >= 1
    # Another address is not affected.
    status, body, _ = await _verify_from("127.0.0.78", system, crafted)
    assert (status, body["code"]) == (413, "image-too-large")

    # The largest image a 600 dpi scan of A4 may be is read (at 300 dpi): blank, so
    # unreadable, not an error.
    status, body, _ = await _verify_from("127.0.0.79", system, crafted_png(5100, 7050))
    assert (status, body["status"], body["source"]) == (200, "unreadable", "scan")

    # And a real certificate still verifies.
    pdf, certificate = await _issue(kiosk, wallet, tmp_path)
    status, body, _ = await _verify(system, pdf, "certificate.pdf", "application/pdf")
    assert (status, body["status"]) == (200, "valid")
    assert body["certificate"]["certificate_id"] == certificate["certificate_id"]


async def test_a_part_header_that_is_not_utf8_before_the_file_is_refused(
        system: System) -> None:
    """Found by fuzzing: it was a 500."""
    body = (b"--XX\r\n\xa2\xff: x\r\nContent-Disposition: form-data; name=\"\xff\xfe\"\r\n"
            b"\r\nabc\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XX--\r\n")
    async with aiohttp.ClientSession() as session, session.post(
            f"{system.public_url}/v1/verify", data=body,
            headers={"Content-Type": "multipart/form-data; boundary=XX"}) as response:
        problem = await response.json(content_type=None)
        assert 400 <= response.status < 500, problem
        assert problem["code"] == "invalid-request"
