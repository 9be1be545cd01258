"""A stand-in municipal front and the center's finishing, shared by the anti-forgery tests."""

from __future__ import annotations

import functools
import hashlib
import io
from datetime import datetime
from pathlib import Path

import pikepdf
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from center.antiforgery import TINT_XOBJECT, finish_certificate
from center.antiforgery.qr import certificate_claims
from center.antiforgery.sample_mark import SAMPLE_XOBJECT
from center.qr_keys import QrKeyring
from konbini.clock import parse_instant
from konbini.fonts import RENDER_LOCK, font_path
from konbini.jws import sign_es256
from konbini.page import Box

ISSUED_AT = parse_instant("2026-11-24T10:00:00+09:00")
NAME = "霞 太郎"
ADDRESS = "東京都千代田区霞が関2丁目1番2号"
NUMBER = "131016-2026-0000123"
SECRET = bytes(range(32))
FRONT_FONT = "TestFrontMincho"
NAME_SIZE = 16
# Where the name is drawn on the stand-in front, in points (x, baseline).
NAME_AT = (150.0, 700.0)
# The name's line, in points: a little above the baseline and below it.
NAME_BOX = Box(NAME_AT[0] - 4, NAME_AT[1] - 6, 4 * NAME_SIZE + 8, NAME_SIZE + 12)
# A part of the front with nothing of the municipality's on it (only the tint).
BLANK_BOX = Box(60, 110, 300, 200)


def front_pdf(name: str = NAME, pages: int = 1) -> bytes:
    """A stand-in for the municipality's 住民票の写し, with personal data on it."""
    with RENDER_LOCK:
        if FRONT_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(FRONT_FONT, str(font_path())))
        out = io.BytesIO()
        canvas = Canvas(out, pagesize=A4, invariant=1)
        for _ in range(pages):
            canvas.setFont(FRONT_FONT, 22)
            canvas.drawString(200, 780, "住民票の写し")
            canvas.setFont(FRONT_FONT, 12)
            canvas.drawString(72, NAME_AT[1], "氏名")
            canvas.setFont(FRONT_FONT, NAME_SIZE)
            canvas.drawString(*NAME_AT, name)
            canvas.setFont(FRONT_FONT, 12)
            canvas.drawString(72, 660, f"住所　{ADDRESS}")
            canvas.drawString(72, 630, f"証明書番号　{NUMBER}")
            canvas.rect(60, 600, 475, 210)
            canvas.drawString(72, 360, "この写しは、住民票の原本と相違ないことを証明する。")
            canvas.showPage()
        canvas.save()
    return out.getvalue()


def keyring(directory: Path) -> QrKeyring:
    return QrKeyring.load_or_create(directory, ISSUED_AT)


def claims_for(front: bytes, cid: str = "8f14e45fceea167a5a36dedd4bea2543",
               number: str = NUMBER, issued_at: datetime = ISSUED_AT) -> dict:
    return certificate_claims(
        certificate_id=cid, certificate_number=number, cert_type="juminhyo",
        municipality_code="131016", issued_at=issued_at,
        front_pdf_sha256=hashlib.sha256(front).digest())


def finish(ring: QrKeyring, front: bytes, cid: str = "8f14e45fceea167a5a36dedd4bea2543",
           number: str = NUMBER, secret: bytes = SECRET,
           now: datetime = ISSUED_AT) -> tuple[bytes, str]:
    """Finish ``front`` as the center does at ``now``, signed with the key current then."""
    kid, key = ring.current(now)
    return finish_certificate(front, claims=claims_for(front, cid, number, now),
                              sign=functools.partial(sign_es256, key=key, kid=kid),
                              scramble_secret=secret, certificate_number=number,
                              municipality_name="千代田区", cert_label="住民票の写し")


def without_tint(pdf: bytes) -> bytes:
    """The same PDF with the tint's Form XObject emptied, and the 見本 mark's if a
    development key signed it: what the page is without them (the municipality's)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            for name in (TINT_XOBJECT, SAMPLE_XOBJECT):
                form = page.obj.Resources.XObject.get(name)
                if form is not None:
                    form.write(b"")
        out = io.BytesIO()
        document.save(out)
    return out.getvalue()
