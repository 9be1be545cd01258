"""The scrambled image (スクランブル画像): the front, keyed by the center's secret and the
certificate id, read back from the PDF and from simulated 300 dpi scans of the print."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from center import inquiry
from center.antiforgery import optics
from center.antiforgery import scramble as scramble_module
from center.antiforgery.raster import render_grey
from center.antiforgery.scramble import (
    BLOCK,
    descramble,
    front_raster,
    scramble,
    scramble_key,
)
from konbini.page import Box
from tests.unit.antiforgery_helpers import (
    ISSUED_AT,
    NAME,
    NAME_BOX,
    SECRET,
    finish,
    front_pdf,
    keyring,
)

CID = "8f14e45fceea167a5a36dedd4bea2543"
OTHER_CID = "c9f0f895fb98ab9159f51fd0297e236d"


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return keyring(tmp_path_factory.mktemp("qr"))


@pytest.fixture(scope="module")
def front() -> bytes:
    return front_pdf()


@pytest.fixture(scope="module")
def certificate(ring, front: bytes) -> bytes:  # type: ignore[no-untyped-def]
    return finish(ring, front, cid=CID)[0]


@pytest.fixture(scope="module")
def back_300dpi(certificate: bytes) -> np.ndarray:
    return render_grey(certificate, 1, 300)


def _name_region(image: np.ndarray) -> np.ndarray:
    """The name's line in a front raster at 72 dpi (1 px = 1 pt), row 0 at the top."""
    top = round(842 - NAME_BOX.top)
    return image[top:top + round(NAME_BOX.h), round(NAME_BOX.x):round(NAME_BOX.right)]


def _scan_png(back: np.ndarray, conditions: optics.ScanConditions) -> bytes:
    out = io.BytesIO()
    Image.fromarray(optics.print_and_scan(back, conditions)).save(out, format="PNG")
    return out.getvalue()


def _recover(data: bytes, ring, secret: bytes = SECRET) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    reading = inquiry.read_upload(data)
    check = inquiry.check_token(reading.token, inquiry.trusted_keys(ring.trust_list()))
    assert check.valid, check
    return inquiry.recover_front(reading, check.claims, secret)


def test_scrambling_round_trips_and_hides_the_front(front: bytes) -> None:
    image = front_raster(front)
    assert image.shape == inquiry.FRONT_SHAPE
    assert image.shape[0] % BLOCK == 0 and image.shape[1] % BLOCK == 0
    key = scramble_key(SECRET, CID)
    scrambled = scramble(image, key)
    assert np.array_equal(descramble(scrambled, key), image)
    # Scrambled, the front is noise: nothing like the page, and no longer mostly white.
    assert optics.ssim(scrambled, image) < 0.2
    assert abs(float(scrambled.mean()) - 127.5) < 40


def _reference_scramble(image: np.ndarray, key: bytes) -> np.ndarray:
    """The scramble as its docstring defines it, block by block: slow and plain."""
    h, w = image.shape
    per_row = w // BLOCK
    plan = scramble_module._plan(key, (h // BLOCK) * per_row)
    out = np.empty_like(image)
    for place, source in enumerate(plan.permutation):
        sy, sx = divmod(int(source), per_row)
        block = image[sy * BLOCK:(sy + 1) * BLOCK, sx * BLOCK:(sx + 1) * BLOCK]
        block = scramble_module._transform(block, int(plan.operation[source]))
        if plan.inverted[source]:
            block = 255 - block
        py, px = divmod(place, per_row)
        out[py * BLOCK:(py + 1) * BLOCK, px * BLOCK:(px + 1) * BLOCK] = block
    return out


@pytest.mark.parametrize("shape", [(8, 8), (16, 40), (848, 600), (64, 8)])
def test_every_block_moves_turns_and_inverts_as_the_key_says(shape: tuple[int, int]) -> None:
    # The fast scramble works on 64-bit words (byte swaps, masked shifts): it must move
    # every pixel exactly where the block-by-block definition puts it.
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    key = scramble_key(SECRET, CID)
    scrambled = scramble(image, key)
    assert np.array_equal(scrambled, _reference_scramble(image, key))
    assert np.array_equal(descramble(scrambled, key), image)


def test_the_scramble_of_printed_certificates_never_changes() -> None:
    # The center keeps no image: a certificate printed years ago is descrambled with
    # today's code. A change to the algorithm must be a new version, not an edit.
    image = (np.arange(48 * 64, dtype=np.uint32) * 2654435761 % 251).astype(
        np.uint8).reshape(48, 64)
    key = scramble_key(bytes(range(32)), CID)
    assert hashlib.sha256(scramble(image, key).tobytes()).hexdigest() == (
        "dedc6a515d6ad089513f45994343551308b8dc776df5278c0cf06f13cbf04996")


def test_an_image_of_partial_blocks_is_refused() -> None:
    with pytest.raises(ValueError, match="whole 8-pixel blocks"):
        scramble(np.zeros((20, 16), dtype=np.uint8), scramble_key(SECRET, CID))


def test_the_key_depends_on_the_secret_and_the_certificate() -> None:
    key = scramble_key(SECRET, CID)
    assert len(key) == 32
    assert key == scramble_key(SECRET, CID)
    assert key != scramble_key(SECRET, OTHER_CID)
    assert key != scramble_key(bytes(32), CID)
    with pytest.raises(ValueError, match="16 bytes"):
        scramble_key(b"short", CID)


def test_another_key_does_not_descramble(front: bytes) -> None:
    image = front_raster(front)
    scrambled = scramble(image, scramble_key(SECRET, CID))
    assert optics.ssim(descramble(scrambled, scramble_key(SECRET, OTHER_CID)), image) < 0.2
    assert optics.ssim(descramble(scrambled, scramble_key(bytes(range(1, 33)), CID)),
                       image) < 0.2


def test_the_front_is_recovered_exactly_from_the_pdf(ring, front: bytes,  # type: ignore[no-untyped-def]
                                                     certificate: bytes) -> None:
    recovered = _recover(certificate, ring)
    assert recovered is not None
    value = optics.ssim(recovered, front_raster(front))
    print(f"SSIM of the front recovered from the PDF: {value:.3f}")
    assert value >= 0.99


WORST_CASES = [
    optics.ScanConditions(rotation_deg=1.0, offset_mm=(3.0, 3.0), seed=1),
    optics.ScanConditions(rotation_deg=-1.0, offset_mm=(-3.0, -3.0), seed=2),
    optics.ScanConditions(rotation_deg=-1.0, offset_mm=(3.0, -3.0), blur_px=1.0, noise=8.0,
                          seed=3),
    optics.ScanConditions.random(4),
    optics.ScanConditions.random(5),
]


@pytest.mark.parametrize("conditions", WORST_CASES,
                         ids=lambda c: f"{c.rotation_deg:+.2f}deg-{c.offset_mm[0]:+.1f}mm")
def test_the_front_is_recovered_from_a_scan(ring, front: bytes,  # type: ignore[no-untyped-def]
                                            back_300dpi: np.ndarray,
                                            conditions: optics.ScanConditions) -> None:
    recovered = _recover(_scan_png(back_300dpi, conditions), ring)
    assert recovered is not None
    reference = front_raster(front)
    value = optics.ssim(recovered, reference)
    name = optics.ssim(_name_region(recovered), _name_region(reference))
    print(f"scan {conditions}: SSIM {value:.3f}, name line {name:.3f}")
    assert value >= 0.8


def test_the_recovered_name_is_readable(ring, front: bytes,  # type: ignore[no-untyped-def]
                                        back_300dpi: np.ndarray) -> None:
    """Readable: the name line of the recovered front matches the name printed on the
    front better than any other household name, even 霞 次郎, one character apart."""
    recovered = _recover(_scan_png(back_300dpi, WORST_CASES[2]), ring)
    assert recovered is not None
    region = _name_region(recovered)
    names = (NAME, "霞 花子", "霞 次郎", "番号 花子")
    lines = {name: _name_region(front_raster(front_pdf(name))) for name in names}
    similarity = {name: optics.ssim(region, line) for name, line in lines.items()}
    ink = {name: _ink_correlation(region, line) for name, line in lines.items()}
    print("name line against renderings of:", similarity, ink)
    assert similarity[NAME] >= 0.75
    for other in names[1:]:
        assert similarity[NAME] >= similarity[other] + 0.05
        assert ink[NAME] >= ink[other] + 0.08


def _ink_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of the ink (the paper around it counts for nothing)."""
    x = 255.0 - a.astype(np.float64)
    y = 255.0 - b.astype(np.float64)
    x -= x.mean()
    y -= y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def test_a_scan_with_another_certificates_qr_code_does_not_yield_this_front(
        ring, front: bytes, back_300dpi: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    # A forger pastes another (genuine) certificate's QR code over this back.
    other = render_grey(finish(ring, front, cid=OTHER_CID)[0], 1, 300)
    pasted = back_300dpi.copy()
    qr_rows, qr_cols = _qr_area()
    pasted[qr_rows, qr_cols] = other[qr_rows, qr_cols]
    data = _scan_png(pasted, optics.ScanConditions(rotation_deg=0.4, seed=7))
    reading = inquiry.read_upload(data)
    check = inquiry.check_token(reading.token, inquiry.trusted_keys(ring.trust_list()))
    assert check.valid and check.claims is not None and check.claims["cid"] == OTHER_CID
    recovered = inquiry.recover_front(reading, check.claims, SECRET)
    assert recovered is not None  # the marks are found; the key is the other one's
    assert optics.ssim(recovered, front_raster(front)) < 0.4


def _qr_area() -> tuple[slice, slice]:
    from center.antiforgery.layout import PAGE_H, QR_BOX
    scale = 300 / 72
    margin = 12
    box = Box(QR_BOX.x - margin, QR_BOX.y - margin, QR_BOX.w + 2 * margin,
              QR_BOX.h + 2 * margin)
    return (slice(round((PAGE_H - box.top) * scale), round((PAGE_H - box.y) * scale)),
            slice(round(box.x * scale), round(box.right * scale)))


def test_a_scan_without_marks_gives_no_front(ring, back_300dpi: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    from center.antiforgery.layout import MARK_CENTRES, PAGE_H
    smudged = back_300dpi.copy()
    x, y = MARK_CENTRES[0]
    row, col = round((PAGE_H - y) * 300 / 72), round(x * 300 / 72)
    smudged[row - 40:row + 40, col - 40:col + 40] = 255  # the top-left mark torn off
    assert _recover(_scan_png(smudged, optics.ScanConditions(seed=9)), ring) is None


def test_after_a_rotation_old_and_new_certificates_keep_their_own_secret(
        tmp_path, front: bytes) -> None:  # type: ignore[no-untyped-def]
    # Each QR key has its own scramble secret and the token's kid names it: after a
    # rotation, a certificate printed before still shows its front, one printed after
    # is scrambled with the new secret, and neither secret opens the other's image.
    from datetime import timedelta

    ring = keyring(tmp_path / "qr")
    old_kid, _ = ring.current(ISSUED_AT)
    before = finish(ring, front, cid=CID, secret=ring.scramble_secret(old_kid))[0]
    later = ISSUED_AT + timedelta(days=400)
    new_kid = ring.rotate(later)
    after = finish(ring, front, cid=OTHER_CID, secret=ring.scramble_secret(new_kid),
                   now=later)[0]
    assert ring.scramble_secret(old_kid) != ring.scramble_secret(new_kid)
    expected = front_raster(front)
    for pdf, kid in ((before, old_kid), (after, new_kid)):
        reading = inquiry.read_upload(pdf)
        check = inquiry.check_token(reading.token, inquiry.trusted_keys(ring.trust_list()))
        assert check.valid and check.kid == kid
        for secret_kid in (old_kid, new_kid):
            recovered = inquiry.recover_front(reading, check.claims,
                                              ring.scramble_secret(secret_kid))
            assert recovered is not None
            assert (optics.ssim(recovered, expected) > 0.99) == (secret_kid == kid)
