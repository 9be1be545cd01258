"""Benchmark: the anti-forgery stage per certificate (tint, scramble, detection image,
QR, merge), median and p99, and the PDF size, beside a naive baseline.

The stage is ``center.antiforgery.finish_certificate`` as the order flow calls it,
signing included, on each municipal sample front (``municipal_server.samples``). The
naive baseline is what the first version of a tint would do: draw every dot of the
tint as a rectangle in each document's content streams (both sides), then the same
back page. A script, not a timed test: the machine is shared, so run it a few times
and read the quietest run. Targets: ≤ 20 ms median per certificate, PDF ≤ 400 KB.

    .venv/bin/python benchmarks/antiforgery.py [-n 200] [--baseline 3]
"""

from __future__ import annotations

import argparse
import functools
import io
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pikepdf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from center.antiforgery import finish_certificate, pdfparts, tint
from center.antiforgery.back_page import _qr_pixels
from center.antiforgery.layout import PAGE_H, PAGE_W
from center.antiforgery.qr import certificate_claims
from center.antiforgery.scramble import front_raster, scramble, scramble_key
from center.qr_keys import QrKeyring
from konbini.clock import parse_instant
from konbini.jws import sign_es256
from konbini.wire import CertificateType
from municipal_server.samples import sample_pdfs

NOW = parse_instant("2026-11-24T10:00:00+09:00")
SECRET = bytes(range(32))
TARGET_MS = 20.0
TARGET_KB = 400.0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stage(front: bytes, cert_type: str, ring: QrKeyring, serial: int) -> bytes:
    kid, key = ring.current(NOW)
    import hashlib
    claims = certificate_claims(
        certificate_id=f"{serial:032x}", certificate_number=f"131016-2026-{serial:07d}",
        cert_type=cert_type, municipality_code="131016", issued_at=NOW,
        front_pdf_sha256=hashlib.sha256(front).digest())
    pdf, _ = finish_certificate(front, claims=claims,
                                sign=functools.partial(sign_es256, key=key, kid=kid),
                                scramble_secret=SECRET,
                                certificate_number=claims["num"], municipality_name="千代田区",
                                cert_label=_label(cert_type))
    return pdf


def _label(cert_type: str) -> str:
    try:
        return CertificateType(cert_type).label
    except ValueError:
        return cert_type


def _naive_tint_stream() -> bytes:
    """Every dot of the tint on one A4 page as its own rectangle (the naive way)."""
    dots = tint.tile_dots()
    tile_w, tile_h = tint.tile_size_points()
    pt = tint.POINTS_PER_DOT
    rows, cols = np.nonzero(dots)
    parts = ["q 0 g"]
    for place in tint.placements(PAGE_W, PAGE_H):
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            x = place.x + c * pt
            y = place.y + tile_h - (r + 1) * pt
            if -pt < x < PAGE_W and -pt < y < PAGE_H:
                parts.append(f"{x:.2f} {y:.2f} {pt:.2f} {pt:.2f} re")
    parts.append("f Q")
    del tile_w
    return "\n".join(parts).encode("ascii")


def _naive(front: bytes, cert_type: str, ring: QrKeyring, serial: int) -> bytes:
    """The baseline: our stage without the tint, plus the tint drawn dot by dot into
    each page of each document (and compressed, as any PDF writer would)."""
    pdf = _stage(front, cert_type, ring, serial)
    content = zlib.compress(_naive_tint_stream(), 6)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            stream = pikepdf.Stream(document, b"")
            stream.write(content, filter=pikepdf.Name.FlateDecode)
            page.contents_add(stream, prepend=True)
        out = io.BytesIO()
        document.save(out)
    return out.getvalue()


def _time(function: Callable[[], object], n: int) -> list[float]:
    """Milliseconds of ``n`` calls after a first one that warms the caches (fonts, the
    tint tile, the text layer); with ``n`` 0, the first call's time alone."""
    start = time.perf_counter()
    function()
    if n == 0:
        return [(time.perf_counter() - start) * 1000]
    times = []
    for _ in range(n):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _parts(front: bytes, ring: QrKeyring, n: int) -> dict[str, float]:
    """Median ms of the stage's costly parts, measured one by one."""
    kid, key = ring.current(NOW)
    raster = front_raster(front)
    key_bytes = scramble_key(SECRET, "0" * 32)
    scrambled = scramble(raster, key_bytes)
    token = sign_es256({"cid": "0" * 32, "num": "131016-2026-0000001", "typ": "juminhyo",
                        "mun": "131016", "iat": int(NOW.timestamp()), "dig": "A" * 43,
                        "fpd": "A" * 43}, key, kid)
    return {
        "render front 72 dpi": statistics.median(_time(lambda: front_raster(front), n)),
        "scramble": statistics.median(_time(lambda: scramble(raster, key_bytes), n)),
        "4-bit pack + deflate": statistics.median(_time(
            lambda: pdfparts.grey4_flate(scrambled), n)),
        "QR symbol": statistics.median(_time(lambda: _qr_pixels(token), n)),
        "sign ES256": statistics.median(_time(
            lambda: sign_es256({"cid": "0" * 32}, key, kid), n)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100, help="certificates per type (100)")
    parser.add_argument("--baseline", type=int, default=2,
                        help="documents for the naive baseline, on the first type only: it "
                             "takes ~20 s a document (2)")
    parser.add_argument("--types", nargs="*", help="only these sample names")
    args = parser.parse_args()

    ring = QrKeyring.load_or_create(Path(tempfile.mkdtemp(prefix="qr-bench-")), NOW)
    fronts = sample_pdfs()
    names = [name for name in fronts if not args.types or name.removesuffix(".pdf")
             in args.types]
    print(f"anti-forgery stage per certificate (finish_certificate, signing included), "
          f"{args.n} certificates per type; baseline {args.baseline} per type")
    print(f"{'certificate':<26}{'median ms':>10}{'p99 ms':>9}{'PDF KB':>9}{'front KB':>10}"
          f"{'naive ms':>10}{'naive KB':>10}{'ratio':>8}")
    all_medians: list[float] = []
    sizes: list[float] = []
    for name in names:
        front = fronts[name]
        cert_type = name.removesuffix(".pdf").removesuffix("_foreign")
        serial = iter(range(1, 10**9))
        times = _time(lambda: _stage(front, cert_type, ring, next(serial)), args.n)  # noqa: B023
        size = len(_stage(front, cert_type, ring, 0)) / 1024
        baseline = args.baseline if name == names[0] else 0
        naive_times = _time(lambda: _naive(front, cert_type, ring, next(serial)),  # noqa: B023
                            baseline - 1) if baseline else []
        naive_size = len(_naive(front, cert_type, ring, 0)) / 1024 if baseline else 0
        median, p99 = statistics.median(times), _quantile(times, 0.99)
        all_medians.append(median)
        sizes.append(size)
        row = (f"{name.removesuffix('.pdf'):<26}{median:>10.1f}{p99:>9.1f}{size:>9.0f}"
               f"{len(front) / 1024:>10.0f}")
        if naive_times:
            naive = statistics.median(naive_times)
            row += f"{naive:>10.0f}{naive_size:>10.0f}{naive / median:>7.0f}×"
        print(row)
    print("parts of the stage (median ms, 住民票の写し):",
          ", ".join(f"{k} {v:.1f}" for k, v in _parts(fronts[names[0]], ring, 50).items()))
    worst_median, worst_size = max(all_medians), max(sizes)
    print(f"targets: median ≤ {TARGET_MS:.0f} ms per certificate: "
          f"{'met' if worst_median <= TARGET_MS else 'NOT met'} (worst type {worst_median:.1f});"
          f" PDF ≤ {TARGET_KB:.0f} KB: {'met' if worst_size <= TARGET_KB else 'NOT met'} "
          f"(largest {worst_size:.0f} KB)")


if __name__ == "__main__":
    main()
