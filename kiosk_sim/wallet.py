"""The tester's wallet of persona cards (DESIGN.md section 5).

One JSON file per card, ``<key>.json``, holding the card's chip memory
(:meth:`VirtualCard.to_record`) and what the tester sees: the persona key,
a display label such as 「霞 太郎」, the municipality and resident codes.

A card taken out with :meth:`Wallet.get` writes itself back after every
state change, so a PIN failure counted in one process is seen by the next,
as with a real card that moves from kiosk to kiosk. Each read-modify-write
holds an ``fcntl.flock`` on ``.locks/<key>.lock``; the data file itself is
replaced atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from konbini.files import write_private_file

from .card import MAX_PIN_ATTEMPTS, VirtualCard

log = logging.getLogger(__name__)

ENTRY_FORMAT = "konbini-wallet-entry/1"
_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class WalletEntry:
    """What the tester's card picker shows for one card."""

    key: str
    label: str | None
    credential: str
    municipality_code: str | None
    resident_code: str | None
    locked: bool


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError("wallet key must match ^[a-z0-9][a-z0-9-]{0,63}$")
    return key


class _FileLock:
    """An exclusive flock on one lock file, re-entrant within this object.

    Re-entrancy matters: the card's sync hook holds the lock while the card
    calls ``on_change``, which must not try to take it a second time (flock
    on a second descriptor of the same file would wait for ourselves)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._guard = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._guard:
            if self._depth == 0:
                fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
                self._fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = None


class Wallet:
    """A directory of virtual cards keyed by persona key (e.g. ``kasumi-taro``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_dir = self.directory / ".locks"
        self._lock_dir.mkdir(mode=0o700, exist_ok=True)
        self._locks: dict[str, _FileLock] = {}
        self._locks_guard = threading.Lock()

    # --- files ---

    def _path(self, key: str) -> Path:
        return self.directory / f"{_check_key(key)}.json"

    def _lock(self, key: str) -> _FileLock:
        # One lock object per key and wallet, shared by every card handed out,
        # so re-entrancy works across them.
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = _FileLock(self._lock_dir / f"{_check_key(key)}.lock")
            return lock

    def _read(self, key: str) -> dict[str, Any]:
        try:
            text = self._path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyError(key) from None
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != ENTRY_FORMAT:
            raise ValueError(f"{key}: not a {ENTRY_FORMAT} file")
        return document

    def _write(self, key: str, document: dict[str, Any]) -> None:
        # 0600 and atomic: the record holds the chip's private key and counter.
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        write_private_file(self._path(key), text.encode("utf-8"))

    # --- API ---

    def put(self, key: str, card: VirtualCard, *, label: str | None = None,
            municipality_code: str | None = None, resident_code: str | None = None) -> None:
        """Store ``card`` under ``key``, replacing any card stored there.

        ``card`` itself is not attached to the file: use :meth:`get` for a
        card that writes its state back."""
        _check_key(key)
        if not isinstance(card, VirtualCard):
            raise TypeError("card must be a VirtualCard")
        document = {
            "format": ENTRY_FORMAT,
            "persona": key,
            "label": label,
            "municipality_code": municipality_code,
            "resident_code": resident_code,
            "card": card.to_record(),
        }
        with self._lock(key).hold():
            self._write(key, document)

    def get(self, key: str) -> VirtualCard:
        """The card under ``key`` (KeyError if none), persisting every change."""
        lock = self._lock(key)

        @contextlib.contextmanager
        def sync() -> Iterator[dict[str, Any] | None]:
            with lock.hold():
                yield self._read(key)["card"]

        def on_change(card: VirtualCard) -> None:
            with lock.hold():
                document = self._read(key)
                if document["card"].get("card_id") != card.card_id:
                    raise ValueError(f"{key}: the wallet now holds another card")
                document["card"] = card.to_record()
                self._write(key, document)

        with lock.hold():
            record = self._read(key)["card"]
            return VirtualCard.from_record(record, on_change=on_change, sync=sync)

    def entry(self, key: str) -> WalletEntry:
        """The metadata of one card (KeyError if none)."""
        return self._entry(key, self._read(key))

    def entries(self) -> list[WalletEntry]:
        """Every card, sorted by key; unreadable files are skipped with a warning."""
        result: list[WalletEntry] = []
        for path in sorted(self.directory.glob("*.json")):
            key = path.stem
            if not _KEY.fullmatch(key):
                continue
            try:
                result.append(self._entry(key, self._read(key)))
            except KeyError:
                continue  # removed while we were listing
            except (ValueError, TypeError, AttributeError) as exc:
                log.warning("wallet: skipping %s: %s", path, exc)
        return result

    @staticmethod
    def _entry(key: str, document: dict[str, Any]) -> WalletEntry:
        card = document["card"]
        return WalletEntry(
            key=key,
            label=document.get("label"),
            credential=str(card["credential"]),
            municipality_code=document.get("municipality_code"),
            resident_code=document.get("resident_code"),
            locked=int(card.get("failures", 0)) >= MAX_PIN_ATTEMPTS,
        )

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            return False
        return self._path(key).is_file()

    def remove(self, key: str) -> None:
        """Take the card out of the wallet (KeyError if none)."""
        with self._lock(key).hold():
            try:
                self._path(key).unlink()
            except FileNotFoundError:
                raise KeyError(key) from None
        # The lock file stays: deleting it while another process waits on it
        # would let two processes hold "the" lock at once.
