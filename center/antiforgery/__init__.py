"""Anti-forgery information (偽造防止情報) the center adds to every certificate.

``finish_certificate`` is what the order flow calls (in a worker thread):

1. the municipality's front is rendered at 72 dpi (while another thread does steps
   2-4) and scrambled with a key derived from the center's secret and the
   certificate id (``scramble``);
2. the copy-deterrent tint (``tint``) goes under the front's content, whose own
   content streams stay byte for byte as the municipality made them;
3. the digest of the finished front page (``front_digest``) joins the claims as
   ``fpd`` and the claims are signed;
4. the back page (``back_page``): the tint, the words, the QR code, the scrambled
   image with its registration marks and the detection image (``detection``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np
import pikepdf
from pikepdf import Array, Dictionary, Name

from konbini.b64 import b64url_encode

from . import pdfparts, tint
from .back_page import (
    DEFAULT_INQUIRY_URL,
    build_back_page,
    fill_scrambled_image,
    render_back_page,
    sample_mark_form,
)
from .front_digest import page_digest
from .raster import RenderError
from .sample_mark import add_sample_mark
from .scramble import front_raster, scramble_key
from .scramble import scramble as scramble_blocks

__all__ = ["FRONT_DIGEST_CLAIM", "SHEET_CLAIM", "TINT_XOBJECT", "finish_certificate",
           "finish_sheets", "render_back_page"]

FRONT_DIGEST_CLAIM = "fpd"
TINT_XOBJECT = "/KonbiniTint"


def _tint_form(document: pikepdf.Pdf, page_w: float, page_h: float) -> pikepdf.Stream:
    """The tint as a Form XObject of ``document``: one tile image, drawn in a grid."""
    width, height, flate = tint.tile_indexed_flate()
    tile = pdfparts.image_stream(document, width=width, height=height, flate=flate,
                                 colour_space="DeviceGray", bits=2)
    tile.ColorSpace = Array([Name.Indexed, Name.DeviceGray, len(tint.PALETTE) - 1,
                             pikepdf.String(tint.PALETTE)])
    return document.make_indirect(pdfparts.form_xobject(
        document, tint.form_content(page_w, page_h, "T"), (0, 0, page_w, page_h),
        Dictionary(XObject=Dictionary(T=document.make_indirect(tile)))))


# Shared by every order: a pool of its own, since finish_certificate itself already runs
# on the event loop's default executor.
_PREPARE_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="certificate-prepare")


def _front_raster(front_pdf: bytes) -> np.ndarray:
    try:
        return front_raster(front_pdf)
    except RenderError as exc:
        raise ValueError("the municipality's front cannot be rendered") from exc


def _front_and_back(front: pikepdf.Pdf, *, claims: Mapping[str, Any],
                    sign: Callable[[dict[str, Any]], str], certificate_number: str,
                    municipality_name: str, cert_label: str, sample: bool,
                    inquiry_url: str) -> tuple[pikepdf.Page, str]:
    """Lay the tint under the front, sign, and append the back page (its scrambled image
    still empty); returns the back page and the token."""
    page = front.pages[0]
    box = page.mediabox
    page_w, page_h = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
    form = _tint_form(front, page_w, page_h)
    # Under the municipality's content: a stream of our own before theirs, its graphics
    # state saved and restored, theirs untouched.
    page.add_resource(form, Name.XObject, TINT_XOBJECT)
    page.contents_add(pikepdf.Stream(front, f"q {TINT_XOBJECT} Do Q\n".encode()),
                      prepend=True)
    if sample:  # over the content, and before the digest: the signature covers it
        add_sample_mark(front, page, sample_mark_form(municipality_name, cert_label,
                                                      inquiry_url, "front"))
    token = sign({**claims, FRONT_DIGEST_CLAIM: b64url_encode(page_digest(page.obj, learn=True))})
    back = build_back_page(front, token=token, certificate_number=certificate_number,
                           municipality_name=municipality_name, cert_label=cert_label,
                           scrambled=None, tint_name=TINT_XOBJECT, tint=form,
                           inquiry_url=inquiry_url, sample=sample)
    if sample:
        add_sample_mark(front, back, sample_mark_form(municipality_name, cert_label,
                                                      inquiry_url, "back"))
    return back, token


def finish_certificate(front_pdf: bytes, *, claims: Mapping[str, Any],
                       sign: Callable[[dict[str, Any]], str], scramble_secret: bytes,
                       certificate_number: str, municipality_name: str,
                       cert_label: str, sample: bool = False,
                       inquiry_url: str = DEFAULT_INQUIRY_URL) -> tuple[bytes, str]:
    """The two-page PDF the kiosk prints (front, back) and the signed QR token.

    ``claims`` are the contract's (``cid`` … ``dig``); ``fpd`` is added before ``sign``
    is called. ``sample``: signed with a development key, so both pages say 見本;
    ``inquiry_url`` is the inquiry site printed on the back. Thread-safe; raises
    ``ValueError`` if ``front_pdf`` is not a one-page PDF."""
    _check_secret(scramble_secret)
    with _open_front(front_pdf) as front:
        if len(front.pages) != 1:
            raise ValueError(f"the municipality's front has {len(front.pages)} pages, not 1")
        return _finish(front, front_pdf, claims=claims, sign=sign,
                       scramble_secret=scramble_secret,
                       certificate_number=certificate_number,
                       municipality_name=municipality_name, cert_label=cert_label,
                       sample=sample, inquiry_url=inquiry_url)


def _check_secret(scramble_secret: bytes) -> None:
    if len(scramble_secret) < 16:
        # The center's configuration, not the municipality's PDF: a defect, never a 4xx/5xx
        # blamed on the municipal server.
        raise RuntimeError("the center has no scramble secret")


def _open_front(front_pdf: bytes) -> pikepdf.Pdf:
    try:
        return pikepdf.open(io.BytesIO(front_pdf))
    except pikepdf.PdfError as exc:
        raise ValueError("the municipality's front is not a readable PDF") from exc


def _finish(front: pikepdf.Pdf, front_pdf: bytes, *, claims: Mapping[str, Any],
            sign: Callable[[dict[str, Any]], str], scramble_secret: bytes,
            certificate_number: str, municipality_name: str, cert_label: str,
            sample: bool, inquiry_url: str) -> tuple[bytes, str]:
    """``finish_certificate`` on ``front``, the open one-page ``front_pdf``."""
    # PDFium renders without the GIL: this thread renders the front (the critical
    # path, ~5 ms) while another lays the tint, signs and builds the back page
    # (~6 ms), which is then ready when the render ends: no wait for a wake-up.
    preparing = _PREPARE_POOL.submit(
        _front_and_back, front, claims=claims, sign=sign,
        certificate_number=certificate_number, municipality_name=municipality_name,
        cert_label=cert_label, sample=sample, inquiry_url=inquiry_url)
    try:
        raster = _front_raster(front_pdf)
    finally:
        # Never touch the document while the other thread does, nor leave it working.
        wait([preparing])
    back, token = preparing.result()
    key = scramble_key(scramble_secret, str(claims["cid"]))
    fill_scrambled_image(back, pdfparts.grey4_flate(scramble_blocks(raster, key)))
    return _save(front), token


def _save(document: pikepdf.Pdf) -> bytes:
    """The finished PDF's bytes. Streams are copied as they are, never decoded or
    (re)compressed: the front keeps the municipality's bytes. deterministic_id: the
    file id is a hash of the content, so equal input gives equal bytes. The small
    objects go into object streams (PDF 1.5): ~0.5 KB smaller, and qpdf writes the
    file in ~0.5 ms instead of ~0.75."""
    out = io.BytesIO()
    document.save(out, deterministic_id=True, compress_streams=False,
                  stream_decode_level=pikepdf.StreamDecodeLevel.none,
                  object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


# -- certificates of several pages (issue 14) ------------------------------------------------

SHEET_CLAIM = "pg"  # [m, n]: this sheet is the m-th of n (only when n > 1)


def _split_pages(document: pikepdf.Pdf) -> list[bytes]:
    """Each page of the municipality's PDF as a PDF of its own, its streams untouched."""
    sheets = []
    for page in document.pages:
        single = pikepdf.new()
        single.pages.append(page)
        out = io.BytesIO()
        single.save(out, deterministic_id=True, compress_streams=False,
                    stream_decode_level=pikepdf.StreamDecodeLevel.none)
        sheets.append(out.getvalue())
    return sheets


# A 戸籍 of a very large family runs to a few pages; well beyond that is not a certificate.
MAX_SHEETS = 20


def finish_sheets(front_pdf: bytes, *, claims: Mapping[str, Any],
                  sign: Callable[[dict[str, Any]], str], scramble_secret: bytes,
                  certificate_number: str, municipality_name: str,
                  cert_label: str, sample: bool = False,
                  inquiry_url: str = DEFAULT_INQUIRY_URL) -> tuple[bytes, list[str]]:
    """The PDF the kiosk prints, front and back for every sheet (front 1, back 1, front 2,
    back 2 …), and each sheet's QR token.

    One page: exactly ``finish_certificate``. Several: each page is finished as a sheet
    of its own with its own back page, QR code and scrambled image; the claims of sheet
    m of n add ``pg: [m, n]``, and its ``fpd`` is that page's. The certificate id (and so
    the record and the scramble key) is the certificate's, so the inquiry site verifies
    any sheet. ``sample`` and ``inquiry_url`` as for ``finish_certificate``, on every
    sheet. Thread-safe; ValueError for a PDF that cannot be finished."""
    with _open_front(front_pdf) as document:
        if not 1 <= len(document.pages) <= MAX_SHEETS:
            raise ValueError(f"the municipality's PDF has {len(document.pages)} pages")
        if len(document.pages) == 1:  # the PDF is parsed once
            _check_secret(scramble_secret)
            pdf, token = _finish(
                document, front_pdf, claims=claims, sign=sign,
                scramble_secret=scramble_secret, certificate_number=certificate_number,
                municipality_name=municipality_name, cert_label=cert_label,
                sample=sample, inquiry_url=inquiry_url)
            return pdf, [token]
        sheets = _split_pages(document)
    merged = pikepdf.new()
    tokens = []
    finished_sheets = []
    for index, sheet in enumerate(sheets, start=1):
        pdf, token = finish_certificate(
            sheet, claims={**claims, SHEET_CLAIM: [index, len(sheets)]}, sign=sign,
            scramble_secret=scramble_secret, certificate_number=certificate_number,
            municipality_name=municipality_name, cert_label=cert_label, sample=sample,
            inquiry_url=inquiry_url)
        tokens.append(token)
        finished_sheets.append(pikepdf.open(io.BytesIO(pdf)))
    try:
        for finished in finished_sheets:
            merged.pages.extend(finished.pages)
        pdf = _save(merged)
    finally:
        for finished in finished_sheets:
            finished.close()
    return pdf, tokens
