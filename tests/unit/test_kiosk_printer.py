"""The kiosk simulator's printer: a finished certificate becomes the sheet's two sides."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from kiosk_sim.printer import SCREEN_DPI, PaperJam, render_pages
from tests.unit.antiforgery_helpers import finish, front_pdf, keyring


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
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda _: render_pages(certificate), range(16)))
    assert all(pages == alone for pages in together)


def test_a_jammed_printer_stops_at_the_jam() -> None:
    jam = PaperJam(at=2)
    assert [jam.fails(n) for n in (1, 2, 3)] == [False, True, True]
    assert not any(PaperJam().fails(n) for n in (1, 2, 3))
