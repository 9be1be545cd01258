"""The center's QR signing keys: they sign the JWS in every certificate's QR code.

Each key comes with its own scramble secret: the scrambled images (スクランブル画像)
of the certificates a key signs are keyed by HMAC(that secret, certificate id), and
the token's ``kid`` says which secret to use when a relying party's scan comes back.
So a rotation also rotates the secret, and a leaked secret unscrambles one key's
period only.

On disk, one directory (back it up whole: losing it makes printed certificates
unverifiable and their scrambled images unreadable)::

    keys.json               [{"kid", "not_before", "not_after", "development"}, ...]
                            in creation order
    <kid>.key.pem           the P-256 private key, PKCS#8, mode 0600
    <kid>.scramble.secret   32 random bytes, mode 0600
    scramble.secret         the one secret of keys made before secrets were per key

Rotation: ``rotate`` adds a key that signs from then on; older keys stay in the
trust list until their ``not_after`` so certificates already printed still verify.
The directory is the truth: a running center sees a key another process added
(``python -m center keys rotate``) at its next use of the ring.

Development keys (開発用の鍵): every key is one unless made for production
(``python -m center keys rotate --production``). A certificate signed with a development
key is a sample: the center marks both its pages 見本 and the inquiry site says so. The
demo, the tests and a fresh center make development keys; a key listed without the flag
(made before there was one) counts as a development key, the safe side.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from konbini.clock import TOKYO, isoformat, parse_instant
from konbini.files import directory_lock, write_private_file
from konbini.jws import ALG, public_key_to_b64

METADATA = "keys.json"
VALIDITY = timedelta(days=2 * 365)
# not_before is set a day before creation, like the dev TLS certificates: the services'
# clocks may differ a little, and a test clock is often moved back a few hours.
BACKDATE = timedelta(days=1)
_KID = re.compile(r"qr-\d{4}-\d{2}-[0-9a-f]{8}")
SCRAMBLE_SECRET_BYTES = 32
# Keys made before each key had its own secret share this one.
SHARED_SCRAMBLE_SECRET = "scramble.secret"


class NoCurrentKey(LookupError):
    """No QR signing key is valid at the requested instant."""


@dataclass(frozen=True)
class QrKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    not_before: datetime
    not_after: datetime
    # Never in a repr: a key object may end up in a log line or a traceback.
    scramble_secret: bytes = field(repr=False)
    # A development key signs samples only (見本): see the module docstring.
    development: bool = True

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def valid_at(self, instant: datetime) -> bool:
        return self.not_before <= instant < self.not_after

    def trust_entry(self) -> dict[str, str | bool]:
        # ``development`` (an addition): a relying party checking offline can tell a
        # sample (見本) from a certificate without asking the inquiry site.
        return {"kid": self.kid, "alg": ALG, "public_key": public_key_to_b64(self.public_key),
                "not_before": isoformat(self.not_before), "not_after": isoformat(self.not_after),
                "development": self.development}


def _fingerprint(key: ec.EllipticCurvePublicKey) -> str:
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()[:8]


def make_kid(key: ec.EllipticCurvePublicKey, created: datetime) -> str:
    """``qr-<year>-<month>-<8 hex of SHA-256 of the DER public key>``: readable and unique."""
    return f"qr-{_aware(created).astimezone(TOKYO):%Y-%m}-{_fingerprint(key)}"


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("key validity needs an aware datetime")
    return instant


class QrKeyring:
    """The QR signing keys of one center (証明書交付センター); safe to share between threads."""

    def __init__(self, directory: Path, keys: tuple[QrKey, ...]) -> None:
        self._directory = Path(directory)
        self._keys = keys  # replaced, never mutated: readers need no lock
        self._lock = threading.Lock()
        self._seen = self._metadata_version()

    def _metadata_version(self) -> tuple[int, int] | None:
        try:
            stat = (self._directory / METADATA).stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _fresh(self) -> tuple[QrKey, ...]:
        """The keys, reloaded first if another process changed the directory (one stat)."""
        if self._metadata_version() != self._seen:
            with self._lock, directory_lock(self._directory):
                self._seen = self._metadata_version()
                self._keys = _load(self._directory)
        return self._keys

    @classmethod
    def load_or_create(cls, directory: Path, now: datetime,
                       development: bool = True) -> QrKeyring:
        """Load the keys in ``directory``; create a first key (a development key unless
        ``development`` is False) if none is valid at ``now``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with directory_lock(directory):
            ring = cls(directory, _load(directory))
            if not any(k.valid_at(_aware(now)) for k in ring._keys):
                ring._add(now, development)
        return ring

    @property
    def keys(self) -> tuple[QrKey, ...]:
        """All keys, oldest first (expired ones included, for inspection)."""
        return self._fresh()

    def current(self, now: datetime) -> tuple[str, ec.EllipticCurvePrivateKey]:
        """The newest key valid at ``now``, as ``(kid, private key)``, to sign with."""
        _aware(now)
        for key in reversed(self._fresh()):
            if key.valid_at(now):
                return key.kid, key.private_key
        raise NoCurrentKey(f"no QR signing key is valid at {isoformat(now)}")

    def rotate(self, now: datetime, development: bool | None = None) -> str:
        """Add a new key that signs from ``now`` on; returns its kid. ``development``
        None: of the same kind as the newest key (a development key in an empty ring)."""
        with self._lock, directory_lock(self._directory):
            # Disk is the truth: another process may have rotated since we loaded.
            self._keys = _load(self._directory)
            if development is None:
                development = self._keys[-1].development if self._keys else True
            return self._add(now, development).kid

    def is_development(self, kid: str) -> bool:
        """Whether key ``kid`` is a development key (its certificates are samples, 見本);
        KeyError if the ring has no such key."""
        for key in self._fresh():
            if key.kid == kid:
                return key.development
        raise KeyError(kid)

    def scramble_secret(self, kid: str) -> bytes:
        """The scramble secret of the certificates key ``kid`` signs; KeyError if the
        ring has no such key."""
        for key in self._fresh():
            if key.kid == kid:
                return key.scramble_secret
        raise KeyError(kid)

    def public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        """kid → public key for every key, to verify tokens with."""
        return {key.kid: key.public_key for key in self._fresh()}

    def trust_list(self, now: datetime | None = None) -> dict[str, Any]:
        """The body of ``GET /v1/trust-list``; with ``now``, keys past not_after are left out."""
        keys = self._fresh() if now is None else tuple(
            k for k in self._fresh() if _aware(now) < k.not_after)
        return {"keys": [key.trust_entry() for key in keys]}

    def _add(self, now: datetime, development: bool) -> QrKey:
        start = _aware(now).replace(microsecond=0) - BACKDATE
        taken = {k.kid for k in self._keys}
        while True:  # 32 bits of hash: a clash within one month is unlikely, not impossible
            private_key = ec.generate_private_key(ec.SECP256R1())
            kid = make_kid(private_key.public_key(), now)
            if kid not in taken:
                break
        key = QrKey(kid, private_key, start, start + VALIDITY,
                    os.urandom(SCRAMBLE_SECRET_BYTES), development)
        # The key's files first, then the metadata that names it: a crash leaves at worst
        # unlisted files, never a listed key without its files.
        write_private_file(self._directory / f"{key.kid}.key.pem", private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), 0o600)
        write_private_file(self._directory / f"{key.kid}.scramble.secret",
                           key.scramble_secret, 0o600)
        keys = (*self._keys, key)
        write_private_file(self._directory / METADATA, (json.dumps([
            {"kid": k.kid, "not_before": isoformat(k.not_before),
             "not_after": isoformat(k.not_after), "development": k.development}
            for k in keys], indent=2) + "\n").encode(),
            0o644)
        self._keys = keys
        self._seen = self._metadata_version()
        return key


def _load(directory: Path) -> tuple[QrKey, ...]:
    path = directory / METADATA
    if not path.exists():
        return ()
    entries = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of keys")
    keys: list[QrKey] = []
    for entry in entries:
        kid = entry["kid"]
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise ValueError(f"{path}: bad kid {kid!r}")
        private_key = serialization.load_pem_private_key(
            (directory / f"{kid}.key.pem").read_bytes(), password=None)
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
                private_key.curve, ec.SECP256R1):
            raise ValueError(f"{kid}: not a P-256 key")
        # The kid carries a hash of the public key: a swapped file is caught here, not
        # by relying parties whose checks would start failing.
        if not kid.endswith("-" + _fingerprint(private_key.public_key())):
            raise ValueError(f"{kid}: the key file does not match its kid")
        development = entry.get("development", True)
        if not isinstance(development, bool):
            raise ValueError(f"{path}: {kid}: development must be true or false")
        keys.append(QrKey(kid, private_key, parse_instant(entry["not_before"]),
                          parse_instant(entry["not_after"]), _scramble_secret(directory, kid),
                          development))
    return tuple(keys)


def _scramble_secret(directory: Path, kid: str) -> bytes:
    """Key ``kid``'s own secret; for a key made before secrets were per key, the shared
    one (made on the first start of such a center, and made now if it never was)."""
    own = directory / f"{kid}.scramble.secret"
    path = own if own.exists() else directory / SHARED_SCRAMBLE_SECRET
    if not path.exists():
        write_private_file(path, os.urandom(SCRAMBLE_SECRET_BYTES), 0o600)
    secret = path.read_bytes()
    if len(secret) != SCRAMBLE_SECRET_BYTES:
        raise ValueError(f"{path}: a scramble secret is {SCRAMBLE_SECRET_BYTES} bytes")
    return secret


