"""The inquiry's pure logic: the signature against the trust list (key rotation, kid,
validity), the front of an uploaded PDF against the signed digest, bad uploads."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from center import inquiry
from center.inquiry_site import FrontCache
from center.qr_keys import QrKeyring
from konbini.b64 import b64url_decode, b64url_encode
from konbini.jws import sign_es256
from tests.unit.antiforgery_helpers import ISSUED_AT, claims_for, finish, front_pdf, keyring


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> QrKeyring:
    return keyring(tmp_path_factory.mktemp("qr"))


@pytest.fixture(scope="module")
def certificate(ring: QrKeyring) -> tuple[bytes, str]:
    return finish(ring, front_pdf())


def _keys(ring: QrKeyring) -> dict[str, inquiry.TrustedKey]:
    return inquiry.trusted_keys(ring.trust_list())


# --- the signature -------------------------------------------------------------------------

def test_a_genuine_token_is_valid(ring: QrKeyring, certificate: tuple[bytes, str]) -> None:
    check = inquiry.check_token(certificate[1], _keys(ring))
    assert check.valid and check.kid == ring.current(ISSUED_AT)[0]
    assert check.claims is not None and check.claims["num"] == "131016-2026-0000123"
    assert "fpd" in check.claims


def test_after_rotation_the_kid_selects_the_key(tmp_path: Path) -> None:
    ring = keyring(tmp_path)
    old_kid, old_key = ring.current(ISSUED_AT)
    old_token = sign_es256(claims_for(b"front"), old_key, old_kid)
    later = ISSUED_AT + timedelta(days=30)
    new_kid = ring.rotate(later)
    new_kid_now, new_key = ring.current(later)
    assert new_kid_now == new_kid != old_kid
    new_claims = {**claims_for(b"front"), "iat": int(later.timestamp())}
    new_token = sign_es256(new_claims, new_key, new_kid)
    keys = _keys(ring)
    assert set(keys) == {old_kid, new_kid}  # the trust list holds both
    assert inquiry.check_token(old_token, keys).kid == old_kid
    assert inquiry.check_token(old_token, keys).valid
    assert inquiry.check_token(new_token, keys).valid
    # The old key's kid on a token the new key signed: the kid picks the wrong key.
    header, payload, signature = new_token.split(".")
    forged_header = b64url_encode(b64url_decode(header).replace(new_kid.encode(),
                                                                old_kid.encode()))
    swapped = ".".join((forged_header, payload, signature))
    assert inquiry.check_token(swapped, keys).outcome == "bad-signature"


def test_a_token_dated_outside_its_keys_validity_is_refused(ring: QrKeyring) -> None:
    kid, key = ring.current(ISSUED_AT)
    entry = _keys(ring)[kid]
    too_early = {**claims_for(b"front"), "iat": int(entry.not_before.timestamp()) - 60}
    too_late = {**claims_for(b"front"), "iat": int(entry.not_after.timestamp()) + 60}
    for claims in (too_early, too_late):
        check = inquiry.check_token(sign_es256(claims, key, kid), _keys(ring))
        assert check.outcome == "outside-key-validity" and check.claims is None


def test_unknown_keys_forgeries_and_garbage(ring: QrKeyring, tmp_path: Path) -> None:
    stranger = QrKeyring.load_or_create(tmp_path / "other", ISSUED_AT)
    kid, key = stranger.current(ISSUED_AT)
    assert inquiry.check_token(sign_es256(claims_for(b"x"), key, kid),
                               _keys(ring)).outcome == "unknown-key"
    # A key of another center, under our kid: the signature does not verify.
    our_kid = ring.current(ISSUED_AT)[0]
    assert inquiry.check_token(sign_es256(claims_for(b"x"), key, our_kid),
                               _keys(ring)).outcome == "bad-signature"
    assert inquiry.check_token("not a token", _keys(ring)).outcome == "malformed"
    real_kid, real_key = ring.current(ISSUED_AT)
    no_cid = {k: v for k, v in claims_for(b"x").items() if k != "cid"}
    assert inquiry.check_token(sign_es256(no_cid, real_key, real_kid),
                               _keys(ring)).outcome == "not-a-certificate"


def test_a_trust_list_must_be_well_formed() -> None:
    with pytest.raises(ValueError):
        inquiry.trusted_keys({"keys": [{"kid": "k", "alg": "ES256", "public_key": "xx"}]})
    with pytest.raises(ValueError):
        inquiry.trusted_keys({"keys": "none"})


# --- the front of a PDF --------------------------------------------------------------------

def _reading_check(ring: QrKeyring, pdf: bytes) -> str:
    reading = inquiry.read_upload(pdf)
    check = inquiry.check_token(reading.token, _keys(ring))
    assert check.valid and check.claims is not None
    return inquiry.front_check(reading, check.claims)


def test_the_pdf_as_issued_matches(ring: QrKeyring, certificate: tuple[bytes, str]) -> None:
    assert _reading_check(ring, certificate[0]) == "matches"


def test_a_resaved_pdf_still_matches(ring: QrKeyring, certificate: tuple[bytes, str]) -> None:
    with pikepdf.open(io.BytesIO(certificate[0])) as document:
        out = io.BytesIO()
        document.save(out, compress_streams=True,
                      object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert out.getvalue() != certificate[0]
    assert _reading_check(ring, out.getvalue()) == "matches"


def _edited(pdf: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    with pikepdf.open(io.BytesIO(pdf)) as document:
        edit(document, document.pages[0])
        out = io.BytesIO()
        document.save(out)
    return out.getvalue()


def _cover_the_name(document: pikepdf.Pdf, page: pikepdf.Page) -> None:
    page.contents_add(pikepdf.Stream(document, b"q 1 g 140 690 90 30 re f Q"))


def _add_annotation(document: pikepdf.Pdf, page: pikepdf.Page) -> None:
    page.obj.Annots = document.make_indirect(pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.FreeText,
        Rect=[140, 690, 230, 720], Contents=pikepdf.String("霞 花子"))]))


def _change_a_stream(document: pikepdf.Pdf, page: pikepdf.Page) -> None:
    stream = page.obj.Contents[1]
    stream.write(stream.read_bytes().replace(b"Tj", b"Tj ", 1))


@pytest.mark.parametrize("edit", [_cover_the_name, _add_annotation, _change_a_stream])
def test_an_edited_front_does_not_match(ring: QrKeyring, certificate: tuple[bytes, str],
                                        edit) -> None:  # type: ignore[no-untyped-def]
    assert _reading_check(ring, _edited(certificate[0], edit)) == "edited"


# --- the verdict ----------------------------------------------------------------------------

def test_assess() -> None:
    claims = {"cid": "c", "num": "n", "typ": "juminhyo", "mun": "131016", "iat": 1, "dig": "d"}
    valid = inquiry.TokenCheck("valid", "", "k", claims)
    record = inquiry.Record("n", "juminhyo", "131016", "printed")
    assert inquiry.assess(None, None, "not-checked") == ("unreadable", "not-checked")
    assert inquiry.assess(inquiry.TokenCheck("bad-signature", ""), record,
                          "not-checked")[0] == "unknown"
    assert inquiry.assess(valid, None, "matches") == ("unknown", "not-found")
    assert inquiry.assess(valid, record, "matches") == ("valid", "printed")
    assert inquiry.assess(valid, record, "not-checked") == ("valid", "printed")
    assert inquiry.assess(valid, record, "edited") == ("unknown", "printed")
    void = inquiry.Record("n", "juminhyo", "131016", "void", "paper-jam")
    assert inquiry.assess(valid, void, "matches") == ("void", "void")
    other = inquiry.Record("other", "juminhyo", "131016", "printed")
    assert inquiry.assess(valid, other, "matches") == ("unknown", "mismatch")


# --- bad uploads ---------------------------------------------------------------------------

def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, format="PNG")
    return out.getvalue()


def _bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 16, 9)  # only 16 rows actually there
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))


@pytest.mark.parametrize(("data", "code"), [
    (b"hello, this is text", "unsupported-media-type"),
    (b"GIF89a" + bytes(100), "unsupported-media-type"),
    (_bomb(60_000, 60_000), "image-too-large"),
    (_png(100, 100)[:60], "invalid-request"),
    (b"%PDF-1.7\n garbage", "invalid-request"),
    (b"\xff\xd8\xff" + bytes(50), "invalid-request"),
])
def test_bad_uploads_are_refused_clearly(data: bytes, code: str) -> None:
    with pytest.raises(inquiry.UploadRefused) as refused:
        inquiry.read_upload(data)
    assert refused.value.code == code


def test_an_oversized_upload_is_refused() -> None:
    with pytest.raises(inquiry.UploadRefused) as refused:
        inquiry.read_upload(b"%PDF-" + bytes(inquiry.MAX_UPLOAD_BYTES))
    assert refused.value.code == "request-too-large"


def test_pdfs_that_are_not_certificates(tmp_path: Path) -> None:
    many = pikepdf.new()
    for _ in range(5):
        many.add_blank_page()
    huge = pikepdf.new()
    huge.add_blank_page(page_size=(14400, 14400))
    for document in (many, huge):
        out = io.BytesIO()
        document.save(out)
        with pytest.raises(inquiry.UploadRefused) as refused:
            inquiry.read_upload(out.getvalue())
        assert refused.value.code == "invalid-request"


def test_an_image_without_a_qr_code_is_read_but_has_no_token() -> None:
    reading = inquiry.read_upload(_png(800, 1100))
    assert reading.source == "scan" and reading.token is None


def test_a_jpeg_scan_is_read(ring: QrKeyring, certificate: tuple[bytes, str]) -> None:
    from center.antiforgery import optics
    from center.antiforgery.raster import render_grey
    scan = optics.print_and_scan(render_grey(certificate[0], 1, 300),
                                 optics.ScanConditions(rotation_deg=0.5, seed=3))
    out = io.BytesIO()
    Image.fromarray(scan).convert("RGB").save(out, format="JPEG", quality=85)
    reading = inquiry.read_upload(out.getvalue())
    assert reading.token == certificate[1]


def test_the_crafted_png_of_the_report_is_refused_from_its_header() -> None:
    # 154 KB declaring 39.7 million pixels: more than a 600 dpi scan of A4 needs.
    with pytest.raises(inquiry.UploadRefused) as refused:
        inquiry.read_upload(_bomb(5300, 7490))
    assert refused.value.code == "image-too-large"
    with pytest.raises(inquiry.UploadRefused) as refused:
        inquiry.read_upload(_bomb(36_000, 900))  # few pixels, but no A4 page
    assert refused.value.code == "image-too-large"


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "1"])
@pytest.mark.parametrize("factor", [1, 2, 3])
def test_a_png_read_in_strips_is_the_png(mode: str, factor: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    monkeypatch.setattr(inquiry, "STRIP_PIXELS", 20_000)  # many strips of ~30 rows
    noise = (np.random.default_rng(7).random((331, 613)) * 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).convert(mode).save(out, format="PNG")
    data = out.getvalue()
    whole = inquiry._grey(Image.open(io.BytesIO(data)))
    if factor > 1:
        whole = whole.reduce(factor)
    expected = np.asarray(whole)[:331 // factor, :613 // factor]
    assert np.array_equal(inquiry._png_grey(data, Image.open(io.BytesIO(data)), factor),
                          expected)


def test_a_600_dpi_colour_scan_is_read_at_300_dpi(certificate: tuple[bytes, str]) -> None:
    from center.antiforgery.raster import render_grey
    page = render_grey(certificate[0], 1, 600)
    out = io.BytesIO()
    Image.fromarray(page).convert("RGB").save(out, format="PNG", compress_level=1)
    del page
    reading = inquiry.read_upload(out.getvalue())
    assert reading.scan is not None
    assert reading.scan.shape[0] * reading.scan.shape[1] <= inquiry.READ_MAX_PIXELS
    assert reading.token == certificate[1]


# --- the in-memory cache of recovered fronts ---------------------------------------------

def test_front_cache_expires_and_stays_bounded() -> None:
    now = [0.0]
    cache = FrontCache(ttl=60, entries=3, max_bytes=1000, clock=lambda: now[0])
    first = cache.put(b"a" * 100)
    assert cache.get(first) == b"a" * 100
    assert len(first) >= 32  # unguessable
    now[0] = 61
    assert cache.get(first) is None
    ids = [cache.put(b"b" * 100) for _ in range(5)]
    assert len(cache) == 3 and cache.get(ids[0]) is None and cache.get(ids[-1])
    big = cache.put(b"c" * 900)  # over the byte budget: the oldest make room
    assert cache.get(big) and len(cache) == 2
    assert cache.get("nope") is None


def _pdf_with(page_stream: bytes | None = None, image: tuple[int, int] | None = None,
              pages: int = 1) -> bytes:
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page()
    page = document.pages[-1]
    if page_stream is not None:
        stream = pikepdf.Stream(document, b"")
        stream.write(zlib.compress(page_stream, 9), filter=pikepdf.Name.FlateDecode)
        page.obj.Contents = document.make_indirect(stream)
    if image is not None:
        picture = pikepdf.Stream(document, b"")
        picture.write(zlib.compress(b"\0" * 1000), filter=pikepdf.Name.FlateDecode)
        picture.Type, picture.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        picture.Width, picture.Height = image
        picture.ColorSpace, picture.BitsPerComponent = pikepdf.Name.DeviceGray, 8
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im=picture))
        page.obj.Contents = document.make_indirect(pikepdf.Stream(
            document, b"q 100 0 0 100 0 0 cm /Im Do Q"))
    out = io.BytesIO()
    document.save(out, compress_streams=False)
    return out.getvalue()


@pytest.mark.parametrize("pages", [1, 2])
def test_a_pdf_decompression_bomb_is_refused_before_rendering(pages: int) -> None:
    bomb = _pdf_with(page_stream=b" " * (200 * 1024 * 1024), pages=pages)
    assert len(bomb) < 1024 * 1024
    with pytest.raises(inquiry.UploadRefused) as refused:
        inquiry.read_upload(bomb)
    assert refused.value.code == "request-too-large"


def test_a_pdf_image_of_absurd_size_is_refused() -> None:
    with pytest.raises(inquiry.UploadRefused) as refused:
        inquiry.read_upload(_pdf_with(image=(100_000, 100_000)))
    assert refused.value.code == "image-too-large"


def test_uploads_are_budgeted_per_ipv4_address_and_ipv6_prefix() -> None:
    from center.inquiry_site import client_network
    assert client_network("192.0.2.7") == "192.0.2.7"
    assert client_network("2001:db8:1:2::7") == client_network("2001:db8:1:2:ffff::1") \
        == "2001:db8:1:2::/64"
    assert client_network("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_network(None) == client_network("") == "unknown"
