"""The anti-forgery back page and the finished two-page certificate, read back the way a
relying party would: rasterised, QR decoded, JWS checked against the trust list."""

from __future__ import annotations

import functools
import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import datetime

import numpy as np
import pikepdf
import pytest

from center.antiforgery import finish_certificate
from center.antiforgery.back_page import render_back_page
from center.antiforgery.front_digest import page_digest
from center.antiforgery.qr import certificate_claims, qr_image
from center.qr_keys import QrKeyring
from konbini.b64 import b64url_encode
from konbini.jws import public_key_from_b64, sign_es256, verify_es256
from konbini.pdfium import pdf_document
from tests.support import A4_POINTS, pdf_page_sizes, pdf_pages_text, pdf_qr_codes
from tests.unit.antiforgery_helpers import (
    ADDRESS,
    ISSUED_AT,
    NAME,
    NUMBER,
    SECRET,
    claims_for,
    finish,
    front_pdf,
    without_tint,
)


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> QrKeyring:
    return QrKeyring.load_or_create(tmp_path_factory.mktemp("qr"), ISSUED_AT)


@pytest.fixture(scope="module")
def front() -> bytes:
    return front_pdf()


def test_certificate_claims_are_exactly_the_contract() -> None:
    digest = hashlib.sha256(b"front").digest()
    claims = certificate_claims(
        certificate_id="abc", certificate_number=NUMBER, cert_type="inkan",
        municipality_code="452017", issued_at=datetime.fromisoformat("2026-11-24T10:00:00.9+09:00"),
        front_pdf_sha256=digest)
    assert claims == {"cid": "abc", "num": NUMBER, "typ": "inkan", "mun": "452017",
                      "iat": 1795482000, "dig": b64url_encode(digest)}
    assert len(claims["dig"]) == 43


def test_certificate_claims_refuse_bad_input() -> None:
    kwargs = {"certificate_id": "a", "certificate_number": "n", "cert_type": "t",
              "municipality_code": "131016"}
    with pytest.raises(ValueError, match="aware"):
        certificate_claims(**kwargs, issued_at=datetime(2026, 11, 24),
                           front_pdf_sha256=bytes(32))
    with pytest.raises(ValueError, match="32-byte"):
        certificate_claims(**kwargs, issued_at=ISSUED_AT,
                           front_pdf_sha256=hashlib.sha256(b"x").hexdigest().encode())


def test_qr_image_is_square_with_whole_pixel_modules() -> None:
    image = qr_image("x" * 380, box_px=600)
    assert image.mode == "L"
    assert image.width == image.height <= 600
    assert image.width >= 500
    assert {value for _, value in image.getcolors()} == {0, 255}


def test_finished_certificate_is_front_then_back(ring: QrKeyring, front: bytes) -> None:
    pdf, _ = finish(ring, front)
    sizes = pdf_page_sizes(pdf)
    assert len(sizes) == 2
    for width, height in sizes:
        assert (width, height) == pytest.approx(A4_POINTS, abs=0.1)
    assert pdf_pages_text(pdf)[0] == pdf_pages_text(front)[0]
    # The front is the municipality's page as it was: its content stream byte for byte,
    # after the tint's own stream; without the tint, the same pixels.
    with pikepdf.open(io.BytesIO(pdf)) as merged, pikepdf.open(io.BytesIO(front)) as original:
        contents = merged.pages[0].obj.Contents
        assert len(contents) == 2
        assert contents[1].read_raw_bytes() == original.pages[0].obj.Contents.read_raw_bytes()
    assert _raster(without_tint(pdf), 0, 100) == _raster(front, 0, 100)
    assert _raster(pdf, 0, 100) != _raster(front, 0, 100)  # the tint is there


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_the_qr_code_reads_back_and_verifies(ring: QrKeyring, front: bytes, dpi: int) -> None:
    pdf, token = finish(ring, front)
    assert pdf_qr_codes(pdf, page_index=1, dpi=dpi) == [token]
    # A relying party checks it offline with nothing but the published trust list.
    keys = {e["kid"]: public_key_from_b64(e["public_key"]) for e in ring.trust_list()["keys"]}
    header, verified = verify_es256(token, keys)
    assert header["alg"] == "ES256"
    assert {k: v for k, v in verified.items() if k != "fpd"} == claims_for(front)
    assert verified["dig"] == b64url_encode(hashlib.sha256(front).digest())
    # fpd: the digest of page 1 as finished, recomputed from the file as printed.
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert verified["fpd"] == b64url_encode(page_digest(document.pages[0]))


def test_back_page_carries_no_personal_data(ring: QrKeyring, front: bytes) -> None:
    back_text = pdf_pages_text(finish(ring, front)[0])[1]
    compact = back_text.replace(" ", "").replace("\r", "").replace("\n", "")
    for expected in ("偽造防止情報", NUMBER, "千代田区", "住民票の写し",
                     "http://127.0.0.1:8080/verify", "照会サイト",
                     "スクランブル画像", "偽造防止検出画像"):
        assert expected in compact
    for personal in (NAME, NAME.replace(" ", ""), "霞", ADDRESS, "霞が関"):
        assert personal not in compact


def _fonts(pdf: bytes, page: int) -> set[str]:
    """The base fonts a page's own content uses (its /Font resources)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        fonts = document.pages[page].obj.Resources.get("/Font", {})
        return {str(font.BaseFont) for _, font in fonts.items()}


def test_the_back_names_the_inquiry_site_and_sets_the_number_in_mincho(
        ring: QrKeyring, front: bytes) -> None:
    kid, key = ring.current(ISSUED_AT)
    pdf, _ = finish_certificate(front, claims=claims_for(front),
                                sign=functools.partial(sign_es256, key=key, kid=kid),
                                scramble_secret=SECRET, certificate_number=NUMBER,
                                municipality_name="千代田区", cert_label="住民票の写し",
                                inquiry_url="https://shokai.example.jp/verify")
    back = pdf_pages_text(pdf)[1].replace(" ", "").replace("\n", "")
    assert "https://shokai.example.jp/verify" in back and NUMBER in back
    # One typeface on the page: the embedded Mincho subset, no standard Helvetica.
    fonts = _fonts(pdf, 1)
    assert fonts and all("Helvetica" not in font for font in fonts), fonts
    assert all("+" in font for font in fonts)  # subset-tagged, i.e. embedded


def _red_share(png_page: bytes) -> float:
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png_page)).convert("RGB"), dtype=np.int16)
    red = (rgb[..., 0] > 150) & (rgb[..., 0] - rgb[..., 1] > 80)
    return float(red.mean())


@pytest.mark.parametrize("sample", [True, False], ids=["development-key", "production-key"])
def test_a_certificate_signed_with_a_development_key_says_sample_on_both_pages(
        ring: QrKeyring, front: bytes, sample: bool) -> None:
    from kiosk_sim.printer import render_pages

    kid, key = ring.current(ISSUED_AT)
    pdf, token = finish_certificate(front, claims=claims_for(front),
                                    sign=functools.partial(sign_es256, key=key, kid=kid),
                                    scramble_secret=SECRET, certificate_number=NUMBER,
                                    municipality_name="千代田区", cert_label="住民票の写し",
                                    sample=sample)
    texts = [text.replace(" ", "").replace("\n", "") for text in pdf_pages_text(pdf)]
    pages = render_pages(pdf)
    for text, page in zip(texts, pages, strict=True):
        # Said in words a reader (and a text search) finds, and seen in red on the page.
        assert ("見本" in text and "SAMPLE" in text) is sample
        assert (_red_share(page) > 0.002) is sample
    # The mark is under the signature (fpd) and leaves the QR code readable.
    assert pdf_qr_codes(pdf, page_index=1, dpi=200) == [token]
    with pikepdf.open(io.BytesIO(pdf)) as document:
        _, claims = verify_es256(token, {kid: ring.public_keys()[kid]})
        assert claims["fpd"] == b64url_encode(page_digest(document.pages[0]))


def test_a_number_helvetica_cannot_print_is_drawn_in_mincho(ring: QrKeyring,
                                                             front: bytes) -> None:
    kid, key = ring.current(ISSUED_AT)
    pdf, _ = finish_certificate(front, claims=claims_for(front),
                                sign=functools.partial(sign_es256, key=key, kid=kid),
                                scramble_secret=SECRET, certificate_number="第2026-000123号",
                                municipality_name="宮崎市", cert_label="住民票記載事項証明書")
    compact = pdf_pages_text(pdf)[1].replace(" ", "")
    assert "第2026-000123号" in compact and "宮崎市" in compact


def test_back_page_alone_is_one_a4_page(ring: QrKeyring, front: bytes) -> None:
    back = render_back_page(token="x" * 380, certificate_number=NUMBER,
                            municipality_name="宮崎市", cert_label="住民票記載事項証明書")
    assert pdf_page_sizes(back) == [pytest.approx(A4_POINTS, abs=0.1)]
    assert "住民票記載事項証明書" in pdf_pages_text(back)[0].replace(" ", "")


def test_finishing_is_deterministic(ring: QrKeyring, front: bytes) -> None:
    assert finish(ring, front) == finish(ring, front)


def test_finishing_on_several_threads_at_once(ring: QrKeyring, front: bytes) -> None:
    # The center finishes certificates in a thread pool; concurrent pages must come out
    # byte for byte as they do one at a time (embedded font subsets included).
    cids = [f"{n:032x}" for n in range(16)]
    serial = [finish(ring, front, cid) for cid in cids]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda cid: finish(ring, front, cid), cids))
    assert concurrent == serial


def test_a_failed_render_waits_for_the_back_page(front: bytes, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The front is rendered on the caller's thread while another thread signs and builds
    # the back page in the same document. When the render fails, the error must wait
    # for that thread: nothing may go on working on a resident's document after the
    # call, and the document is closed only once no one else touches it.
    import center.antiforgery as antiforgery

    def unrenderable(pdf: bytes) -> None:
        raise ValueError("the municipality's front cannot be rendered")

    monkeypatch.setattr(antiforgery, "_front_raster", unrenderable)
    signing = threading.Event()
    release = threading.Event()

    def slow_sign(claims: dict) -> str:
        signing.set()
        release.wait(30)
        return "token"

    def finish() -> None:
        finish_certificate(front, claims=claims_for(front), sign=slow_sign,
                           scramble_secret=SECRET, certificate_number=NUMBER,
                           municipality_name="千代田区", cert_label="住民票の写し")

    with ThreadPoolExecutor(1) as pool:
        finishing = pool.submit(finish)
        assert signing.wait(30)
        with pytest.raises(FuturesTimeout):
            finishing.result(timeout=0.5)  # the render failed long ago; signing goes on
        release.set()
        with pytest.raises(ValueError, match="cannot be rendered"):
            finishing.result(timeout=30)


def test_a_front_that_is_not_one_page_is_refused(ring: QrKeyring, front: bytes) -> None:
    with pytest.raises(ValueError, match="2 pages"):
        finish(ring, front_pdf(pages=2))
    with pytest.raises(ValueError, match="not a readable PDF"):
        finish(ring, b"%PDF-1.4 not really")


def _raster(pdf: bytes, page_index: int, dpi: int) -> bytes:
    with pdf_document(pdf) as document:
        return document[page_index].render(scale=dpi / 72).to_pil().tobytes()



def _fixed_signature(claims: dict) -> str:
    """A stand-in for the ES256 signer whose token is a function of the claims alone
    (an ES256 signature is randomised), so that equal certificates are equal bytes."""
    body = b64url_encode(repr(sorted(claims.items())).encode())
    return f"eyJhbGciOiJub25lIn0.{body}.{b64url_encode(hashlib.sha256(body.encode()).digest())}"


def test_certificates_finished_at_once_on_several_threads_are_those_finished_one_by_one(
) -> None:
    # Each thread keeps the 見本 marks and the back page's words open and copies from
    # them; a copy's data must never depend on what another thread does meanwhile.
    fronts = [front_pdf(name) for name in (NAME, "霞 花子", "霞 次郎")]

    def finish_one(i: int) -> bytes:
        front = fronts[i % len(fronts)]
        return finish_certificate(
            front, claims=claims_for(front, cid=f"{i:032x}"), sign=_fixed_signature,
            scramble_secret=SECRET, certificate_number=f"131016-2026-{i:07d}",
            municipality_name="千代田区" if i % 2 else "港区", cert_label="住民票の写し",
            sample=True)[0]

    one_by_one = [finish_one(i) for i in range(12)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        at_once = list(pool.map(finish_one, range(12)))
    assert [len(pdf) for pdf in at_once] == [len(pdf) for pdf in one_by_one]
    assert at_once == one_by_one
    assert len(set(one_by_one)) == 12
