"""The copy-deterrent tint (けん制文字): even to the eye, 「複写」 on a photocopy.

Measured the way the features are designed against (``center.antiforgery.optics``): the
finished certificate is rendered by PDFium at the copier's 600 dpi, seen through the eye
model (a contrast-sensitivity function at 30 cm), and copied by the copier model; the
word's place comes from the tint's layout.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from center.antiforgery import TINT_XOBJECT, optics, tint
from center.antiforgery.raster import render_grey
from konbini.page import Box
from tests.support import pdf_pages_text
from tests.unit.antiforgery_helpers import (
    BLANK_BOX,
    NAME,
    NAME_BOX,
    finish,
    front_pdf,
    keyring,
    without_tint,
)


def _on_dot_grid(box: Box) -> Box:
    """``box`` moved onto the printer's 600 dpi grid, counted from the page's top-left
    corner as printers raster a page: a region rendered from it has each dot in a pixel."""
    dot = 72 / 600
    top = tint.A4_HEIGHT - round((tint.A4_HEIGHT - box.top) / dot) * dot
    x = round(box.x / dot) * dot
    return Box(x, top - box.h, box.w, box.h)


# Tint-only parts of the front and of the lower back, below the notes.
FRONT_BOX = _on_dot_grid(BLANK_BOX)
BACK_BOX = _on_dot_grid(Box(40, 10, 500, 120))
# The visible texture (CSF-weighted RMS contrast, optics.texture_contrast) of the tint
# this one replaced (0.85 mm cells, coarse 10 × 9 dots in the word), measured with the
# same eye model on the same regions (commit 96b6e5a): the word showed on the original.
PREVIOUS_TEXTURE = {0: 0.1405, 1: 0.2227}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    pdf, _ = finish(keyring(tmp_path_factory.mktemp("qr")), front_pdf())
    return pdf


def _masks(pdf: bytes, page: int, box: Box, dpi: int) -> tuple[np.ndarray, np.ndarray]:
    """Word and background of the tint in ``box``, away from edges and from anything
    that is not tint (text, frames), as boolean images at ``dpi``."""
    plain = render_grey(without_tint(pdf), page, dpi, box)
    content = optics.erode(plain >= 250, round(optics.mm_to_px(1.0, dpi)))
    word = tint.word_mask(dpi, (box.x, box.y, box.w, box.h), plain.shape)
    edge = round(optics.mm_to_px(0.6, dpi))
    return optics.erode(word, edge) & content, optics.erode(~word, edge) & content


def _tone_contrast(seen: np.ndarray, word: np.ndarray, ground: np.ndarray) -> float:
    """The word's tone against its surround in the eye's view, over blocks of one
    cell's size wholly inside each mask: a mask that cuts the pattern's period would
    weigh dots and gaps unequally and measure the mask, not the tint."""
    k = tint.CELL
    h, w = seen.shape[0] // k * k, seen.shape[1] // k * k
    cells = seen[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    whole_word = word[:h, :w].reshape(h // k, k, w // k, k).all(axis=(1, 3))
    whole_ground = ground[:h, :w].reshape(h // k, k, w // k, k).all(axis=(1, 3))
    return optics.weber_contrast(cells, whole_word, whole_ground)


def _figures(pdf: bytes, page: int, box: Box) -> dict[str, float]:
    original = optics.to_reflectance(render_grey(pdf, page, 600, box))
    word, ground = _masks(pdf, page, box, 600)
    assert word.sum() > 5000 and ground.sum() > 50000, "the region must show the word"
    tint_only = word | ground
    seen = optics.eye_view(original, 600)
    copy = optics.photocopy(original)
    word3, ground3 = _masks(pdf, page, box, 300)
    h, w = min(copy.shape[0], word3.shape[0]), min(copy.shape[1], word3.shape[1])
    figures = {
        "texture": optics.texture_contrast(original, 600, tint_only),
        "word_texture": optics.texture_contrast(original, 600, word),
        "ground_texture": optics.texture_contrast(original, 600, ground),
        "word_tone": _tone_contrast(seen, word, ground),
        "copy": optics.weber_contrast(optics.eye_view(copy[:h, :w], 300), word3[:h, :w],
                                      ground3[:h, :w]),
        "copy_ground": float(copy[:h, :w][ground3[:h, :w]].mean()),
        "mean": float(seen[tint_only].mean()),
    }
    # What tells the word from its surround at 30 cm: its grain (CSF-weighted RMS
    # contrast inside it against the same outside it) and its tone.
    figures["word_difference"] = max(abs(figures["word_texture"] - figures["ground_texture"]),
                                     figures["word_tone"])
    print(f"page {page + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in figures.items()))
    return figures


@pytest.mark.parametrize(("page", "box"), [(0, FRONT_BOX), (1, BACK_BOX)],
                         ids=["front", "back"])
def test_the_word_is_invisible_on_the_original_and_stands_out_on_a_copy(
        certificate: bytes, page: int, box: Box) -> None:
    figures = _figures(certificate, page, box)
    # To a reader at 30 cm the word differs from its surround by less than the eye's
    # threshold of visibility …
    assert figures["word_tone"] < optics.EYE_THRESHOLD
    # … and the tint as a whole has at most half the texture of the tint it replaced.
    assert figures["texture"] <= PREVIOUS_TEXTURE[page] / 2
    # On a copy the word is plain, and the copy's background is white paper.
    assert figures["copy"] >= 0.25
    assert figures["copy_ground"] > 0.99


@pytest.mark.xfail(strict=True, reason=(
    "issue 15 item 1, not met: inside the word the grain is 0.063, outside 0.002. The "
    "copier model (σ 0.04 mm, 300 dpi, threshold 0.7) passes about as much of a pattern "
    "as the eye does (0.53 vs 0.48 at 20 cycles/degree, 0.07 vs 0.06 at 41, ~0 for both "
    "at 62), so a word it blackens on a quarter of its area keeps a grain of ~0.035 at "
    "the least (an ideal two-level pattern, tone 0.75); of 20 one-ink word cells tried "
    "(blocks, lines, 2×2 clusters at 41 cycles/degree) that copy at ≥ 0.25, the 5×5 "
    "grey dot has the least (0.065). A ground given the word's grain would need copier "
    "margins under 1 %. A copier printing at 600 dpi, as office copiers do, passes at "
    "most 3.5× what the eye does (near 60 cycles/degree), but little there: optimised "
    "6×6 continuous-tone word cells reach 0.0078 only at a tone of 0.705 (0.036 at "
    "0.75), the word's darkest parts within 0.6 % of a copier at 0.69 and the ground "
    "within 1 % of one at 0.70, ~36 grey levels; black-only cells 0.020–0.032; a "
    "ground that is the word's tone negative (the same grain to this eye) 0.045 "
    "everywhere, copying only for thresholds 0.683–0.714 and at 0.17 a quarter dot "
    "out of register (benchmarks/tint_limits.py). Strict: remove this mark when a "
    "design passes."))
@pytest.mark.parametrize(("page", "box"), [(0, FRONT_BOX), (1, BACK_BOX)],
                         ids=["front", "back"])
def test_the_words_grain_is_below_the_threshold_of_visibility(
        certificate: bytes, page: int, box: Box) -> None:
    figures = _figures(certificate, page, box)
    assert figures["word_difference"] < optics.EYE_THRESHOLD


def test_every_dot_lands_on_the_printers_grid_without_seams(certificate: bytes) -> None:
    """At 600 dpi the page is rendered dot for dot: the fine dots on every even row and
    column counted from the top-left corner, none between, across every tile's edge
    (a seam there would come out of a copier as a line)."""
    page = render_grey(without_tint(certificate), 0, 600) >= 250  # where only tint is
    tinted = render_grey(certificate, 0, 600) < 128
    left = tinted[:, 8:48] & page[:, 8:48]  # the left margin, top to bottom
    top = tinted[8:48, :] & page[8:48, :]  # the top margin, left to right
    rows, cols = left.any(axis=1), top.any(axis=0)
    assert rows[0::2].mean() > 0.97 and not rows[1::2].any()
    assert cols[0::2].mean() > 0.97 and not cols[1::2].any()


def test_the_tint_is_an_even_light_tone(certificate: bytes) -> None:
    figures = _figures(certificate, 0, FRONT_BOX)
    assert 0.7 <= figures["mean"] <= 0.85  # a visible tint, not a grey page


def test_the_old_tint_would_fail_the_eye_model() -> None:
    """The measurement can fail: the previous design's cells (0.85 mm, 6 cycles/degree
    at 30 cm) leave their texture, and the word's, in plain view."""
    cell = 20
    fine = np.zeros((cell, cell), dtype=bool)
    fine[1::4, 1::5] = fine[2::4, 2::5] = True
    coarse = np.zeros((cell, cell), dtype=bool)
    coarse[5:14, 5:15] = True
    word = np.zeros((60, 120), dtype=bool)
    word[15:45, 30:90] = True
    dots = np.where(np.repeat(np.repeat(word, cell, 0), cell, 1),
                    np.tile(coarse, word.shape), np.tile(fine, word.shape))
    assert optics.texture_contrast(1.0 - dots.astype(np.float32), 600) > 0.1


def test_fine_and_coarse_dots_take_the_same_light_from_the_paper() -> None:
    fine = tint.FINE_CELL.sum() * (1 - tint.INK_GREY)
    coarse = tint.COARSE_CELL.sum() * (1 - tint.COARSE_GREY)
    assert pytest.approx(fine, abs=1e-9) == coarse
    assert pytest.approx(0.25) == tint.COVERAGE
    assert tint.word_cells().any() and not tint.word_cells().all()
    # Background dots finer than the eye at 30 cm resolves, the word's coarser ones too
    # small to see one by one: 0.04 mm and 0.21 mm.
    assert tint.CELL * 25.4 / tint.DPI < 0.3


def test_a_tint_with_mismatched_dots_would_show(certificate: bytes) -> None:
    """The measurement can fail: coarse dots inking more than the fine ones are seen."""
    original = optics.to_reflectance(render_grey(certificate, 0, 600, FRONT_BOX))
    word, ground = _masks(certificate, 0, FRONT_BOX, 600)
    darker = original.copy()
    darker[tint.word_mask(600, (FRONT_BOX.x, FRONT_BOX.y, FRONT_BOX.w, FRONT_BOX.h),
                          darker.shape)] *= 0.85
    assert optics.weber_contrast(optics.eye_view(darker, 600), word, ground) > \
        optics.EYE_THRESHOLD


def test_the_text_stays_legible_over_the_tint(certificate: bytes) -> None:
    assert NAME in pdf_pages_text(certificate)[0]
    tinted = optics.eye_view(optics.to_reflectance(render_grey(certificate, 0, 600, NAME_BOX)),
                             600)
    plain_raw = optics.to_reflectance(render_grey(without_tint(certificate), 0, 600, NAME_BOX))
    plain = optics.eye_view(plain_raw, 600)
    strokes = plain_raw < 0.3
    paper = optics.erode(plain_raw > 0.99, round(optics.mm_to_px(0.5, 600)))
    with_tint = optics.weber_contrast(tinted, strokes, paper)
    alone = optics.weber_contrast(plain, strokes, paper)
    print(f"name against its surround: {with_tint:.2f} over the tint, {alone:.2f} without")
    # The tint lightens the paper a fifth; the strokes keep most of their contrast and
    # stay darker than any part of the tint.
    assert with_tint >= 0.8 * alone
    assert float(np.percentile(tinted[strokes], 90)) < float(np.percentile(tinted[paper], 1))


def test_the_tint_is_under_the_municipal_content(tmp_path: Path) -> None:
    pdf, _ = finish(keyring(tmp_path), front_pdf())
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            contents = page.obj.Contents
            assert isinstance(contents, pikepdf.Array)
            assert contents[0].read_bytes().strip() == f"q {TINT_XOBJECT} Do Q".encode()


@pytest.mark.xfail(strict=True, reason=(
    "the copy's 0.33 rests on a copier margin of 0.001: of the word's 300 dpi pixels "
    "1/9 come out of the copier's optics at 0.658 and 2/9 at 0.699, against the "
    "threshold 0.70; a copier set 1 % lighter (0.69) shows the word at 0.095 only. "
    "A copier printing at 600 dpi blackens the middle 3×3 of each 5×5 grey dot "
    "(0.645–0.670 through its optics, 0.730 around) at any threshold from 0.68 to 0.72: "
    "0.25 exactly (0.2494 on the back), 0.22 if its scan falls a quarter dot off the "
    "printed dots (benchmarks/tint_limits.py). Strict: remove this mark when the word "
    "keeps ≥ 0.25 with a margin."))
def test_the_word_still_shows_on_a_copier_set_one_percent_lighter(
        certificate: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optics, "COPIER_THRESHOLD", optics.COPIER_THRESHOLD - 0.01)
    figures = _figures(certificate, 0, FRONT_BOX)
    assert figures["copy"] >= 0.25
