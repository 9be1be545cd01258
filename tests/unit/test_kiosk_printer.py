"""The kiosk simulator's printer: a finished certificate becomes the sheet's two sides."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from center.antiforgery import optics, tint
from kiosk_sim.printer import SCREEN_DPI, PaperJam, render_pages
from konbini.pdfium import pdf_document
from tests.unit.antiforgery_helpers import BLANK_BOX, finish, front_pdf, keyring


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return finish(keyring(Path(tmp_path_factory.mktemp("qr"))), front_pdf())[0]


def test_the_sheet_has_a_front_and_a_back_in_a4(certificate: bytes) -> None:
    pages = render_pages(certificate)
    assert len(pages) == 2
    for png in pages:
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert image.size == pytest.approx((8.27 * SCREEN_DPI, 11.69 * SCREEN_DPI), abs=2)


def test_many_kiosks_print_at_once(certificate: bytes) -> None:
    # Kiosks render their printouts on threads; PDFium is not thread-safe, so each
    # render must come out exactly as it does alone.
    alone = render_pages(certificate)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda _: render_pages(certificate), range(6)))
    assert all(pages == alone for pages in together)


def test_the_preview_shows_the_paper_without_the_latent_word(certificate: bytes) -> None:
    """On paper the tint is an even tone; the preview must not show 「複写」 either."""
    front = np.asarray(Image.open(io.BytesIO(render_pages(certificate)[0])).convert("L"),
                       dtype=np.float32)
    px = 72 / SCREEN_DPI
    top = round((tint.A4_HEIGHT - BLANK_BOX.top) / px)
    left = round(BLANK_BOX.x / px)
    region = front[top:top + round(BLANK_BOX.h / px), left:left + round(BLANK_BOX.w / px)]
    word = tint.word_mask(SCREEN_DPI, (BLANK_BOX.x, BLANK_BOX.y, BLANK_BOX.w, BLANK_BOX.h),
                          region.shape)
    inner_word, ground = optics.erode(word, 2), optics.erode(~word, 2)
    assert inner_word.sum() > 200 and ground.sum() > 2000
    contrast = optics.weber_contrast(region, inner_word, ground)
    print(f"word against background on the preview: {contrast:.4f}")
    assert contrast < optics.EYE_THRESHOLD
    # And the measurement can fail: the PDF scaled straight down by PDFium shows it.
    with pdf_document(certificate) as document:
        direct = np.asarray(document[0].render(scale=150 / 72, grayscale=True).to_pil()
                            .convert("L").resize(front.shape[::-1], Image.Resampling.NEAREST),
                            dtype=np.float32)
    sampled = direct[top:top + region.shape[0], left:left + region.shape[1]]
    assert optics.weber_contrast(sampled, inner_word, ground) > optics.EYE_THRESHOLD


def test_a_jammed_printer_stops_at_the_jam() -> None:
    jam = PaperJam(at=2)
    assert [jam.fails(n) for n in (1, 2, 3)] == [False, True, True]
    assert not any(PaperJam().fails(n) for n in (1, 2, 3))
