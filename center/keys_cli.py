"""``python -m center keys``: the QR signing keys and their scramble secrets, for the
center's operator.

``list`` shows every key with its validity and whether it signs now; ``rotate``
adds a key that signs from now on. A running center takes the new key at its next
certificate (the key directory is the truth), and keeps the old one in its trust
list until the old key's ``not_after``, so certificates already printed still verify
and their scrambled images still open. Back up the whole directory after a rotation.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from konbini.clock import isoformat

from .qr_keys import SHARED_SCRAMBLE_SECRET, QrKey, QrKeyring


def _status(key: QrKey, signing_kid: str | None, now: datetime) -> str:
    if key.kid == signing_kid:
        return "signs"
    if now < key.not_before:
        return "not yet valid"
    return "verifies only" if now < key.not_after else "expired"


def list_keys(directory: Path, now: datetime) -> str:
    """A table of the keys in ``directory`` (made if there are none, as the center does)."""
    ring = QrKeyring.load_or_create(directory, now)
    signing_kid = ring.current(now)[0]
    rows = [("kid", "not before", "not after", "status", "scramble secret")]
    for key in ring.keys:
        own = (directory / f"{key.kid}.scramble.secret").exists()
        rows.append((key.kid, isoformat(key.not_before), isoformat(key.not_after),
                     _status(key, signing_kid, now),
                     "own" if own else f"shared ({SHARED_SCRAMBLE_SECRET})"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                          strict=True)).rstrip()
                     for row in rows)


def rotate_keys(directory: Path, now: datetime) -> str:
    """Add a key that signs from ``now``; what to tell the operator."""
    ring = QrKeyring.load_or_create(directory, now)
    kid = ring.rotate(now)
    return (f"new key {kid} signs from now on, with its own scramble secret; a running "
            f"center takes it at its next certificate. Back up {directory}.")
