"""The QR symbol on the back page: zint's symbol, with the mask ISO/IEC 18004 asks for,
chosen by our own scoring of the eight masks (``center.antiforgery.qr``)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import zxingcpp

from center.antiforgery import qr


def _token(seed: int, length: int) -> str:
    """A JWS-like string of ``length`` base64url characters, the same on every run."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    digest = b"".join(hashlib.sha256(b"%d:%d" % (seed, i)).digest() for i in range(16))
    return "".join(alphabet[b % 64] for b in digest[:length])


TOKENS = [_token(seed, length) for seed, length in
          enumerate((370, 380, 384, 392, 400, 410, 330, 120, 40, 12))]


@pytest.mark.parametrize("token", TOKENS[:3])
def test_each_mask_is_the_symbol_with_mask_zero_changed_as_for_any_content(token: str) -> None:
    other = _token(99, len(token))  # other content, the same version
    plain, other_plain = qr._symbol(token, 0), qr._symbol(other, 0)
    assert plain.shape == other_plain.shape and not np.array_equal(plain, other_plain)
    for mask in range(8):
        changes = other_plain ^ qr._symbol(other, mask)
        assert np.array_equal(plain ^ changes, qr._symbol(token, mask)), mask


@pytest.mark.parametrize("token", TOKENS)
def test_the_mask_is_the_one_zint_chooses_and_the_symbol_reads_back(token: str) -> None:
    matrix = qr.qr_matrix(token)
    border = qr.BORDER_MODULES
    assert not matrix[:border].any() and not matrix[-border:].any()
    assert not matrix[:, :border].any() and not matrix[:, -border:].any()
    assert np.array_equal(matrix[border:-border, border:-border], qr._symbol(token, None))
    read = zxingcpp.read_barcode(np.where(matrix, 0, 255).astype(np.uint8)
                                 .repeat(4, axis=0).repeat(4, axis=1))
    assert read is not None and read.text == token and read.ec_level == "M"


def test_penalty_rules_score_as_the_standard_says() -> None:
    dark = np.ones((1, 21, 21), dtype=bool)
    # N1: 42 runs of 21 (3 + 16 each); N2: 20 × 20 blocks; N3: none; N4: 100 % dark.
    assert qr.mask_penalties(dark).tolist() == [42 * 19 + 3 * 400 + 10 * 10]
    row = np.zeros((1, 1, 15), dtype=bool)
    row[0, 0, 4:11] = [1, 0, 1, 1, 1, 0, 1]  # 0000 1011101 0000: one finder-like run
    assert qr._finder_like(row).tolist() == [1]
    assert qr._runs_penalty(np.zeros((1, 1, 7), dtype=bool)).tolist() == [3 + 2]
