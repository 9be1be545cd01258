"""``python -m center keys``: the QR signing keys and their scramble secrets, for the
center's operator.

``list`` shows every key with its validity, whether it signs now and whether it is a
development key; ``rotate`` adds a key that signs from now on, of the same kind as the
last one, and ``rotate --production`` a production key: certificates it signs carry no
見本 mark. Every key a center makes by itself (first start, the demo) is a development
key. A running center takes the new key at its next
certificate (the key directory is the truth), and keeps the old one in its trust
list until the old key's ``not_after``, so certificates already printed still verify
and their scrambled images still open. Back up the whole directory after a rotation.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from konbini.clock import isoformat

from .qr_keys import METADATA, SHARED_SCRAMBLE_SECRET, QrKey, QrKeyring


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
    rows = [("kid", "not before", "not after", "status", "kind", "scramble secret")]
    for key in ring.keys:
        own = (directory / f"{key.kid}.scramble.secret").exists()
        rows.append((key.kid, isoformat(key.not_before), isoformat(key.not_after),
                     _status(key, signing_kid, now),
                     "development (見本)" if key.development else "production",
                     "own" if own else f"shared ({SHARED_SCRAMBLE_SECRET})"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                          strict=True)).rstrip()
                     for row in rows)


def rotate_keys(directory: Path, now: datetime, production: bool = False) -> str:
    """Add a key that signs from ``now`` (a production key with ``production``, else of
    the same kind as the last); what to tell the operator."""
    empty = not (directory / METADATA).exists()
    ring = QrKeyring.load_or_create(directory, now, development=not production)
    if empty:  # the key just made is the new one: no development key first
        kid = ring.current(now)[0]
    else:
        kid = ring.rotate(now, development=False if production else None)
    kind = ("a development key: its certificates are marked 見本 (sample)"
            if ring.is_development(kid) else "a production key: no 見本 mark")
    return (f"new key {kid} signs from now on, with its own scramble secret; {kind}. A "
            f"running center takes it at its next certificate. Back up {directory}.")
