"""The scrambled image (スクランブル画像): the front, encrypted, printed on the back.

The front page is rendered at ``FRONT_DPI`` in grey and cut into ``BLOCK`` × ``BLOCK``
pixel blocks. A key derived from the center's secret and the certificate id
(HMAC-SHA-256) chooses a permutation of the blocks, a rotation or mirror of each and
whether each is inverted. The center stores neither the image nor the key: both are
recomputed from the certificate id in the QR code when a relying party asks.

Blocks are 8 pixels at 72 dpi, printed 1.4 mm wide: about 17 pixels of a 300 dpi
scan, so scanner blur and noise touch only their edges. Reading a scan back
(``recover_scrambled``) uses the QR code for a first estimate of where the page lies,
then the four registration marks around the image for a precise affine transform.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
from PIL import Image

from . import layout
from .optics import gaussian_blur
from .raster import render_grey

FRONT_DPI = 72
BLOCK = 8
KEY_CONTEXT = b"konbini scramble v1\x00"


def front_raster(front_pdf: bytes) -> np.ndarray:
    """The municipality's front at ``FRONT_DPI`` in 8-bit grey, padded with white to
    whole blocks: what is scrambled, and what a recovered front is compared with."""
    grey = render_grey(front_pdf, 0, FRONT_DPI)
    h = -(-grey.shape[0] // BLOCK) * BLOCK
    w = -(-grey.shape[1] // BLOCK) * BLOCK
    padded = np.full((h, w), 255, dtype=np.uint8)
    padded[:grey.shape[0], :grey.shape[1]] = grey
    return padded


def scramble_key(secret: bytes, certificate_id: str) -> bytes:
    """The 32-byte key of one certificate: HMAC-SHA-256(center secret, certificate id)."""
    if len(secret) < 16:
        raise ValueError("the scramble secret must be at least 16 bytes")
    return hmac.new(secret, KEY_CONTEXT + certificate_id.encode("utf-8"),
                    hashlib.sha256).digest()


@dataclass(frozen=True)
class _Plan:
    permutation: np.ndarray  # scrambled position p holds source block permutation[p]
    operation: np.ndarray  # 0-7: bit 2 mirror, bits 0-1 quarter turns
    inverted: np.ndarray  # bool per source block


def _plan(key: bytes, blocks: int) -> _Plan:
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(key, "big")))
    return _Plan(rng.permutation(blocks), rng.integers(0, 8, blocks),
                 rng.integers(0, 2, blocks).astype(bool))


def _block_rows(image: np.ndarray) -> np.ndarray:
    """The image as ``(BLOCK, blocks)`` words: ``rows[r, k]`` holds row ``r`` of block
    ``k`` (blocks in reading order), its 8 pixels in one little-endian 64-bit word."""
    h, w = image.shape
    if h % BLOCK or w % BLOCK:
        raise ValueError(f"image size {w}×{h} is not whole {BLOCK}-pixel blocks")
    words = np.ascontiguousarray(image, dtype=np.uint8).view(_WORD)
    return words.reshape(h // BLOCK, BLOCK, w // BLOCK).transpose(1, 0, 2).reshape(BLOCK, -1)


def _image(rows: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    return (rows.reshape(BLOCK, h // BLOCK, w // BLOCK).transpose(1, 0, 2)
            .reshape(h, w // BLOCK).view(np.uint8))


def _transform(block: np.ndarray, op: int) -> np.ndarray:
    """One block turned and mirrored as ``op`` says (bit 2 mirror, bits 0-1 quarter turns):
    the definition of the eight operations."""
    block = np.flip(block, axis=1) if op & 4 else block
    return np.rot90(block, op & 3)


_WORD = np.dtype("<u8")
_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def _transposed(rows: np.ndarray) -> np.ndarray:
    """Every block transposed, on words: swap the off-diagonal 4×4 quarters, then the
    2×2 and 1×1 squares inside them (the classic recursive transpose, 3 steps)."""
    out = rows.copy()
    for pairs, shift, keep in (((2, 4), 32, 0x0000_0000_FFFF_FFFF),
                               ((2, 2, 2), 16, 0x0000_FFFF_0000_FFFF),
                               ((4, 2), 8, 0x00FF_00FF_00FF_00FF)):
        grouped = out.reshape(*pairs, -1)
        upper, lower = (grouped[0], grouped[1]) if pairs == (2, 4) else (
            grouped[:, 0], grouped[:, 1])
        mask, step = np.uint64(keep), np.uint64(shift)
        new_upper = (upper & mask) | ((lower << step) & ~mask)
        lower[...] = (lower & ~mask) | ((upper >> step) & mask)
        upper[...] = new_upper
    return out


def _dihedral_steps() -> np.ndarray:
    """Each operation as (transpose, mirror columns, flip rows), applied in that order."""
    probe = np.arange(BLOCK * BLOCK).reshape(BLOCK, BLOCK)
    steps = []
    for op in range(8):
        for t, m, f in np.ndindex(2, 2, 2):
            block = probe.T if t else probe
            block = block[:, ::-1] if m else block
            block = block[::-1] if f else block
            if np.array_equal(block, _transform(probe, op)):
                steps.append((t, m, f))
                break
    return np.array(steps, dtype=bool)


# Blocks are moved as words, never pixel by pixel: a mirror is a byte swap of each row,
# a flip reverses the rows, a transpose is three masked shifts. Whole image ~1.5 ms.
_STEPS = _dihedral_steps()


def scramble(image: np.ndarray, key: bytes) -> np.ndarray:
    """Scramble a grey image of whole blocks with ``key``; same shape, uint8."""
    rows = _block_rows(image)
    plan = _plan(key, rows.shape[1])
    source = plan.permutation
    moved = rows[:, source]
    transpose, mirror, flip = _STEPS[plan.operation[source]].T
    moved = np.where(transpose, _transposed(moved), moved)
    moved = np.where(mirror, moved.byteswap(), moved)
    moved = np.where(flip, moved[::-1], moved)
    moved ^= np.where(plan.inverted[source], _ONES, np.uint64(0))  # 255 - v
    return _image(moved, image.shape)


def descramble(scrambled: np.ndarray, key: bytes) -> np.ndarray:
    """The inverse of :func:`scramble` with the same key (with another key: noise)."""
    moved = _block_rows(scrambled)
    plan = _plan(key, moved.shape[1])
    source = plan.permutation
    moved = moved ^ np.where(plan.inverted[source], _ONES, np.uint64(0))
    transpose, mirror, flip = _STEPS[plan.operation[source]].T
    moved = np.where(flip, moved[::-1], moved)
    moved = np.where(mirror, moved.byteswap(), moved)
    moved = np.where(transpose, _transposed(moved), moved)
    rows = np.empty_like(moved)
    rows[:, source] = moved
    return _image(rows, scrambled.shape)


# --- reading the printed image back from a scan ------------------------------------------

class ScanUnreadable(ValueError):
    """The registration marks or the scrambled image cannot be found in the scan."""


def _fit_affine(page_points: np.ndarray, scan_points: np.ndarray) -> np.ndarray:
    """Least-squares 2×3 matrix M with scan ≈ M · (x, y, 1)."""
    design = np.hstack([page_points, np.ones((len(page_points), 1))])
    solution, *_ = np.linalg.lstsq(design, scan_points, rcond=None)
    return solution.T


def _apply(matrix: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    return matrix @ np.array([point[0], point[1], 1.0])


def qr_page_corners() -> np.ndarray:
    """The QR symbol's corners on the page, in the order zxing reports a symbol's
    position: top left, top right, bottom right, bottom left."""
    box = layout.QR_BOX
    return np.array([(box.x, box.top), (box.right, box.top), (box.right, box.y),
                     (box.x, box.y)], dtype=np.float64)


@dataclass(frozen=True)
class Registration:
    """Where the page lies in a scan: page points → scan pixels, and the ink levels."""

    matrix: np.ndarray
    black: float
    white: float
    residual_px: float


def register_scan(scan: np.ndarray, qr_corners_px: np.ndarray) -> Registration:
    """Find the four registration marks, starting from the QR code's corners in the scan.

    Raises :class:`ScanUnreadable` when a mark is missing or the four do not agree."""
    coarse = _fit_affine(qr_page_corners(), qr_corners_px)
    px_per_pt = float(np.sqrt(abs(np.linalg.det(coarse[:, :2]))))
    mark_px = layout.MARK_SIZE * px_per_pt
    # The QR code is 40 mm across: its corners place a mark 150 mm away to within about
    # 2 mm. Search the mark's quiet zone, which holds nothing dark but the mark.
    half_window = round(layout.MARK_QUIET / 2 * px_per_pt)
    side = max(3, round(mark_px))
    found: list[tuple[float, float]] = []
    blacks: list[float] = []
    whites: list[float] = []
    for centre in layout.MARK_CENTRES:
        cx, cy = _apply(coarse, centre)
        x0, y0 = int(cx) - half_window, int(cy) - half_window
        x1, y1 = int(cx) + half_window + 1, int(cy) + half_window + 1
        if x0 < 0 or y0 < 0 or x1 > scan.shape[1] or y1 > scan.shape[0]:
            raise ScanUnreadable("a registration mark lies outside the scan")
        window = scan[y0:y1, x0:x1].astype(np.float32)
        low, high = np.percentile(window, 2), np.percentile(window, 90)
        if high - low < 40:
            raise ScanUnreadable("no registration mark where one should be")
        dark = (window < (low + high) / 2).astype(np.float32)
        # The mark is the place where a mark-sized square is darkest: sum over every
        # side × side square with an integral image.
        integral = np.pad(dark, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
        sums = (integral[side:, side:] - integral[:-side, side:]
                - integral[side:, :-side] + integral[:-side, :-side])
        iy, ix = np.unravel_index(int(np.argmax(sums)), sums.shape)
        if sums[iy, ix] < 0.7 * side * side:
            raise ScanUnreadable("no registration mark where one should be")
        margin = max(2, side // 4)
        ys, xs = np.nonzero(dark[max(0, iy - margin):iy + side + margin,
                                 max(0, ix - margin):ix + side + margin])
        oy, ox = max(0, iy - margin), max(0, ix - margin)
        found.append((x0 + ox + xs.mean() + 0.5, y0 + oy + ys.mean() + 0.5))
        inner = window[iy + side // 4: iy + side - side // 4, ix + side // 4: ix + side - side // 4]
        blacks.append(float(np.median(inner)))
        whites.append(float(np.median(window[dark == 0])))
    page = np.array(layout.MARK_CENTRES, dtype=np.float64)
    scan_points = np.array(found, dtype=np.float64)
    matrix = _fit_affine(page, scan_points)
    residual = float(np.abs(np.hstack([page, np.ones((4, 1))]) @ matrix.T - scan_points).max())
    if residual > 0.5 * mark_px:
        raise ScanUnreadable("the registration marks do not lie where the layout puts them")
    return Registration(matrix, float(np.median(blacks)), float(np.median(whites)), residual)


def recover_scrambled(scan: np.ndarray, registration: Registration,
                      shape: tuple[int, int]) -> np.ndarray:
    """Resample the printed scrambled image out of a scan: uint8 of ``shape`` (h, w)."""
    h, w = shape
    over = 2  # sample twice per pixel each way, then average: less aliasing than one
    box = layout.SCRAMBLE_BOX
    m = registration.matrix
    # Output pixel (u, v) of the oversampled image → page point → scan pixel.
    sx, sy = box.w / (w * over), -box.h / (h * over)
    a = m[0, 0] * sx
    b = m[0, 1] * sy
    c = m[0, 0] * box.x + m[0, 1] * box.top + m[0, 2]
    d = m[1, 0] * sx
    e = m[1, 1] * sy
    f = m[1, 0] * box.x + m[1, 1] * box.top + m[1, 2]
    image = Image.fromarray(scan).transform(
        (w * over, h * over), Image.Transform.AFFINE, (a, b, c, d, e, f),
        resample=Image.Resampling.BILINEAR, fillcolor=255)
    sampled = np.asarray(image, dtype=np.float32).reshape(h, over, w, over).mean(axis=(1, 3))
    span = max(registration.white - registration.black, 1.0)
    levels = (sampled - registration.black) * (255.0 / span)
    return np.clip(np.rint(levels), 0, 255).astype(np.uint8)


# Restoring a scanned front: the print and the scan blur every edge, and block edges
# meet unrelated neighbours in the scrambled layout. An unsharp mask on the scrambled
# image (before the blocks move apart) undoes most of the blur; a tone curve then
# returns the paper to white and the ink to black, as the front was printed.
SHARPEN_SIGMA = 1.0
SHARPEN_AMOUNT = 1.5
TONE_CURVE = (100.0, 155.0)


def restore_front(scrambled_from_scan: np.ndarray, key: bytes) -> np.ndarray:
    """The front from a scrambled image read out of a scan (``recover_scrambled``)."""
    image = scrambled_from_scan.astype(np.float32)
    sharp = image + SHARPEN_AMOUNT * (image - gaussian_blur(image, SHARPEN_SIGMA))
    front = descramble(np.clip(np.rint(sharp), 0, 255).astype(np.uint8), key)
    low, high = TONE_CURVE
    return np.clip((front.astype(np.float32) - low) * (255.0 / (high - low)), 0,
                   255).astype(np.uint8)


def front_from_scan(scan: np.ndarray, qr_corners_px: np.ndarray, key: bytes,
                    shape: tuple[int, int]) -> np.ndarray:
    """The whole way from a scan of the back to the front: register, resample, restore."""
    registration = register_scan(scan, qr_corners_px)
    return restore_front(recover_scrambled(scan, registration, shape), key)
