"""Benchmark: the anti-forgery stage per certificate (tint, scramble, detection image,
QR, merge), median and p99, and the PDF size, beside a naive baseline.

The stage is ``center.antiforgery.finish_sheets`` as the order flow calls it, signing
included, with the 見本 mark of a development key as the demo and the issuance
benchmark have it (``--production`` without), on each municipal sample front
(``municipal_server.samples``). Each stage is timed twice: wall clock, and the CPU
time of the whole process (``time.process_time``: both of the stage's threads), which
is what a shared machine's load does not inflate much. ``--parts`` breaks the CPU time
of the 3-person 住民票の写し down by step (each step's thread CPU time, inclusive of
the steps listed under it). The naive baseline is what the first version of a tint
would do: draw every dot of the tint as a rectangle in each document's content
streams (both sides), then the same back page. A script, not a timed test: the
machine is shared, so run it a few times. Targets (issue 12): ≤ 10 ms median per
certificate, PDF ≤ 200 KB.

    .venv/bin/python benchmarks/antiforgery.py [-n 200] [--baseline 3] [--parts]
    .venv/bin/python benchmarks/antiforgery.py -n 40 --baseline 0 --parts
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib
import io
import statistics
import sys
import tempfile
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pikepdf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from center.antiforgery import finish_sheets, tint
from center.antiforgery.layout import PAGE_H, PAGE_W
from center.antiforgery.qr import certificate_claims
from center.qr_keys import QrKeyring
from konbini import jws
from konbini.clock import parse_instant
from konbini.wire import CertificateType
from municipal_server.samples import sample_pdfs

NOW = parse_instant("2026-11-24T10:00:00+09:00")
SECRET = bytes(range(32))
TARGET_MS = 10.0
TARGET_KB = 200.0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stage(front: bytes, cert_type: str, ring: QrKeyring, serial: int,
           sample: bool = True) -> bytes:
    kid, key = ring.current(NOW)
    claims = certificate_claims(
        certificate_id=f"{serial:032x}", certificate_number=f"131016-2026-{serial:07d}",
        cert_type=cert_type, municipality_code="131016", issued_at=NOW,
        front_pdf_sha256=hashlib.sha256(front).digest())
    pdf, _ = finish_sheets(front, claims=claims,
                           sign=functools.partial(jws.sign_es256, key=key, kid=kid),
                           scramble_secret=SECRET,
                           certificate_number=claims["num"], municipality_name="千代田区",
                           cert_label=_label(cert_type), sample=sample)
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


def _time(function: Callable[[], object], n: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of ``n`` calls after a first one that warms the
    caches (fonts, the tint tile, the text layer); with ``n`` 0, the first call's alone."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    if n == 0:
        return ([(time.perf_counter() - wall) * 1000],
                [(time.process_time() - cpu) * 1000])
    walls, cpus = [], []
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return walls, cpus


# -- the stage step by step (--parts) --------------------------------------------------
# (module, attribute, label, depth): each is wrapped to add its thread's CPU time to its
# label; a step missing in this version of the code is skipped, so the same script
# measures another branch (PYTHONPATH=<its checkout>). Inclusive: a step's time
# holds the steps indented under it that run inside it.
STEPS: tuple[tuple[str, str, str, int], ...] = (
    ("center.antiforgery", "_split_pages", "split into sheets (parse the PDF)", 0),
    ("center.antiforgery", "_open_front", "open the front (parse the PDF)", 0),
    ("center.antiforgery", "_front_raster", "render front 72 dpi (PDFium)", 0),
    ("center.antiforgery", "_front_and_back", "front and back (other thread)", 0),
    ("center.antiforgery", "_tint_form", "tint Form XObject", 1),
    ("center.antiforgery", "add_sample_mark", "見本 marks (2)", 1),
    ("center.antiforgery", "page_digest", "front digest (fpd)", 1),
    ("konbini.jws", "sign_es256", "sign ES256", 1),
    ("center.antiforgery", "build_back_page", "back page", 1),
    ("center.antiforgery.back_page", "_back_words", "text layer (open, append)", 2),
    ("center.antiforgery.back_page", "_qr_pixels", "QR symbol", 2),
    ("center.antiforgery.back_page", "qr_matrix", "QR symbol", 2),
    ("center.antiforgery", "scramble_blocks", "scramble", 0),
    ("center.antiforgery.pdfparts", "grey4_flate", "4-bit pack + deflate", 0),
    ("center.antiforgery", "fill_scrambled_image", "fill the scrambled image", 0),
    ("pikepdf", "Pdf.save", "save the PDF (pikepdf)", 0),
)


class _Stopwatch:
    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._active = threading.local()

    def wrap(self, label: str, function: Callable[..., object]) -> Callable[..., object]:
        @functools.wraps(function)
        def timed(*args: object, **kwargs: object) -> object:
            # A label already being timed in this thread (recursion, two names for one
            # step) counts once.
            active = self._active.__dict__.setdefault("labels", set())
            if label in active:
                return function(*args, **kwargs)
            active.add(label)
            start = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.totals[label] += time.thread_time() - start
                active.discard(label)
        return timed


@contextmanager
def _instrumented(stopwatch: _Stopwatch) -> Iterator[list[tuple[str, int]]]:
    undo = []
    shown: list[tuple[str, int]] = []
    for module_name, dotted, label, depth in STEPS:
        owner: object = importlib.import_module(module_name)
        *path, attribute = dotted.split(".")
        for name in path:
            owner = getattr(owner, name)
        original = getattr(owner, attribute, None)
        if original is None:
            continue
        setattr(owner, attribute, stopwatch.wrap(label, original))
        undo.append((owner, attribute, original))
        if (label, depth) not in shown:
            shown.append((label, depth))
    try:
        yield shown
    finally:
        for owner, attribute, original in reversed(undo):
            setattr(owner, attribute, original)


def _parts(front: bytes, ring: QrKeyring, n: int, sample: bool) -> None:
    """Median CPU ms of each step of the stage over ``n`` certificates, and the whole."""
    stopwatch = _Stopwatch()
    per_step: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    serial = iter(range(10**6, 10**9))
    with _instrumented(stopwatch) as shown:
        _stage(front, "juminhyo", ring, next(serial), sample)
        for _ in range(n):
            stopwatch.totals.clear()
            cpu = time.process_time()
            _stage(front, "juminhyo", ring, next(serial), sample)
            totals.append((time.process_time() - cpu) * 1000)
            for label, _depth in shown:
                per_step[label].append(stopwatch.totals.get(label, 0.0) * 1000)
    print(f"parts of the stage, CPU ms (median of {n}, 住民票の写し, "
          f"{'見本' if sample else 'production key'}):")
    top = 0.0
    for label, depth in shown:
        median = statistics.median(per_step[label])
        top += median if depth == 0 else 0.0
        print(f"  {'  ' * depth}{label:<{40 - 2 * depth}}{median:>7.2f}")
    whole = statistics.median(totals)
    print(f"  {'other (outside the steps above)':<40}{whole - top:>7.2f}")
    print(f"  {'whole stage (process CPU)':<40}{whole:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100, help="certificates per type (100)")
    parser.add_argument("--baseline", type=int, default=2,
                        help="documents for the naive baseline, on the first type only: it "
                             "takes ~20 s a document (2)")
    parser.add_argument("--types", nargs="*", help="only these sample names")
    parser.add_argument("--parts", action="store_true",
                        help="also the CPU time of each step, for the 住民票の写し")
    parser.add_argument("--production", action="store_true",
                        help="as signed with a production key: no 見本 marks")
    args = parser.parse_args()
    sample = not args.production

    ring = QrKeyring.load_or_create(Path(tempfile.mkdtemp(prefix="qr-bench-")), NOW)
    fronts = sample_pdfs()
    names = [name for name in fronts if not args.types or name.removesuffix(".pdf")
             in args.types]
    print(f"anti-forgery stage per certificate (finish_sheets, signing included, "
          f"{'見本' if sample else 'production key'}), {args.n} certificates per type; "
          f"baseline {args.baseline} per type")
    print(f"{'certificate':<26}{'wall ms':>9}{'p99 ms':>9}{'CPU ms':>9}{'CPU p99':>9}"
          f"{'PDF KB':>9}{'front KB':>10}{'naive ms':>10}{'naive KB':>10}{'ratio':>8}")
    all_medians: list[float] = []
    all_cpu: list[float] = []
    sizes: list[float] = []
    for name in names:
        front = fronts[name]
        cert_type = name.removesuffix(".pdf").removesuffix("_foreign")
        serial = iter(range(1, 10**9))
        times, cpus = _time(lambda: _stage(front, cert_type, ring, next(serial),  # noqa: B023
                                           sample), args.n)
        size = len(_stage(front, cert_type, ring, 0, sample)) / 1024
        baseline = args.baseline if name == names[0] else 0
        naive_times = _time(lambda: _naive(front, cert_type, ring, next(serial)),  # noqa: B023
                            baseline - 1)[0] if baseline else []
        naive_size = len(_naive(front, cert_type, ring, 0)) / 1024 if baseline else 0
        median, p99 = statistics.median(times), _quantile(times, 0.99)
        cpu, cpu_p99 = statistics.median(cpus), _quantile(cpus, 0.99)
        all_medians.append(median)
        all_cpu.append(cpu)
        sizes.append(size)
        row = (f"{name.removesuffix('.pdf'):<26}{median:>9.1f}{p99:>9.1f}{cpu:>9.1f}"
               f"{cpu_p99:>9.1f}{size:>9.0f}{len(front) / 1024:>10.0f}")
        if naive_times:
            naive = statistics.median(naive_times)
            row += f"{naive:>10.0f}{naive_size:>10.0f}{naive / median:>7.0f}×"
        print(row)
    print(f"median over the types: wall {statistics.median(all_medians):.1f} ms, "
          f"CPU {statistics.median(all_cpu):.1f} ms")
    if args.parts:
        first = next((n for n in names if n.startswith("juminhyo")), names[0])
        _parts(fronts[first], ring, max(args.n, 10), sample)
    worst_median, worst_cpu, worst_size = max(all_medians), max(all_cpu), max(sizes)
    print(f"targets: median ≤ {TARGET_MS:.0f} ms per certificate: "
          f"{'met' if worst_median <= TARGET_MS else 'NOT met'} (worst type wall "
          f"{worst_median:.1f}, CPU {worst_cpu:.1f});"
          f" PDF ≤ {TARGET_KB:.0f} KB: {'met' if worst_size <= TARGET_KB else 'NOT met'} "
          f"(largest {worst_size:.0f} KB)")


if __name__ == "__main__":
    main()
