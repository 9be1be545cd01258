"""What keeping a certificate's PDF for its 10 minutes costs, and then
forgetting it so no file under var/ holds its bytes (issue 11, item 6).

Per order of one 160 KB PDF, in a WAL-mode SQLite file like the center's:

- blob:             insert the BLOB, later delete it (no scrubbing: the
                    bytes stay in the WAL and in free pages; the old way)
- blob+scrub:       the same with PRAGMA secure_delete and a TRUNCATE
                    checkpoint after each delete, or after every 20 (what the
                    center does: its upkeep truncates once a round)
- file:             a 0600 file written on order, unlinked on settlement
                    (the file's blocks are freed, not overwritten)

    .venv/bin/python benchmarks/pdf_retention.py -n 200
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path


def _db(path: Path, secure: bool) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA secure_delete = {'ON' if secure else 'OFF'}")
    db.execute("CREATE TABLE IF NOT EXISTS order_pdfs (id INTEGER PRIMARY KEY, pdf BLOB)")
    return db


def run_blob(directory: Path, pdfs: list[bytes], scrub: bool,
             truncate_every: int = 1) -> list[float]:
    db = _db(directory / f"blob-{scrub}-{truncate_every}.db", scrub)
    times = []
    for i, pdf in enumerate(pdfs):
        start = time.perf_counter()
        db.execute("BEGIN")
        db.execute("INSERT INTO order_pdfs VALUES (?, ?)", (i, pdf))
        db.execute("COMMIT")
        db.execute("BEGIN")
        db.execute("DELETE FROM order_pdfs WHERE id = ?", (i,))
        db.execute("COMMIT")
        if scrub and (i + 1) % truncate_every == 0:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        times.append(time.perf_counter() - start)
    db.close()
    return times


def run_file(directory: Path, pdfs: list[bytes]) -> list[float]:
    folder = directory / "pdfs"
    folder.mkdir(mode=0o700)
    times = []
    for i, pdf in enumerate(pdfs):
        start = time.perf_counter()
        path = folder / f"{i}.pdf"
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
            handle.flush()
            os.fsync(handle.fileno())  # another worker must find it after a crash of this one
        os.unlink(path)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--size", type=int, default=160_000)
    args = parser.parse_args()
    pdfs = [os.urandom(args.size) for _ in range(args.n)]
    with tempfile.TemporaryDirectory(dir=Path("var") if Path("var").is_dir() else None) as tmp:
        directory = Path(tmp)
        results = {"blob (no scrub)": run_blob(directory, pdfs, False),
                   "blob + secure_delete + TRUNCATE": run_blob(directory, pdfs, True),
                   # The center: the upkeep truncates once a round, not per order.
                   "blob + secure_delete, TRUNCATE/20": run_blob(directory, pdfs, True, 20),
                   "0600 file + fsync + unlink": run_file(directory, pdfs)}
    print(f"{args.n} orders of one {args.size // 1000} KB PDF (store, then forget):")
    for name, times in results.items():
        ms = sorted(t * 1000 for t in times)
        print(f"  {name:34s} median {statistics.median(ms):6.2f} ms   "
              f"p95 {ms[int(len(ms) * 0.95) - 1]:6.2f} ms")


if __name__ == "__main__":
    main()
