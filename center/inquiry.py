"""The inquiry (照会): what an uploaded certificate proves, as pure functions.

A relying party (a bank, a notary, a landlord) uploads the PDF or a scan of the
back. This module reads the upload within fixed limits, finds the QR code, checks
its signature against the trust list (offline: nothing else needed), checks that a
PDF's front is the page that was signed, and recovers the scrambled front. The
center's record (status, void) is looked up by the caller and passed to
:func:`assess`, which decides the status the relying party sees.

Nothing here stores anything: the upload and the recovered front live only in the
memory of the request that handles them.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pikepdf
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from center.antiforgery import FRONT_DIGEST_CLAIM, MAX_SHEETS, SHEET_CLAIM, layout
from center.antiforgery.back_page import SCRAMBLE_XOBJECT
from center.antiforgery.front_digest import page_digest
from center.antiforgery.pdfparts import ExpansionLimit, decoded_within, grey4_pixels
from center.antiforgery.raster import RenderError, render_grey
from center.antiforgery.scramble import (
    BLOCK,
    FRONT_DPI,
    ScanUnreadable,
    descramble,
    front_from_scan,
    scramble_key,
)
from konbini.b64 import b64url_encode
from konbini.clock import TOKYO, parse_instant
from konbini.jws import JWSError, peek_header, public_key_from_b64, verify_es256
from konbini.page import Box

# Limits on what an upload may cost, whatever it claims to be.
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
# A scanner's whole A4 bed (216 × 297 mm) at 600 dpi is 5102 × 7016 = 35.8 Mpx:
# no honest scan of a certificate's back declares more.
MAX_IMAGE_PIXELS = 36_000_000
MAX_IMAGE_SIDE = 7200  # 297 mm at 600 dpi is 7016 pixels: a longer side is no A4 scan
# What the check needs: the scrambled image has 8-pixel blocks at 72 dpi and the
# QR code's modules are 0.4 mm, so 300 dpi is ample (the page asks for it). An
# image is decoded at most at this size (an A4 bed at 300 dpi is 8.9 Mpx): a
# 600 dpi scan at half size, so memory follows what is read, not what is claimed.
READ_MAX_PIXELS = 10_000_000
# A PNG is decoded a strip of about this many pixels at a time.
STRIP_PIXELS = 1_000_000
MAX_PDF_PAGES = 4
MAX_PAGE_POINTS = 1300.0  # A3 is 842 × 1191 points: larger is not a certificate
MAX_EMBEDDED_IMAGE_PIXELS = 4_000_000
SCAN_DPI = 300  # a PDF that is not our two pages is read as a scan at this resolution
# Finding a QR code on a whole page is the slow part; on a half-size copy it takes a
# quarter of the time and a 40 mm code still has 3 pixels a module.
DETECT_MAX_PIXELS = 3_000_000

# A4 at FRONT_DPI, padded to whole blocks: the shape of every scrambled front.
FRONT_SHAPE = (-(-round(layout.PAGE_H * FRONT_DPI / 72) // BLOCK) * BLOCK,
               -(-round(layout.PAGE_W * FRONT_DPI / 72) // BLOCK) * BLOCK)
REQUIRED_CLAIMS = {"cid": str, "num": str, "typ": str, "mun": str, "iat": int, "dig": str}


class UploadRefused(ValueError):
    """The upload is not something the inquiry can read; ``code`` is a problem code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# --- the trust list and the signature ---------------------------------------------------

@dataclass(frozen=True)
class TrustedKey:
    kid: str
    public_key: ec.EllipticCurvePublicKey
    not_before: datetime
    not_after: datetime


def trusted_keys(trust_list: Mapping[str, Any]) -> dict[str, TrustedKey]:
    """The keys of a trust list document (``GET /v1/trust-list``) by kid."""
    keys: dict[str, TrustedKey] = {}
    entries = trust_list.get("keys") if isinstance(trust_list, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError("a trust list is an object with a list of keys")
    for entry in entries:
        try:
            if entry["alg"] != "ES256":
                continue  # an algorithm we do not know signs nothing we accept
            keys[entry["kid"]] = TrustedKey(entry["kid"], public_key_from_b64(entry["public_key"]),
                                            parse_instant(entry["not_before"]),
                                            parse_instant(entry["not_after"]))
        except (KeyError, TypeError, ValueError, JWSError) as exc:
            raise ValueError(f"a trust list entry is malformed: {exc}") from exc
    return keys


@dataclass(frozen=True)
class TokenCheck:
    """What the QR code's signature proves. ``outcome``: ``valid``, ``malformed``,
    ``unknown-key``, ``bad-signature``, ``outside-key-validity`` or ``not-a-certificate``."""

    outcome: str
    detail: str
    kid: str | None = None
    claims: dict[str, Any] | None = None  # only when the signature is valid

    @property
    def valid(self) -> bool:
        return self.outcome == "valid"


def check_token(token: str, keys: Mapping[str, TrustedKey]) -> TokenCheck:
    """Verify a QR token offline: ES256 by a key of the trust list, issued (``iat``)
    while that key was valid, with the contract's claims."""
    try:
        kid = peek_header(token).get("kid")
    except JWSError as exc:
        return TokenCheck("malformed", str(exc))
    kid = kid if isinstance(kid, str) else None
    key = keys.get(kid) if kid else None
    if key is None:
        return TokenCheck("unknown-key", "no key of the trust list has this kid", kid)
    try:
        _, claims = verify_es256(token, {key.kid: key.public_key})
    except JWSError as exc:
        return TokenCheck("bad-signature", str(exc), kid)
    for name, kind in REQUIRED_CLAIMS.items():
        value = claims.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return TokenCheck("not-a-certificate", f"claim {name} is missing or malformed", kid)
    issued = datetime.fromtimestamp(claims["iat"], UTC)
    # verify_es256 knows nothing of validity: a retired key's signature on a token
    # dated after its retirement (or before its start) is not the center's word.
    if not key.not_before <= issued < key.not_after:
        return TokenCheck("outside-key-validity",
                          "the certificate is dated outside its key's validity", kid)
    return TokenCheck("valid", "signed by the center", kid, claims)


# --- reading an upload --------------------------------------------------------------------

@dataclass
class Reading:
    """What was found in an upload."""

    source: str  # "pdf": the certificate's own PDF; "scan": an image (or a scanned PDF)
    token: str | None = None
    qr_corners: np.ndarray | None = None  # scan: the QR symbol's corners, in pixels
    scan: np.ndarray | None = field(default=None, repr=False)  # grey uint8
    scrambled: np.ndarray | None = field(default=None, repr=False)  # pdf: exact pixels
    front_digest: str | None = None  # pdf: fpd of page 1 as uploaded
    # A PDF of several sheets (front, back, front, back …): each sheet's own reading,
    # in the order of the upload; empty for one sheet or a scan (see read_sheets).
    sheets: list[Reading] = field(default_factory=list, repr=False)


def sniff(data: bytes) -> str:
    """``pdf``, ``png`` or ``jpeg`` from the first bytes; anything else is refused."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    raise UploadRefused("unsupported-media-type",
                        "upload a PDF, PNG or JPEG of the certificate or of its back")


def read_upload(data: bytes) -> Reading:
    """Read an upload within the limits; raises :class:`UploadRefused`."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused("request-too-large",
                            f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    kind = sniff(data)
    if kind == "pdf":
        return _read_pdf(data)
    return _read_scan(_open_image(data))


def _open_image(data: bytes) -> np.ndarray:
    """The image in 8-bit grey, at most ``READ_MAX_PIXELS``: a larger image is
    reduced while it is decoded (JPEG by DCT scaling, PNG a strip at a time), so
    that no more than the reduced image and one strip are ever in memory."""
    with warnings.catch_warnings():
        # Pillow warns, then refuses, above its own limit; ours is lower and checked
        # from the header, before a single pixel is decoded.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise UploadRefused("image-too-large",
                                    f"the image has {width}×{height} pixels; at most "
                                    f"{MAX_IMAGE_PIXELS // 1_000_000} million are read "
                                    "(a 600 dpi scan of A4)")
            if max(width, height) > MAX_IMAGE_SIDE or min(width, height) < 16:
                raise UploadRefused("image-too-large" if max(width, height) > MAX_IMAGE_SIDE
                                    else "invalid-request",
                                    f"the image is {width}×{height} pixels: not a scan of an "
                                    "A4 page at 600 dpi or less")
            factor = max(1, math.ceil(math.sqrt(width * height / READ_MAX_PIXELS)))
            if image.format == "PNG":
                return _png_grey(data, image, factor)
            if factor > 1 and (image.info.get("progressive") or image.info.get("progression")):
                # libjpeg keeps a progressive JPEG's whole coefficient array, at any scale.
                raise UploadRefused("image-too-large", "a progressive JPEG this large is not "
                                                       "read; scan at 300 dpi")
            if factor > 1:
                image.draft("L", (width // factor, height // factor))
            grey = _grey(image)
            if grey.width * grey.height > READ_MAX_PIXELS:
                grey = grey.reduce(math.ceil(math.sqrt(
                    grey.width * grey.height / READ_MAX_PIXELS)))
            return np.asarray(grey, dtype=np.uint8)
        except UploadRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadRefused("image-too-large", "the image is too large to read") from exc
        except (OSError, ValueError, SyntaxError, zlib.error, struct.error) as exc:
            raise UploadRefused("invalid-request", "the image is damaged or not a PNG or "
                                                   "JPEG") from exc


def _grey(image: Image.Image) -> Image.Image:
    """8-bit grey, transparency on white paper."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P"
                                               and "transparency" in image.info):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return image.convert("L")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(body, zlib.crc32(kind)))


def _png_grey(data: bytes, image: Image.Image, factor: int) -> np.ndarray:
    """A PNG in grey, reduced by ``factor``, decoded a strip at a time.

    Pillow decodes a whole PNG into memory at once (4 bytes a pixel for colour),
    so the rows are inflated here and each strip handed to Pillow as a small PNG
    of its own, led by the previous strip's last row unfiltered: the strip's
    filters then find the row above them exactly where PNG says it is."""
    chunks, view, pos = {}, memoryview(data), 8
    idat: list[memoryview] = []
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", view[pos:pos + 8])
        body = view[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        elif kind in (b"IHDR", b"PLTE", b"tRNS"):
            chunks[kind] = bytes(body)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    if interlace or colour not in _PNG_CHANNELS or not (depth == 8 or (depth == 1
                                                                       and colour == 0)):
        # Pillow reads these whole: only at a size that costs no more than a strip.
        if factor > 1 or width * height > READ_MAX_PIXELS // 4:
            raise UploadRefused("image-too-large", "an interlaced or 16-bit PNG this large "
                                                   "is not read; save it non-interlaced, "
                                                   "8-bit, at 300 dpi")
        image.load()
        return np.asarray(_grey(image), dtype=np.uint8)
    row_bytes = (width * _PNG_CHANNELS[colour] * depth + 7) // 8
    rows = max(factor, STRIP_PIXELS // max(1, width) // factor * factor)
    header = b"".join(_png_chunk(kind, chunks[kind]) for kind in (b"PLTE", b"tRNS")
                      if kind in chunks)
    out = np.empty((height // factor, width // factor), dtype=np.uint8)
    inflate = zlib.decompressobj()
    pending = iter(idat)
    previous = bytes(row_bytes)  # PNG's row above the first is zeros
    for top in range(0, height - height % factor, rows):
        count = min(rows, height - height % factor - top)
        wanted = (count + 1) * (row_bytes + 1)
        filtered = bytearray(b"\0" + previous)
        while len(filtered) < wanted:
            source = inflate.unconsumed_tail or next(pending, None)
            if source is None:
                raise UploadRefused("invalid-request", "the PNG ends before its last row")
            filtered += inflate.decompress(source, wanted - len(filtered))
        idat = zlib.compress(filtered, 0)  # stored: Pillow only needs a zlib stream
        del filtered
        strip = Image.open(io.BytesIO(b"".join((
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, count + 1, depth, colour,
                                            0, 0, 0)),
            header, _png_chunk(b"IDAT", idat), _png_chunk(b"IEND", b"")))), formats=("PNG",))
        del idat
        strip.load()
        previous = strip.crop((0, count, width, count + 1)).tobytes()
        grey = _grey(strip.crop((0, 1, width, count + 1)))
        if factor > 1:
            grey = grey.reduce(factor)
        out[top // factor:(top + count) // factor] = np.asarray(grey)[:, :width // factor]
    return out


def find_qr(scan: np.ndarray) -> tuple[str, np.ndarray] | None:
    """The first QR code on the image that looks like a compact JWS, and its corners
    (top left, top right, bottom right, bottom left) in the image's pixels."""
    factor = 1
    detect = scan
    while detect.shape[0] * detect.shape[1] > DETECT_MAX_PIXELS:
        detect = detect[: detect.shape[0] // 2 * 2, : detect.shape[1] // 2 * 2]
        detect = detect.reshape(detect.shape[0] // 2, 2, detect.shape[1] // 2, 2).mean(
            axis=(1, 3)).astype(np.uint8)
        factor *= 2
    for image, scale in ((detect, factor), (scan, 1)) if factor > 1 else ((scan, 1),):
        results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        for result in results:
            if result.valid and result.text.count(".") == 2:
                p = result.position
                corners = np.array([(p.top_left.x, p.top_left.y),
                                    (p.top_right.x, p.top_right.y),
                                    (p.bottom_right.x, p.bottom_right.y),
                                    (p.bottom_left.x, p.bottom_left.y)], dtype=np.float64)
                return result.text, corners * scale
    return None


def _read_scan(scan: np.ndarray, source: str = "scan") -> Reading:
    found = find_qr(scan)
    if found is None:
        return Reading(source, scan=scan)
    return Reading(source, token=found[0], qr_corners=found[1], scan=scan)


def _read_pdf(data: bytes) -> Reading:
    try:
        document = pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, ValueError) as exc:
        raise UploadRefused("invalid-request", "the PDF is damaged and cannot be read") from exc
    with document:
        pages = len(document.pages)
        several = read_sheets(document, data)  # a certificate of several sheets (issue 14)
        if several is not None:
            return several
        if pages == 0 or pages > MAX_PDF_PAGES:
            raise UploadRefused("invalid-request",
                                f"a certificate has 2 pages; this PDF has {pages}")
        for page in document.pages:
            box = page.mediabox
            if (abs(float(box[2]) - float(box[0])) > MAX_PAGE_POINTS
                    or abs(float(box[3]) - float(box[1])) > MAX_PAGE_POINTS):
                raise UploadRefused("invalid-request", "the PDF's pages are not paper-sized")
        # PDFium decodes what it renders, however large it grows: look first.
        _check_expansion(document.pages[pages - 1])
        if pages == 2:
            scrambled = _embedded_scramble(document.pages[1])
            if scrambled is not None:
                try:
                    digest = b64url_encode(page_digest(document.pages[0]))
                except ExpansionLimit as exc:
                    raise UploadRefused("request-too-large", str(exc)) from exc
                except (RecursionError, pikepdf.PdfError, ValueError):
                    digest = None
                qr_box = Box(layout.QR_BOX.x - 15, layout.QR_BOX.y - 15,
                             layout.QR_BOX.w + 30, layout.QR_BOX.h + 30)
                try:
                    qr = render_grey(data, 1, 200, qr_box)
                except RenderError as exc:
                    raise UploadRefused("invalid-request", "the PDF cannot be rendered") from exc
                found = find_qr(qr)
                return Reading("pdf", token=found[0] if found else None,
                               scrambled=scrambled, front_digest=digest)
    # Not the center's two pages (a scanner's PDF, say): read its last page as a scan.
    try:
        scan = render_grey(data, pages - 1, SCAN_DPI, max_pixels=MAX_IMAGE_PIXELS)
    except RenderError as exc:
        raise UploadRefused("invalid-request", "the PDF cannot be rendered") from exc
    return _read_scan(scan, "scan")


MAX_PAGE_DECODED = 64 * 1024 * 1024


def _check_expansion(page: pikepdf.Page) -> None:
    """Refuse a page whose streams (content, forms, images) decode to more than
    ``MAX_PAGE_DECODED`` bytes or whose images declare more than ``MAX_IMAGE_PIXELS``."""
    left = MAX_PAGE_DECODED
    pending: list[object] = [page.obj.get("/Contents"), page.obj.get("/Resources")]
    seen: set[tuple[int, int]] = set()
    while pending:
        obj = pending.pop()
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if len(seen) > 10_000:
            raise UploadRefused("invalid-request", "the PDF's page is not a certificate")
        if isinstance(obj, pikepdf.Stream):
            if obj.get("/Subtype") == pikepdf.Name.Image:
                try:
                    pixels = int(obj.get("/Width", 0)) * int(obj.get("/Height", 0))
                except (TypeError, ValueError):
                    pixels = MAX_IMAGE_PIXELS + 1
                if pixels > MAX_IMAGE_PIXELS:
                    raise UploadRefused("image-too-large", "the PDF holds an image that is "
                                                           "too large to read")
            try:
                data = decoded_within(obj, left)
            except ExpansionLimit as exc:
                raise UploadRefused("request-too-large",
                                    "the PDF's content expands beyond what is read") from exc
            left -= len(data) if data is not None else len(obj.read_raw_bytes())
            if left < 0:
                raise UploadRefused("request-too-large",
                                    "the PDF's content expands beyond what is read")
            pending.append(obj.get("/Resources"))
        elif isinstance(obj, pikepdf.Dictionary):
            pending.extend(obj.get(key) for key in ("/XObject", "/Pattern", "/Font",
                                                    "/Resources", "/FontFile2", "/FontFile",
                                                    "/FontFile3", "/DescendantFonts",
                                                    "/FontDescriptor"))
            if "/Type" not in obj and "/Subtype" not in obj:  # a name → object map
                pending.extend(obj.get(key) for key in obj.keys())  # noqa: SIM118
        elif isinstance(obj, pikepdf.Array):
            pending.extend(obj)


def _embedded_scramble(page: pikepdf.Page) -> np.ndarray | None:
    try:
        image = page.obj.Resources.XObject.get(SCRAMBLE_XOBJECT)
    except (AttributeError, KeyError):
        return None
    if not isinstance(image, pikepdf.Stream) or image.get("/Subtype") != pikepdf.Name.Image:
        return None
    try:
        width, height = int(image.Width), int(image.Height)
        if (width, height) != (FRONT_SHAPE[1], FRONT_SHAPE[0]):
            return None
        if int(image.get("/BitsPerComponent", 0)) != 4 or image.get(
                "/ColorSpace") != pikepdf.Name.DeviceGray:
            return None
        expected = width * height // 2
        raw = decoded_within(image, expected)  # never more than the 0.25 MB it should be
    except (AttributeError, TypeError, ValueError, pikepdf.PdfError):
        return None
    if raw is None:
        return None
    if len(raw) != expected:
        return None
    return grey4_pixels(raw, width, height)


# --- the front, and the verdict -------------------------------------------------------------

def recover_front(reading: Reading, claims: Mapping[str, Any], secret: bytes) -> np.ndarray | None:
    """The front descrambled with this certificate's key, or None if unreadable."""
    key = scramble_key(secret, str(claims["cid"]))
    if reading.scrambled is not None:
        return descramble(reading.scrambled, key)
    if reading.scan is not None and reading.qr_corners is not None:
        try:
            return front_from_scan(reading.scan, reading.qr_corners, key, FRONT_SHAPE)
        except (ScanUnreadable, np.linalg.LinAlgError, ValueError):
            return None
    return None


def front_check(reading: Reading, claims: Mapping[str, Any]) -> str:
    """``matches`` / ``edited`` for a PDF; ``not-checked`` for a scan (paper is
    compared by eye with the recovered front) or a token without ``fpd``."""
    signed = claims.get(FRONT_DIGEST_CLAIM)
    if reading.source != "pdf" or not isinstance(signed, str):
        return "not-checked"
    return "matches" if reading.front_digest == signed else "edited"


@dataclass(frozen=True)
class Record:
    """The center's record of a certificate, as much as the verdict needs."""

    certificate_number: str
    type: str
    municipality_code: str
    status: str  # issued, printed, void
    void_reason: str | None = None


MESSAGES = {
    "valid": "この証明書はセンターが交付した記録と一致します。表面を復元画像と見比べてください。",
    "void": "この証明書は印刷に失敗したため無効とされています。",
    "unknown": "この証明書はセンターの交付記録と一致しません。",
    "unreadable": "QRコードを読み取れませんでした。裏面全体を300dpi程度で読み取ってください。",
}


DEVELOPMENT_KEY_MESSAGE = ("開発用の鍵で署名された見本（SAMPLE）です。"
                           "証明書としての効力はありません。")


def assess(token_check: TokenCheck | None, record: Record | None, front: str) -> tuple[str, str]:
    """The status (API.md) and the record check, from what was found."""
    if token_check is None:
        return "unreadable", "not-checked"
    if not token_check.valid or token_check.claims is None:
        return "unknown", "not-checked"
    claims = token_check.claims
    if record is None:
        return "unknown", "not-found"
    if (record.certificate_number, record.type, record.municipality_code) != (
            claims["num"], claims["typ"], claims["mun"]):
        return "unknown", "mismatch"
    if record.status == "void":
        return "void", "void"
    if front == "edited":
        return "unknown", record.status
    return "valid", record.status


def issued_at(claims: Mapping[str, Any]) -> datetime:
    """The issue time of the claims, in Japan time as the certificate states it."""
    return datetime.fromtimestamp(int(claims["iat"]), TOKYO)


# --- certificates of several sheets (issue 14) -----------------------------------------------
# A 戸籍 of a large family prints on several sheets, front and back each, every back
# with its own QR code (claim ``pg: [m, n]``). The whole PDF is verified sheet by
# sheet, and the sheets together: all of one certificate, each once, none missing.

def read_sheets(document: pikepdf.Pdf, data: bytes) -> Reading | None:
    """The sheets of a PDF of 4 or more pages (front, back, front, back …) whose every
    back carries the center's scrambled image, or None when it is not one (then the
    upload is read as before). The returned Reading is the first sheet's, with
    ``sheets`` holding every sheet's. Raises :class:`UploadRefused` within limits."""
    pages = len(document.pages)
    if pages < 4 or pages % 2:
        return None
    if pages > 2 * MAX_SHEETS:
        raise UploadRefused("invalid-request", f"a certificate has at most {MAX_SHEETS} "
                                               f"sheets; this PDF has {pages} pages")
    for page in document.pages:
        box = page.mediabox
        if (abs(float(box[2]) - float(box[0])) > MAX_PAGE_POINTS
                or abs(float(box[3]) - float(box[1])) > MAX_PAGE_POINTS):
            raise UploadRefused("invalid-request", "the PDF's pages are not paper-sized")
    backs = []
    for index in range(1, pages, 2):
        _check_expansion(document.pages[index])
        scrambled = _embedded_scramble(document.pages[index])
        if scrambled is None:
            return None  # not the center's sheets: a scanner's PDF, say
        backs.append(scrambled)
    qr_box = Box(layout.QR_BOX.x - 15, layout.QR_BOX.y - 15,
                 layout.QR_BOX.w + 30, layout.QR_BOX.h + 30)
    sheets = []
    for number, scrambled in enumerate(backs):
        try:
            digest: str | None = b64url_encode(page_digest(document.pages[2 * number]))
        except ExpansionLimit as exc:
            raise UploadRefused("request-too-large", str(exc)) from exc
        except (RecursionError, pikepdf.PdfError, ValueError):
            digest = None
        try:
            qr = render_grey(data, 2 * number + 1, 200, qr_box)
        except RenderError as exc:
            raise UploadRefused("invalid-request", "the PDF cannot be rendered") from exc
        found = find_qr(qr)
        sheets.append(Reading("pdf", token=found[0] if found else None, scrambled=scrambled,
                              front_digest=digest))
    first = sheets[0]
    return Reading("pdf", token=first.token, scrambled=first.scrambled,
                   front_digest=first.front_digest, sheets=sheets)


def sheet_position(claims: Mapping[str, Any]) -> tuple[int, int]:
    """``(m, n)``: this sheet is the m-th of n; a certificate of one sheet is (1, 1)."""
    value = claims.get(SHEET_CLAIM)
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and 1 <= value[0] <= value[1]):
        return value[0], value[1]
    return 1, 1


def sheets_check(claims: list[Mapping[str, Any] | None]) -> str:
    """What the sheets of one upload are together (pure), in the order uploaded:

    ``complete``: every sheet of one certificate, each once; ``mismatch``: sheets of
    different certificates (another certificate's sheet put in); ``repeated``: a
    sheet twice; ``missing``: a sheet left out; ``one-sheet``: a single sheet of a
    certificate of several (it verifies on its own; the others were not seen);
    ``not-checked``: a sheet whose signature is not valid (nothing is known of it)."""
    if not claims or any(c is None for c in claims):
        return "not-checked"
    known = [c for c in claims if c is not None]
    positions = [sheet_position(c) for c in known]
    if len({c["cid"] for c in known}) > 1 or len({n for _, n in positions}) > 1:
        return "mismatch"
    sheets = [m for m, _ in positions]
    if len(set(sheets)) < len(sheets):
        return "repeated"
    total = positions[0][1]
    if len(known) == 1 and total > 1:
        return "one-sheet"
    return "complete" if set(sheets) == set(range(1, total + 1)) else "missing"


def combined_front(fronts: list[str]) -> str:
    """The fronts of all sheets: ``edited`` if one is, ``matches`` if all do (pure)."""
    if "edited" in fronts:
        return "edited"
    return "matches" if fronts and all(f == "matches" for f in fronts) else "not-checked"


SHEET_MESSAGES = {
    "mismatch": "別の証明書の用紙が含まれています。この証明書として有効ではありません。",
    "repeated": "同じ用紙が重複しています。この証明書として有効ではありません。",
    "missing": "欠けている用紙があります。この証明書として有効ではありません。",
}


def assess_sheets(token_checks: list[TokenCheck | None], record: Record | None,
                  fronts: list[str]) -> tuple[str, str, str]:
    """The status, the record check and the sheets check of an upload of several
    sheets (pure). Valid only when every sheet's signature is valid, the sheets are
    the whole certificate once each, the record is not void and every front is the
    one signed."""
    claims = [c.claims if c is not None and c.valid else None for c in token_checks]
    sheets = sheets_check(claims)
    failing = next((c for c in token_checks if c is None or not c.valid), None)
    if failing is not None or None in token_checks:
        status, record_check = assess(failing, record, "not-checked")
        return status, record_check, sheets
    status, record_check = assess(token_checks[0], record, combined_front(fronts))
    if sheets != "complete" and status != "unreadable":
        status = "unknown"
    return status, record_check, sheets
