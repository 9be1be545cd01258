"""Benchmark: the render time of each certificate type (median and p99) and its PDF size.

A script, not a timed test: the machine is shared, so run it a few times and read the
quietest run. The issue's target is a one-person 住民票の写し under 15 ms median.

    .venv/bin/python benchmarks/render.py [-n 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from municipal_server import samples
from municipal_server.render import juminhyo_kisai, koseki, risai, tax
from municipal_server.render.fuhyo import render_fuhyo
from municipal_server.render.inkan import render_inkan
from municipal_server.render.inputs import (
    FuhyoAddress,
    FuhyoInput,
    InkanInput,
    JuminhyoKisaiInput,
    RisaiInput,
)
from municipal_server.render.juminhyo import render_juminhyo
from municipal_server.render.seal import personal_seal_png


def cases() -> dict[str, tuple[Callable[[Any], bytes], Any]]:
    household = samples._household()
    one = replace(household, members=(replace(household.members[0], family_register=None),),
                  whole_household=False)
    fuhyo = FuhyoInput(samples.CHIYODA, "n", samples.ISSUED, samples.DOMICILE, "霞 太郎",
                       "霞 太郎", samples.TARO_BORN,
                       (FuhyoAddress(samples.PREVIOUS_ADDRESS, samples.WEDDING),
                        FuhyoAddress(samples.ADDRESS, samples.ISSUED)))
    inkan = InkanInput(samples.CHIYODA, "n", samples.ISSUED, "霞 太郎", "かすみ たろう",
                       samples.TARO_BORN, "男", samples.ADDRESS, personal_seal_png("霞"))
    return {
        "juminhyo (1 person)": (render_juminhyo, one),
        "juminhyo (3, all items)": (render_juminhyo, household),
        "juminhyo (foreign)": (render_juminhyo, samples._foreign_resident()),
        "juminhyo_kisai": (juminhyo_kisai.render_juminhyo_kisai, _kisai()),
        "inkan": (render_inkan, inkan),
        "tax_income_assessment": (tax.render_tax, samples._tax("income_assessment", 1)),
        "koseki_zenbu (3)": (koseki.render_koseki, samples._koseki("zenbu", 1)),
        "koseki_kojin": (koseki.render_koseki, samples._koseki("kojin", 1)),
        "koseki_fuhyo": (render_fuhyo, fuhyo),
        "risai": (risai.render_risai, _risai()),
    }


def _kisai() -> JuminhyoKisaiInput:
    return JuminhyoKisaiInput(samples.CHIYODA, "n", samples.ISSUED, "霞 太郎", "かすみ たろう",
                              samples.TARO_BORN, "男", samples.ADDRESS, samples.WEDDING)


def _risai() -> RisaiInput:
    return RisaiInput(samples.CHIYODA, "n", samples.ISSUED, "令和8年台風第10号", date(2026, 8, 30),
                      samples.ADDRESS, "霞 太郎", "半壊", "床上浸水", date(2026, 9, 4))


def measure(render: Callable[[Any], bytes], inp: Any, n: int) -> tuple[float, float, int]:
    """(median ms, p99 ms, PDF bytes) over ``n`` renders after one warm-up render."""
    pdf = render(inp)  # the first render pays for the font and the seal images
    times = []
    for _ in range(n):
        start = time.perf_counter()
        render(inp)
        times.append(time.perf_counter() - start)
    times.sort()
    p99 = times[min(len(times) - 1, round(len(times) * 0.99) - 1)]
    return statistics.median(times) * 1000, p99 * 1000, len(pdf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="renders per type and run")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the quietest is shown")
    args = parser.parse_args()
    try:
        import _rl_accel  # noqa: F401 - the C helpers reportlab uses when installed

        accel = "with rl_accel"
    except ImportError:
        accel = "WITHOUT rl_accel (pure-Python reportlab helpers: slower)"
    print(f"{args.n} renders per type, best of {args.repeat} runs, {accel}")
    print(f"{'type':<26}{'median ms':>10}{'p99 ms':>9}{'PDF KB':>9}")
    for name, (render, inp) in cases().items():
        runs = [measure(render, inp, args.n) for _ in range(args.repeat)]
        median, p99, size = min(runs)
        print(f"{name:<26}{median:>10.2f}{p99:>9.2f}{size / 1024:>9.1f}")


if __name__ == "__main__":
    main()
