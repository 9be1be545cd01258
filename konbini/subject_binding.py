"""Subject binding (交付対象者の結び付け): whose a certificate is, written into every
page as it is rendered, so the center can check it against the cardholder.

The municipal server draws, on each page of a certificate, an invisible PDF
marked-content sequence (ISO 32000 §14.6; no ink, no text to extract)::

    /KonbiniSubject <</No (131016-2026-0000042) /Type /juminhyo /Page 1 /Pages 2
                      /Subjects [<9f…> <03…>]>> BDC EMC

``Subjects`` are keyed digests of the resident codes (住民票コード) of the persons
the page was rendered from: HMAC-SHA-256 under a key shared by the center and
that municipality, over the certificate number and the code. The code itself is
never written (DESIGN.md: never printed), and without the key a digest says
nothing; salted by the number, two certificates of one person do not link.

The key of a municipality is derived from the center's binding secret
(``subject_key``); the dev PKI writes the secret for the center and each
municipality's derived key beside its TLS key (in reality J-LIS would hand it
over with the LGWAN certificate).

Shared by both services: the municipal server writes the marks, the center
reads and checks them (``center.subject_binding``)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from konbini.files import write_private_file

MARK_TAG = "KonbiniSubject"
KEY_BYTES = 32
# 128 bits of HMAC-SHA-256: unforgeable without the key, short on the page.
TAG_HEX = 32
_NUMBER = re.compile(r"^[0-9A-Za-z-]{1,64}$")
_TYPE = re.compile(r"^[a-z_]{1,40}$")
_TAG = re.compile(f"^[0-9a-f]{{{TAG_HEX}}}$")


def subject_key(secret: bytes, municipality_code: str) -> bytes:
    """Municipality ``municipality_code``'s binding key, from the center's secret."""
    if len(secret) < 16:
        raise ValueError("the subject-binding secret must be at least 16 bytes")
    return HKDF(hashes.SHA256(), KEY_BYTES, salt=None,
                info=b"konbini subject binding v1\x00" + municipality_code.encode()
                ).derive(secret)


def subject_tag(key: bytes, certificate_number: str, resident_code: str) -> str:
    """The keyed digest of one subject of certificate ``certificate_number``."""
    message = f"{certificate_number}\x00{resident_code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:TAG_HEX]


@dataclass(frozen=True, slots=True)
class PageMark:
    """What one page says about itself."""

    certificate_number: str
    cert_type: str
    page: int  # 1-based
    pages: int
    subjects: tuple[str, ...]  # subject_tag()s

    def operators(self) -> str:
        """The marked-content sequence for the page's content stream."""
        if not (_NUMBER.match(self.certificate_number) and _TYPE.match(self.cert_type)
                and 1 <= self.page <= self.pages
                and all(_TAG.match(t) for t in self.subjects)):
            raise ValueError("a subject mark of unexpected shape")
        subjects = " ".join(f"<{t}>" for t in self.subjects)
        return (f"/{MARK_TAG} <</No ({self.certificate_number}) /Type /{self.cert_type} "
                f"/Page {self.page} /Pages {self.pages} /Subjects [{subjects} ]>> BDC EMC")


# -- the key files of the dev PKI --------------------------------------------------------

def center_secret_path(pki_dir: Path) -> Path:
    return Path(pki_dir) / "subject-binding.secret"


def municipal_key_path(pki_dir: Path, municipality_code: str) -> Path:
    return Path(pki_dir) / "municipal" / f"{municipality_code}.subject-binding.key"


def ensure_keys(pki_dir: Path, municipality_codes: tuple[str, ...] | list[str]
                ) -> list[Path]:
    """Create the center's secret and each municipality's key where missing; the
    files written. Idempotent (called under the dev PKI's directory lock)."""
    created = []
    secret_path = center_secret_path(pki_dir)
    if not secret_path.exists():
        write_private_file(secret_path, secrets.token_bytes(KEY_BYTES))
        created.append(secret_path)
    secret = secret_path.read_bytes()
    for code in municipality_codes:
        path = municipal_key_path(pki_dir, code)
        key = subject_key(secret, code)
        if not path.exists() or path.read_bytes() != key:
            write_private_file(path, key)
            created.append(path)
    return created


def load_center_secret(pki_dir: Path) -> bytes | None:
    """The center's secret, or None where the PKI has none."""
    path = center_secret_path(pki_dir)
    return path.read_bytes() if path.exists() else None


def load_municipal_key(pki_dir: Path, municipality_code: str) -> bytes | None:
    """A municipal server's own key, or None where the PKI has none (it then writes
    no marks, and the center refuses its certificates)."""
    path = municipal_key_path(pki_dir, municipality_code)
    return path.read_bytes() if path.exists() else None
