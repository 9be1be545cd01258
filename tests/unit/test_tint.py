"""The copy-deterrent tint (けん制文字): even to the eye, 「複写」 on a photocopy.

Measured the way the features are designed against (``center.antiforgery.optics``): the
finished certificate is rendered by PDFium at the copier's 600 dpi, seen through the eye
model, and copied by the copier model; the word's place comes from the tint's layout.
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

# The lower part of the back, below the notes, with only the tint on it.
BACK_BOX = Box(40, 10, 500, 120)


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


def _contrasts(pdf: bytes, page: int, box: Box) -> tuple[float, float]:
    original = optics.to_reflectance(render_grey(pdf, page, 600, box))
    word, ground = _masks(pdf, page, box, 600)
    assert word.sum() > 5000 and ground.sum() > 50000, "the region must show the word"
    seen = optics.weber_contrast(optics.eye_view(original, 600), word, ground)
    copy = optics.photocopy(original)
    word3, ground3 = _masks(pdf, page, box, 300)
    h, w = min(copy.shape[0], word3.shape[0]), min(copy.shape[1], word3.shape[1])
    copied = optics.weber_contrast(optics.eye_view(copy[:h, :w], 300), word3[:h, :w],
                                   ground3[:h, :w])
    print(f"page {page + 1}: word contrast to the eye {seen:.3f}, on a copy {copied:.3f}")
    return seen, copied


@pytest.mark.parametrize(("page", "box"), [(0, BLANK_BOX), (1, BACK_BOX)],
                         ids=["front", "back"])
def test_the_word_is_invisible_on_the_original_and_stands_out_on_a_copy(
        certificate: bytes, page: int, box: Box) -> None:
    seen, copied = _contrasts(certificate, page, box)
    assert seen <= 0.05
    assert copied >= 0.25


def test_the_tint_is_an_even_light_tone(certificate: bytes) -> None:
    original = optics.to_reflectance(render_grey(certificate, 0, 600, BLANK_BOX))
    eye = optics.eye_view(original, 600)
    assert 0.75 <= float(eye.mean()) <= 0.85  # a visible tint, not a grey page
    # And the copier drops the background entirely: its paper comes out white.
    _, ground = _masks(certificate, 0, BLANK_BOX, 300)
    copy = optics.photocopy(original)
    h, w = min(copy.shape[0], ground.shape[0]), min(copy.shape[1], ground.shape[1])
    assert float(copy[:h, :w][ground[:h, :w]].mean()) > 0.99


def test_fine_and_coarse_dots_ink_the_same_share_of_the_paper() -> None:
    assert tint.FINE_CELL.sum() == tint.COARSE_CELL.sum()
    assert pytest.approx(0.225) == tint.COVERAGE
    assert tint.word_cells().any() and not tint.word_cells().all()


def test_a_tint_with_mismatched_dots_would_show(certificate: bytes) -> None:
    """The measurement can fail: coarse dots inking more than the fine ones are seen."""
    original = optics.to_reflectance(render_grey(certificate, 0, 600, BLANK_BOX))
    word, ground = _masks(certificate, 0, BLANK_BOX, 600)
    darker = original.copy()
    darker[tint.word_mask(600, (BLANK_BOX.x, BLANK_BOX.y, BLANK_BOX.w, BLANK_BOX.h),
                          darker.shape)] *= 0.85
    assert optics.weber_contrast(optics.eye_view(darker, 600), word, ground) > 0.05


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
