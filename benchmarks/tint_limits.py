"""What a one-cell tint can do against the eye and copier models (issue 15 item 1).

Prints the figures behind the strict xfails in ``tests/unit/test_tint.py``: how much
of a pattern the copier passes against the eye, by spatial frequency, for a copier
printing at 300 dpi (the model) and at 600 dpi (office multifunction copiers' copy
resolution); what the word's cells of today's tint copy at under each; the least
grain a word cell can have when a copier at 0.69 blackens a quarter of it; and the
grain of optimised continuous-tone and black-only 6 × 6 cells. Periodic cells are
measured exactly through the discrete Fourier transform; each cell's grain is
``optics.texture_contrast``'s figure for the cell tiled over the page.

    .venv/bin/python benchmarks/tint_limits.py        # about a minute
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from center.antiforgery import optics, tint

SIGMA = optics.mm_to_px(optics.COPIER_SIGMA_MM, 600)  # in 600 dpi dots
CPD_PER_CYCLE_PER_DOT = 600 / optics.MM_PER_INCH * optics.mm_per_degree()


def filters(p: int) -> tuple[np.ndarray, np.ndarray]:
    """The eye's CSF and the copier's optics (in register, 600 dpi) on a p × p cell."""
    f = np.fft.fftfreq(p)
    radial = np.hypot(f[:, None], f[None, :])
    eye = optics.csf(radial * CPD_PER_CYCLE_PER_DOT)
    copier = np.exp(-2 * math.pi ** 2 * SIGMA ** 2 * radial ** 2)
    return eye, copier


def grain_and_copy(cell: np.ndarray, threshold: float) -> tuple[float, float, np.ndarray]:
    eye, copier = filters(cell.shape[0])
    spectrum = np.fft.fft2(cell)
    seen = np.fft.ifft2(spectrum * eye).real
    scanned = np.fft.ifft2(spectrum * copier).real
    return float(seen.std() / seen.mean()), float((scanned < threshold).mean()), scanned


def quarter_dot_off(cell: np.ndarray, threshold: float) -> float:
    """Black share of a copy whose scan falls a quarter dot off the printed dots."""
    tiled = np.tile(cell, (10, 10)).astype(np.float32)
    fine = np.repeat(np.repeat(tiled, 2, axis=0), 2, axis=1)
    scanned = optics.gaussian_blur(fine, 2 * SIGMA)[0::2, 0::2][12:-12, 12:-12]
    return float((scanned < threshold).mean())


def project(cell: np.ndarray, mean: float) -> np.ndarray:
    lo, hi = -1.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.clip(cell + mid, 0, 1).mean() < mean else (lo, mid)
    return np.clip(cell + (lo + hi) / 2, 0, 1)


def optimise(mean: float, threshold: float = 0.689, need: float = 0.265,
             seed: int = 0, steps: int = 3000) -> tuple[float, np.ndarray] | None:
    """Least grain of a continuous-tone 6 × 6 cell of this tone that the copier
    blackens on ``need`` of its area (projected gradient, soft threshold)."""
    eye, copier = filters(6)
    rng = np.random.default_rng(seed)
    cell = project(mean + 0.1 * rng.normal(size=(6, 6)), mean)
    best: tuple[float, np.ndarray] | None = None
    for i in range(steps):
        spectrum = np.fft.fft2(cell)
        seen = np.fft.ifft2(spectrum * eye).real
        grad = 2 * np.fft.ifft2(np.fft.fft2(seen - seen.mean()) * eye).real / cell.size
        scanned = np.fft.ifft2(spectrum * copier).real
        soft = 1 / (1 + np.exp(-(threshold - scanned) / 0.004))
        if soft.mean() < need:
            d = -(soft * (1 - soft)) / 0.004 / cell.size
            grad -= 10 * (need - soft.mean()) * np.fft.ifft2(np.fft.fft2(d) * copier).real
        rate = 0.5 * (1 - i / steps) + 0.01
        cell = project(cell - rate * 0.05 * grad / (np.abs(grad).max() + 1e-12), mean)
        if i % 50 == 0:
            grain, black, _ = grain_and_copy(cell, threshold)
            if black >= need - 0.005 and (best is None or grain < best[0]):
                best = (grain, cell.copy())
    return best


def negative_pair(mean: float = 0.75, dark: float = 0.683, need: float = 0.27,
                  lightest: float = 0.79, seed: int = 0, steps: int = 2500
                  ) -> tuple[float, np.ndarray] | None:
    """A word cell W whose ground is its tone negative 2·mean − W: the same power
    spectrum, so the same grain to the eye, but dark specks where the ground has light
    ones. Least grain with the copier blackening ``need`` of W at ``dark`` and seeing
    no part of W lighter than ``lightest`` (so no part of the ground darker than
    2·mean − lightest)."""
    eye, copier = filters(6)
    floor = 2 * mean - 1

    def fit(c: np.ndarray) -> np.ndarray:
        lo, hi = -1.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if np.clip(c + mid, floor, 1).mean() < mean else (lo, mid)
        return np.clip(c + (lo + hi) / 2, floor, 1)

    def conv(c: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.fft.ifft2(np.fft.fft2(c) * k).real

    rng = np.random.default_rng(seed)
    cell = fit(mean + 0.15 * rng.normal(size=(6, 6)))
    best: tuple[float, np.ndarray] | None = None
    for i in range(steps):
        seen = conv(cell, eye)
        grad = 2 * conv(seen - seen.mean(), eye) / cell.size
        scanned = conv(cell, copier)
        soft = 1 / (1 + np.exp(-(dark - scanned) / 0.004))
        if soft.mean() < need:
            grad -= 20 * (need - soft.mean()) * conv(-(soft * (1 - soft)) / 0.004 / cell.size,
                                                     copier)
        grad += 1000 * conv(np.maximum(scanned - lightest, 0), copier) / cell.size
        rate = 0.5 * (1 - i / steps) + 0.01
        cell = fit(cell - rate * 0.05 * grad / (np.abs(grad).max() + 1e-12))
        if i % 50 == 0:
            scanned, seen = conv(cell, copier), conv(cell, eye)
            if ((scanned < dark).mean() >= need - 0.01 and scanned.max() <= lightest + 0.002
                    and (best is None or seen.std() / seen.mean() < best[0])):
                best = (float(seen.std() / seen.mean()), cell.copy())
    return best


def black_only(dots: int, seed: int = 0, steps: int = 6000) -> tuple[float, float]:
    """Least grain found for a 6 × 6 cell of ``dots`` black dots copied at ≥ 0.28
    at 0.689 (simulated annealing over swaps)."""
    rng = np.random.default_rng(seed)
    cell = np.ones(36)
    cell[rng.choice(36, dots, replace=False)] = 0
    cell = cell.reshape(6, 6)

    def cost(c: np.ndarray) -> tuple[float, float, float]:
        grain, black, _ = grain_and_copy(c, 0.689)
        return grain + 2 * max(0.0, 0.28 - black), grain, black

    now = cost(cell)
    best = now
    for i in range(steps):
        a, b = tuple(rng.integers(0, 6, 2)), tuple(rng.integers(0, 6, 2))
        if cell[a] == cell[b]:
            continue
        cell[a], cell[b] = cell[b], cell[a]
        new = cost(cell)
        temperature = 0.02 * (1 - i / steps) + 1e-5
        if new[0] < now[0] or rng.random() < math.exp(-(new[0] - now[0]) / temperature):
            now = new
            best = min(best, now)
        else:
            cell[a], cell[b] = cell[b], cell[a]
    return best[1], best[2]


def main() -> None:
    print("pattern passed, relative to mean tone (eye: CSF at 30 cm; copier: σ 0.04 mm)")
    print("cycles/degree   eye   copier@600  copier@300  ratio@600  ratio@300")
    for cpd in (8, 20, 30, 41, 50, 60, 70):
        per_dot = cpd / CPD_PER_CYCLE_PER_DOT
        eye = float(optics.csf(np.array(cpd)))
        c600 = math.exp(-2 * math.pi ** 2 * SIGMA ** 2 * per_dot ** 2)
        c300 = c600 * abs(np.sinc(2 * per_dot))  # the 2 × 2 average of a 300 dpi copy
        print(f"{cpd:13d}  {eye:6.4f}  {c600:9.4f}  {c300:10.4f}  {c600 / eye:9.2f}"
              f"  {c300 / eye:9.2f}")
    ratio = max(math.exp(-2 * math.pi ** 2 * SIGMA ** 2 * (c / CPD_PER_CYCLE_PER_DOT) ** 2)
                / float(optics.csf(np.array(c))) for c in range(8, 90))
    print(f"\nleast grain of a word blackened on 25 % of its area by a copier at 0.69 "
          f"(ideal two-level pattern, copier passing {ratio:.2f}× the eye):")
    for tone in (0.70, 0.705, 0.71, 0.72, 0.75):
        bound = math.sqrt(0.25 / 0.75) * (tone - 0.69) / (ratio * tone)
        print(f"  tone {tone:.3f}: {bound:.4f}")

    word = np.ones((6, 6))
    word[:5, :5] = tint.COARSE_GREY
    grain, _, scanned = grain_and_copy(word, 0.7)
    print(f"\ntoday's word cell (5 × 5 dot at {tint.COARSE_GREY}): grain {grain:.4f}; "
          f"through the copier's optics its dots read {scanned.min():.3f}–"
          f"{np.sort(scanned.ravel())[8]:.3f} in the middle 3 × 3, "
          f"{np.sort(scanned.ravel())[9]:.3f} and lighter around")
    print("  black share of the copy at threshold  0.65  0.68  0.69  0.70  0.72")
    print("  in register                        " + "".join(
        f"{grain_and_copy(word, t)[1]:6.2f}" for t in (0.65, 0.68, 0.69, 0.70, 0.72)))
    print("  a quarter dot off                  " + "".join(
        f"{quarter_dot_off(word, t):6.2f}" for t in (0.65, 0.68, 0.69, 0.70, 0.72)))

    print("\ncontinuous-tone 6 × 6 word cells, copied at ≥ 0.265 by a copier at 0.689:")
    for tone in (0.70, 0.705, 0.71, 0.72, 0.75):
        found = [r for r in (optimise(tone, seed=s) for s in range(3)) if r]
        grain, cell = min(found, key=lambda r: r[0])
        scanned = grain_and_copy(cell, 0.69)[2]
        print(f"  tone {tone:.3f}: grain {grain:.4f}, darkest {scanned.min():.3f} through "
              f"the optics; a quarter dot off at 0.69: {quarter_dot_off(cell, 0.69):.2f}")
    print("\nword cell and its tone negative as ground (same grain to the eye), tone 0.75:")
    found = [r for r in (negative_pair(seed=s) for s in range(3)) if r]
    grain, cell = min(found, key=lambda r: r[0])
    scanned = grain_and_copy(cell, 0.69)[2]
    ground = 2 * 0.75 - cell
    print(f"  grain {grain:.4f} in both; through the optics the word's darkest "
          f"{scanned.min():.3f}, the ground's {2 * 0.75 - scanned.max():.3f}; copy of the "
          f"word at 0.69 {grain_and_copy(cell, 0.69)[1]:.2f}, a quarter dot off "
          f"{quarter_dot_off(cell, 0.69):.2f}; ground black a quarter dot off at 0.70 "
          f"{quarter_dot_off(ground, 0.70):.2f}, at 0.71 {quarter_dot_off(ground, 0.71):.2f}")
    print("\nblack-only 6 × 6 word cells, copied at ≥ 0.28 at 0.689:")
    for dots in (10, 11, 12):
        grain, black = black_only(dots)
        print(f"  {dots} dots (tone {1 - dots / 36:.3f}): grain {grain:.4f}, copy {black:.2f}")


if __name__ == "__main__":
    main()
