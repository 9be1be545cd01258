"""The detection image (偽造防止検出画像): a latent 「証」 in carbon black inside a CMY mix
of the same visible tone. Seen through a simulated separation: the plates the printer
lays down, an infrared camera, the eye (PDFium's rendering), and a colour copier."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from center.antiforgery import detection, optics
from center.antiforgery.back_page import DETECTION_XOBJECT
from center.antiforgery.layout import DETECTION_BOX
from center.antiforgery.raster import render_rgb
from tests.unit.antiforgery_helpers import finish, front_pdf, keyring

DPI = 300


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return finish(keyring(tmp_path_factory.mktemp("qr")), front_pdf())[0]


def _masks(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The latent character and its surround at ``shape``, away from the edges between."""
    mask = Image.fromarray(detection.latent_mask().astype(np.uint8) * 255).resize(
        (shape[1], shape[0]), Image.Resampling.NEAREST)
    latent = np.asarray(mask) > 127
    edge = max(1, round(shape[0] / detection.side_px()))
    inner = np.zeros(shape, dtype=bool)
    inner[edge * 3:-edge * 3, edge * 3:-edge * 3] = True  # not the page around the image
    return optics.erode(latent, edge) & inner, optics.erode(~latent, edge) & inner


def test_infrared_shows_the_latent_character(certificate: bytes) -> None:
    plates = optics.printed_plates(certificate, 1, DETECTION_XOBJECT)
    latent, ground = _masks(plates.shape[:2])
    contrast = optics.weber_contrast(optics.ir_view(plates), latent, ground)
    print(f"infrared: 証 against its surround {contrast:.2f}")
    assert contrast >= 0.3


def test_the_eye_sees_an_even_square(certificate: bytes) -> None:
    rgb = render_rgb(certificate, 1, DPI, DETECTION_BOX)
    latent, ground = _masks(rgb.shape[:2])
    seen = optics.eye_view(optics.luminance(rgb), DPI)
    contrast = optics.weber_contrast(seen, latent, ground)
    print(f"visible: 証 against its surround {contrast:.3f}")
    assert contrast <= 0.05
    # Not white either: a mark a reader notices and an infrared camera is pointed at.
    assert 0.4 < float(seen[ground].mean()) < 0.8


def test_a_colour_copy_loses_the_latent_character(certificate: bytes) -> None:
    visible = render_rgb(certificate, 1, DPI, DETECTION_BOX)
    copy = optics.colour_copy_plates(visible)
    latent, ground = _masks(copy.shape[:2])
    contrast = optics.weber_contrast(optics.ir_view(copy), latent, ground)
    print(f"infrared view of a colour copy: {contrast:.3f}")
    assert contrast <= 0.05


def test_the_separation_model_would_see_a_k_only_copy() -> None:
    """The measurement can fail: plates whose K differs inside the character show it."""
    plates = detection.plates().copy()
    latent, ground = _masks(plates.shape[:2])
    assert optics.weber_contrast(optics.ir_view(plates), latent, ground) >= 0.3
    plates[..., 3] = detection.LATENT_K  # K everywhere: nothing latent any more
    assert optics.weber_contrast(optics.ir_view(plates), latent, ground) <= 0.01


def test_the_latent_character_is_carbon_black_only() -> None:
    plates = detection.plates()
    mask = detection.latent_mask()
    assert (plates[mask][:, :3] == 0).all() and (plates[mask][:, 3] == detection.LATENT_K).all()
    assert (plates[~mask][:, 3] == 0).all()
    assert 0.05 < mask.mean() < 0.5
