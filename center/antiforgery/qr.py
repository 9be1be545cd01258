"""The QR code on the back of every certificate: the claims it signs and its image.

The claims (API.md): ``cid`` certificate id, ``num`` certificate number (証明書番号),
``typ`` type, ``mun`` municipality code (団体コード), ``iat`` issue time in whole
seconds, ``dig`` base64url SHA-256 of the PDF the municipality produced. They tie
the paper to the center's record and to the exact front page, with no personal data.
"""

from __future__ import annotations

import threading
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
    enough that the modules stay large at 40 mm. zxing-cpp (zint) builds the symbol in
    C++; the mask is the one of the eight with the lowest penalty of ISO/IEC 18004
    (7.8.3), as zint would choose, scored here in numpy (:func:`mask_penalties`): zint
    took ~1.2 of its ~1.5 ms scoring masks, and a symbol with a given mask ~0.25 ms.
    The pure-Python ``qrcode`` took 45 ms to choose a mask, 13 ms with a fixed one."""
    symbol = _symbol(token, 0)
    candidates = symbol[None] ^ _mask_changes(token, symbol.shape[0])
    best = candidates[int(np.argmin(mask_penalties(candidates)))]
    return np.pad(best, BORDER_MODULES)


def _symbol(token: str, mask: int | None) -> np.ndarray:
    """The symbol without its quiet zone (True = dark), with ``mask`` or zint's choice."""
    options: dict[str, Any] = {} if mask is None else {"data_mask": mask}
    barcode = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level="M",
                                      **options)
    return np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1,
                                                      add_quiet_zones=False)) < 128


# By symbol size (so version, at level M): which modules change from mask 0 to mask k.
# A mask flips only data modules and rewrites the format information, which depends on
# the level and the mask alone; so for any content of that version the symbol with mask
# k is the symbol with mask 0 XOR this. Immutable, computed once per version.
_MASK_CHANGES: dict[int, np.ndarray] = {}
_MASK_CHANGES_LOCK = threading.Lock()


def _mask_changes(token: str, size: int) -> np.ndarray:
    changes = _MASK_CHANGES.get(size)
    if changes is None:
        with _MASK_CHANGES_LOCK:
            symbols = np.stack([_symbol(token, mask) for mask in range(8)])
            changes = _MASK_CHANGES.setdefault(size, symbols[0][None] ^ symbols)
    return changes


def _runs_penalty(dark: np.ndarray) -> np.ndarray:
    """N1 along the last axis: 3 + (length - 5) for each run of 5 or more modules of one
    colour; ``dark`` is ``(masks, rows, cols)``, the result one score per mask. A run of
    length L holds L - 4 windows of five equal modules, one of them where it starts."""
    same = dark[..., 1:] == dark[..., :-1]
    fives = same[..., :-3] & same[..., 1:-2] & same[..., 2:-1] & same[..., 3:]
    first = fives.copy()
    first[..., 1:] &= ~same[..., :fives.shape[-1] - 1]
    return fives.sum(axis=(1, 2)) + 2 * first.sum(axis=(1, 2))


def _finder_like(dark: np.ndarray) -> np.ndarray:
    """N3 along the last axis: each 1:1:3:1:1 dark-light-dark-dark-dark-light-dark run
    with four light modules before or after it (outside the symbol counts as light)."""
    padded = np.pad(dark, ((0, 0), (0, 0), (4, 4)))
    n = padded.shape[-1]

    def at(offset: int, length: int) -> np.ndarray:
        return padded[..., offset:n - length + 1 + offset]

    core = (at(0, 7) & ~at(1, 7) & at(2, 7) & at(3, 7) & at(4, 7) & ~at(5, 7)
            & at(6, 7))[..., 4:-4]
    light = ~(at(0, 4) | at(1, 4) | at(2, 4) | at(3, 4))
    before, after = light[..., :-11], light[..., 11:]
    return (core & (before | after)).sum(axis=(1, 2))


def mask_penalties(symbols: np.ndarray) -> np.ndarray:
    """The penalty score of ISO/IEC 18004:2015 7.8.3.1 of each of ``(masks, n, n)``
    boolean symbols (True = dark): N1 = 3, N2 = 3, N3 = 40, N4 = 10, scored as
    zxing's ``MaskUtil`` does."""
    masks = len(symbols)
    # Rows, then columns as rows: one pass over both.
    lines = np.concatenate([symbols, symbols.transpose(0, 2, 1)])
    n1 = _runs_penalty(lines).reshape(2, masks).sum(axis=0)
    same = ((symbols[:, :-1, :-1] == symbols[:, 1:, :-1])
            & (symbols[:, :-1, :-1] == symbols[:, :-1, 1:])
            & (symbols[:, :-1, :-1] == symbols[:, 1:, 1:]))
    n2 = 3 * same.sum(axis=(1, 2))
    n3 = 40 * _finder_like(lines).reshape(2, masks).sum(axis=0)
    total = symbols.shape[1] * symbols.shape[2]
    dark = symbols.sum(axis=(1, 2))
    n4 = 10 * (np.abs(dark * 2 - total) * 10 // total)
    return n1 + n2 + n3 + n4


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
