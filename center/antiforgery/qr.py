"""The QR code on the back of every certificate: the claims it signs and its image.

The claims (API.md): ``cid`` certificate id, ``num`` certificate number (証明書番号),
``typ`` type, ``mun`` municipality code (団体コード), ``iat`` issue time in whole
seconds, ``dig`` base64url SHA-256 of the PDF the municipality produced. They tie
the paper to the center's record and to the exact front page, with no personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import zxingcpp
from PIL import Image

from konbini.b64 import b64url_encode

BORDER_MODULES = 4  # the quiet zone ISO/IEC 18004 requires
# A token is ~380 characters: a version 15 symbol, 77 + 8 modules wide. Printed 40 mm
# wide that is 0.52 mm a module, 3 px at 150 dpi and 6 px at 300 dpi. An image of
# ~520 px (300 dpi over the 44 mm with the quiet zone) is only ever scaled down when
# the page is rendered at 150-300 dpi, so modules never smear; larger images only cost
# time (reportlab encodes image data in pure Python).
DEFAULT_BOX_PX = 520


def certificate_claims(*, certificate_id: str, certificate_number: str, cert_type: str,
                       municipality_code: str, issued_at: datetime,
                       front_pdf_sha256: bytes) -> dict[str, Any]:
    """The JWS claims of one certificate; ``front_pdf_sha256`` is the raw 32-byte digest."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be an aware datetime")
    if len(front_pdf_sha256) != 32:
        raise ValueError("front_pdf_sha256 must be the raw 32-byte SHA-256 digest")
    return {
        "cid": certificate_id,
        "num": certificate_number,
        "typ": cert_type,
        "mun": municipality_code,
        "iat": int(issued_at.timestamp()),
        "dig": b64url_encode(front_pdf_sha256),
    }

def qr_matrix(token: str) -> np.ndarray:
    """The QR symbol of ``token`` as a boolean array (True = dark), quiet zone included.

    Error correction M (15 %): enough for a scan with a smudge, and a version small
    enough that the modules stay large at 40 mm. zxing-cpp builds the symbol in C++
    with the best of the eight masks in about 2 ms; the pure-Python ``qrcode`` took
    45 ms to choose a mask, 13 ms with a fixed one."""
    barcode = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1,
                                                       add_quiet_zones=True))
    return image < 128


def matrix_image(matrix: np.ndarray, box_px: int = DEFAULT_BOX_PX) -> Image.Image:
    """A module matrix as a greyscale image at most ``box_px`` square, with a whole
    number of pixels per module so the modules stay square and sharp when scaled."""
    modules = matrix.shape[0]
    one_px = Image.fromarray(np.where(matrix, 0, 255).astype(np.uint8))
    # Nearest-neighbour keeps every module a crisp square. Greyscale "L" rather than
    # "1": reportlab embeds "L" as DeviceGray but converts other modes to RGB.
    scale = max(1, box_px // modules)
    return one_px.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)


def qr_image(token: str, box_px: int = DEFAULT_BOX_PX) -> Image.Image:
    """The QR code of ``token`` (EC level M, 4-module quiet zone) as a greyscale image
    at most ``box_px`` square."""
    return matrix_image(qr_matrix(token), box_px)
