"""Models of the physical world the anti-forgery features are made for.

Tests, the benchmark and the inquiry site use these same models, so what the tests
prove is what the features are designed against:

- ``eye_view``: a person reading at 30 cm, modelled by a contrast-sensitivity function
  (Mannos–Sakrison) applied in the frequency domain: mean tone and coarse texture pass,
  fine texture is attenuated as the eye attenuates it. ``texture_contrast`` is the
  RMS of what remains over the mean (CSF-weighted RMS contrast).
- ``photocopy``: a monochrome copier scanning at 600 dpi through optics as sharp as a
  copier's scanner, resampled to 300 dpi and thresholded to black and white, as
  copiers do in text mode.
- ``print_and_scan``: a 300 dpi scan of a printed page with paper and ink levels,
  blur, noise, up to ±1° rotation and ±3 mm offset.
- ``ir_view`` and ``colour_copy_plates``: what an infrared camera sees of the printed
  plates (carbon black absorbs infrared, cyan, magenta and yellow do not), and the
  plates of a colour copy, which scans visible light only and separates it again.

Images are numpy arrays with row 0 at the top of the page; grey images are
reflectance (1.0 paper white, 0.0 black) unless the name says uint8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

MM_PER_INCH = 25.4

# The eye: a page held at 30 cm (reading distance), where 1 degree of visual angle is
# 5.24 mm of paper. Sensitivity to contrast by spatial frequency is Mannos and
# Sakrison's (1974) CSF, normalised to 1 at its peak (8 cycles/degree, a 0.65 mm
# period here) and held at 1 below it, so that mean tone and large shapes pass whole:
# what matters for a tint is how much of its texture survives, and whether a shape in
# it differs in tone from its surround.
EYE_DISTANCE_MM = 300.0
CSF_PEAK_CPD = 8.0
# Threshold of visibility: a difference in tone of 1 % between a large figure and its
# surround (a Weber fraction; CSF peak sensitivity about 100 for printed paper in
# office light). Values are in CSF-weighted contrast, so they compare with this alone.
EYE_THRESHOLD = 0.01
# Kept for the scan model's and other features' smoothing only.
EYE_SIGMA_MM = 0.3
# A copier's scanner at 600 dpi resolves about 40 % modulation at 6 line pairs per mm
# (a Gaussian spread of σ 0.04 mm); a softer model (σ 0.1 mm, used before) would be
# blurrier than the eye at 30 cm, and nothing could show on the copy that the eye
# does not see on the original.
COPIER_SIGMA_MM = 0.04
COPIER_SCAN_DPI = 600
COPIER_OUTPUT_DPI = 300
# Text mode: anything darker than this reflectance prints as solid black (copiers keep
# light pencil and stamp marks; the fine tint, blurred to an even 0.8, stays above it).
COPIER_THRESHOLD = 0.7


def mm_to_px(mm: float, dpi: float) -> float:
    return mm * dpi / MM_PER_INCH


def to_reflectance(image: np.ndarray) -> np.ndarray:
    """uint8 grey (0 black … 255 white) → float32 reflectance."""
    return image.astype(np.float32) / 255.0


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, math.ceil(3.0 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Separable Gaussian blur of a 2-D float image, edges extended (no dark border)."""
    if sigma_px <= 0:
        return image.astype(np.float32)
    kernel = _gaussian_kernel(sigma_px)
    radius = len(kernel) // 2
    out = image.astype(np.float32)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        n = out.shape[axis]
        for k, weight in enumerate(kernel):
            acc += weight * (padded[k:k + n, :] if axis == 0 else padded[:, k:k + n])
        out = acc
    return out


def area_downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` × ``factor`` blocks (a sensor's pixels integrate light)."""
    h = image.shape[0] // factor * factor
    w = image.shape[1] // factor * factor
    return image[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def csf(cycles_per_degree: np.ndarray) -> np.ndarray:
    """Mannos–Sakrison contrast sensitivity, 1 at the peak and held at 1 below it."""
    f = np.maximum(np.asarray(cycles_per_degree, dtype=np.float64), CSF_PEAK_CPD)

    def ms(x: np.ndarray | float) -> np.ndarray:
        return 2.6 * (0.0192 + 0.114 * x) * np.exp(-(0.114 * x) ** 1.1)

    return ms(f) / ms(CSF_PEAK_CPD)


def mm_per_degree(distance_mm: float = EYE_DISTANCE_MM) -> float:
    return 2.0 * distance_mm * math.tan(math.radians(0.5))


def eye_view(reflectance: np.ndarray, dpi: float) -> np.ndarray:
    """What a reader sees at 30 cm: the image weighted by the CSF in the frequency
    domain (edges mirrored, so the border adds no false texture)."""
    image = reflectance.astype(np.float64)
    pad = max(8, round(mm_to_px(1.0, dpi)))
    padded = np.pad(image, pad, mode="reflect")
    h, w = padded.shape
    fy = np.fft.fftfreq(h, d=MM_PER_INCH / dpi)  # cycles per mm
    fx = np.fft.rfftfreq(w, d=MM_PER_INCH / dpi)
    radial = np.hypot(fy[:, None], fx[None, :]) * mm_per_degree()
    seen = np.fft.irfft2(np.fft.rfft2(padded) * csf(radial), s=padded.shape)
    return seen[pad:pad + image.shape[0], pad:pad + image.shape[1]].astype(np.float32)


def texture_contrast(reflectance: np.ndarray, dpi: float,
                     where: np.ndarray | None = None) -> float:
    """The visible texture of a tint: RMS of the CSF-weighted image about its mean,
    over the mean (0 for an even tone). ``where`` limits it to part of the image."""
    seen = eye_view(reflectance, dpi)
    values = seen if where is None else seen[where]
    mean = float(values.mean())
    return float(np.sqrt(((values - mean) ** 2).mean())) / max(mean, 1e-6)


def photocopy(reflectance_600dpi: np.ndarray) -> np.ndarray:
    """A monochrome copy at 300 dpi of a page region scanned at 600 dpi: 0.0 or 1.0."""
    blurred = gaussian_blur(reflectance_600dpi, mm_to_px(COPIER_SIGMA_MM, COPIER_SCAN_DPI))
    resampled = area_downsample(blurred, COPIER_SCAN_DPI // COPIER_OUTPUT_DPI)
    return (resampled >= COPIER_THRESHOLD).astype(np.float32)


def weber_contrast(view: np.ndarray, figure: np.ndarray, ground: np.ndarray) -> float:
    """|mean(figure) − mean(ground)| / mean(ground): how much a shape stands out from
    its surround as a fraction of the surround's brightness."""
    ground_tone = float(view[ground].mean())
    return abs(float(view[figure].mean()) - ground_tone) / max(ground_tone, 1e-6)


def erode(mask: np.ndarray, radius_px: int) -> np.ndarray:
    """Shrink a boolean mask by ``radius_px`` (keeps measurements away from edges)."""
    if radius_px <= 0:
        return mask
    image = Image.fromarray(mask.astype(np.uint8) * 255)
    for _ in range(radius_px):  # MinFilter(3) repeatedly: exact square erosion
        image = image.filter(ImageFilter.MinFilter(3))
    return np.asarray(image) > 127


# --- SSIM ------------------------------------------------------------------------

def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity (Wang et al. 2004) of two uint8 grey images of the
    same shape: Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03, L = 255."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    x = a.astype(np.float32)
    y = b.astype(np.float32)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y = gaussian_blur(x, 1.5), gaussian_blur(y, 1.5)
    sxx = gaussian_blur(x * x, 1.5) - mu_x * mu_x
    syy = gaussian_blur(y * y, 1.5) - mu_y * mu_y
    sxy = gaussian_blur(x * y, 1.5) - mu_x * mu_y
    value = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2))
    return float(value.mean())


# --- print and scan ----------------------------------------------------------------

@dataclass(frozen=True)
class ScanConditions:
    """How one simulated scan of a printed page differs from the ideal."""

    rotation_deg: float = 0.0  # the sheet lies askew on the glass (±1°)
    offset_mm: tuple[float, float] = (0.0, 0.0)  # and shifted (±3 mm), right and down
    blur_px: float = 0.8  # printer dot gain and scanner optics, σ in scan pixels
    noise: float = 6.0  # sensor and paper noise, σ in grey levels
    paper: int = 242  # paper is not perfectly white to the scanner
    ink: int = 28  # nor is black ink perfectly black
    dpi: int = 300
    seed: int = 0

    @classmethod
    def random(cls, seed: int) -> ScanConditions:
        """The worst the inquiry site promises to handle, in a random direction."""
        rng = np.random.default_rng(seed)
        return cls(rotation_deg=float(rng.uniform(-1.0, 1.0)),
                   offset_mm=(float(rng.uniform(-3.0, 3.0)), float(rng.uniform(-3.0, 3.0))),
                   seed=seed)


def print_and_scan(page_grey_uint8: np.ndarray, conditions: ScanConditions) -> np.ndarray:
    """A scan of a printed page, given the page rendered at the scan resolution.

    Ink and paper levels, blur, rotation about the sheet's centre, offset, noise;
    returns uint8 grey of the same size (what a flatbed scanner hands over)."""
    levels = conditions.ink + page_grey_uint8.astype(np.float32) * (
        (conditions.paper - conditions.ink) / 255.0)
    blurred = gaussian_blur(levels, conditions.blur_px)
    image = Image.fromarray(np.clip(blurred, 0, 255).astype(np.uint8))
    dx = mm_to_px(conditions.offset_mm[0], conditions.dpi)
    dy = mm_to_px(conditions.offset_mm[1], conditions.dpi)
    # The scanner lid is white: what moves into view from outside the sheet is paper.
    moved = image.rotate(conditions.rotation_deg, resample=Image.Resampling.BICUBIC,
                         translate=(dx, dy), fillcolor=conditions.paper)
    rng = np.random.default_rng(conditions.seed)
    noisy = np.asarray(moved, dtype=np.float32) + rng.normal(
        0.0, conditions.noise, size=(moved.height, moved.width)).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


# --- infrared and colour separation --------------------------------------------------

def ir_view(cmyk_plates: np.ndarray) -> np.ndarray:
    """What an infrared camera sees of printed plates ``(h, w, 4)`` uint8 C, M, Y, K:
    carbon black (K) absorbs infrared; cyan, magenta and yellow inks are transparent
    to it. Returns reflectance."""
    return 1.0 - cmyk_plates[:, :, 3].astype(np.float32) / 255.0


def colour_copy_plates(rgb: np.ndarray) -> np.ndarray:
    """The plates a colour copier prints from what it scanned (``(h, w, 3)`` uint8 RGB).

    A copier sees visible light only. Like most, it separates with grey component
    replacement: the neutral part of each colour goes to K, the rest to C, M, Y. Where
    the original had K and an equal-looking CMY mix, the copy gets the same plates."""
    rgb_f = rgb.astype(np.float32) / 255.0
    cmy = 1.0 - rgb_f
    k = cmy.min(axis=2)
    scale = np.where(k < 1.0, 1.0 - k, 1.0)[..., None]
    rest = (cmy - k[..., None]) / scale
    plates = np.concatenate([rest, k[..., None]], axis=2)
    return np.clip(np.rint(plates * 255.0), 0, 255).astype(np.uint8)


def printed_plates(pdf: bytes, page_index: int, xobject: str) -> np.ndarray:
    """The C, M, Y, K plates a printer lays down for one DeviceCMYK image of a page:
    ``(h, w, 4)`` uint8, as the PDF gives them (DeviceCMYK is printed as it is, with
    no colour management). The input of ``ir_view``."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        image = document.pages[page_index].obj.Resources.XObject[xobject]
        if image.get("/ColorSpace") != pikepdf.Name.DeviceCMYK:
            raise ValueError(f"{xobject} is not a DeviceCMYK image")
        width, height = int(image.Width), int(image.Height)
        data = image.read_bytes()
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width, 4)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of uint8 RGB as reflectance: what the eye makes of colour."""
    rgb_f = rgb.astype(np.float32) / 255.0
    return rgb_f[..., 0] * 0.2126 + rgb_f[..., 1] * 0.7152 + rgb_f[..., 2] * 0.0722
