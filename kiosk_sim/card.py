"""The virtual My Number card (個人番号カード) and its user-authentication
certificate (利用者証明用電子証明書), behaving like the real IC chip.

What the chip guarantees, and so does this object:

- the private key is generated inside the card and never leaves it: no
  method returns it; the kiosk only ever gets signatures;
- the card itself checks the 4-digit PIN (暗証番号) and counts consecutive
  failures; the third wrong PIN in a row locks it, and only the municipal
  counter (市区町村窓口) can reset it;
- the certificate is readable without the PIN, the signature needs it;
- a face-authentication card (顔認証マイナンバーカード) has no PIN and cannot
  be used at a kiosk;
- a locked PIN can also be reset without the counter by a holder who knows the
  other PIN, the signature PIN (署名用電子証明書の暗証番号, 6–16 letters and
  digits): reserved on a smartphone with face authentication, finished at a
  Seven-Eleven kiosk within 24 hours (:meth:`VirtualCard.reserve_pin_reset`,
  :meth:`VirtualCard.finish_pin_reset`).

The one place the key is serialised is :meth:`VirtualCard.to_record`, which
stands for the chip's non-volatile memory: the wallet stores it so that the
failure counter survives restarts, like the real chip's EEPROM does.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from konbini.wire import Credential

CREDENTIALS: tuple[str, ...] = tuple(c.value for c in Credential)

MAX_PIN_ATTEMPTS = 3
RECORD_FORMAT = "konbini-virtual-card/1"
_PIN = re.compile(r"[0-9]{4}")
_SIGNATURE_PIN = re.compile(r"[A-Z0-9]{6,16}")
MAX_SIGNATURE_PIN_ATTEMPTS = 5
# A reservation made on the phone is finished at a Seven-Eleven kiosk within 24 hours.
PIN_RESET_WINDOW = timedelta(hours=24)
_CARD_ID = re.compile(r"[0-9a-f]{32}")

ChangeHook = Callable[["VirtualCard"], None]
# Entered around every read-modify-write of the chip's state; yields the latest
# stored record (or None) so that several processes sharing one card agree.
SyncHook = Callable[[], AbstractContextManager[dict[str, Any] | None]]


# --- errors the card answers with (API.md, "The card itself answers the kiosk") ---


class CardError(Exception):
    """An answer from the card that the kiosk shows to the resident."""

    code = "card-error"
    status = HTTPStatus.FORBIDDEN

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem document the kiosk client reports."""
        return {
            "type": "about:blank",
            "title": self.status.phrase,
            "status": int(self.status),
            "code": self.code,
            "detail": self.detail,
            **self.extra,
        }


class PinIncorrect(CardError):
    code = "pin-incorrect"

    def __init__(self, remaining: int) -> None:
        super().__init__(
            f"暗証番号が違います。あと{remaining}回間違えるとロックされます。"
            f" / Incorrect PIN: {remaining} attempt(s) left before the card locks.",
            remaining=remaining,
        )
        self.remaining = remaining


class PinLocked(CardError):
    code = "pin-locked"

    def __init__(self) -> None:
        super().__init__(
            "暗証番号がロックされています。お住まいの市区町村窓口で初期化してください。"
            " / The PIN is locked after three wrong entries;"
            " only the municipal counter can reset it."
        )


class FaceAuthCard(CardError):
    code = "card-face-auth"

    def __init__(self) -> None:
        super().__init__(
            "顔認証マイナンバーカードは暗証番号がないため、コンビニ交付には利用できません。"
            " / A face-authentication card has no PIN and cannot be used here."
        )


class NoCertificate(CardError):
    code = "card-not-issued"

    def __init__(self) -> None:
        super().__init__(
            "利用者証明用電子証明書が搭載されていません。"
            " / No user-authentication certificate is installed on this card."
        )


class PinResetRefused(CardError):
    """The PIN reset at a kiosk cannot go on (no reservation, expired, wrong PIN)."""

    code = "pin-reset-refused"

    def __init__(self, reason: str, message: str, **extra: Any) -> None:
        super().__init__(message, reason=reason, message=message, **extra)
        self.reason = reason


# --- the card ---


def _check_pin_format(pin: object) -> str:
    # The kiosk keypad can only send four digits; anything else is a caller bug,
    # so it is refused without touching the failure counter.
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise ValueError("PIN must be 4 digits")
    return pin


def _load_certificate(data: str | bytes | x509.Certificate) -> x509.Certificate:
    if isinstance(data, x509.Certificate):
        return data
    raw = data.encode("ascii") if isinstance(data, str) else bytes(data)
    if raw.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def _spki(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


class VirtualCard:
    """A My Number card (or smartphone credential) holding an RSA key.

    Build one with :meth:`create` (new chip) or :meth:`from_record` (a chip
    read back from storage), not with the constructor."""

    def __init__(
        self,
        *,
        _key: rsa.RSAPrivateKey,
        credential: str,
        pin: str | None,
        card_id: str,
        failures: int = 0,
        certificate_der: bytes | None = None,
        on_change: ChangeHook | None = None,
        sync: SyncHook | None = None,
    ) -> None:
        if credential not in CREDENTIALS:
            raise ValueError(f"credential must be one of {', '.join(CREDENTIALS)}")
        if credential == "face_auth":
            if pin is not None:
                raise ValueError("a face-authentication card has no PIN")
        else:
            _check_pin_format(pin)
        if not _CARD_ID.fullmatch(card_id):
            raise ValueError("card_id must be 32 hex digits")
        if not isinstance(failures, int) or isinstance(failures, bool) or not (
            0 <= failures <= MAX_PIN_ATTEMPTS
        ):
            raise ValueError(f"failures must be 0..{MAX_PIN_ATTEMPTS}")
        # Name-mangled so it is not even a single-underscore attribute of the instance.
        self.__key = _key
        self.__pin = pin
        self.credential: str = credential
        self.card_id: str = card_id
        self._failures = failures
        self._certificate_der = certificate_der
        self.on_change: ChangeHook | None = on_change
        self.sync: SyncHook | None = sync
        self._syncing = False
        self.__signature_pin: str | None = None
        self._signature_failures = 0
        self._reset_reserved_until: datetime | None = None
        if certificate_der is not None:
            self._check_certificate(_load_certificate(certificate_der))

    # --- construction ---

    @classmethod
    def create(cls, *, credential: str = "card", pin: str | None = "1234",
               key_size: int = 2048, on_change: ChangeHook | None = None,
               sync: SyncHook | None = None) -> VirtualCard:
        """A new card; the key pair is generated inside it (face_auth: no PIN)."""
        if credential == "face_auth":
            pin = None
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        return cls(_key=key, credential=credential, pin=pin, card_id=secrets.token_hex(16),
                   on_change=on_change, sync=sync)

    def to_record(self) -> dict[str, Any]:
        """The chip's non-volatile memory as a JSON-able dict.

        This is the only place the private key is serialised: it exists so the
        wallet can keep the card (and its failure counter) across restarts."""
        key_pem = self.__key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        cert_pem = None
        if self._certificate_der is not None:
            cert_pem = x509.load_der_x509_certificate(self._certificate_der).public_bytes(
                serialization.Encoding.PEM).decode("ascii")
        return {
            "format": RECORD_FORMAT,
            "card_id": self.card_id,
            "credential": self.credential,
            "pin": self.__pin,
            "failures": self._failures,
            "private_key_pem": key_pem,
            "certificate_pem": cert_pem,
            "signature_pin": self.__signature_pin,
            "signature_failures": self._signature_failures,
            "pin_reset_reserved_until": (self._reset_reserved_until.isoformat()
                                         if self._reset_reserved_until else None),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], *, on_change: ChangeHook | None = None,
                    sync: SyncHook | None = None) -> VirtualCard:
        """Rebuild a card from :meth:`to_record`; ValueError if malformed."""
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
            raise ValueError(f"not a {RECORD_FORMAT} record")
        try:
            # The key was generated by this card and only ever stored in its own
            # record, so the (slow, ~50 ms) RSA consistency checks buy nothing.
            key = serialization.load_pem_private_key(
                str(record["private_key_pem"]).encode("ascii"), password=None,
                unsafe_skip_rsa_key_validation=True)
            cert_pem = record.get("certificate_pem")
            cert_der = (None if cert_pem is None
                        else _load_certificate(str(cert_pem)).public_bytes(
                            serialization.Encoding.DER))
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError("the card key must be RSA")
            card = cls(_key=key, credential=record["credential"], pin=record.get("pin"),
                       card_id=record["card_id"], failures=record.get("failures", 0),
                       certificate_der=cert_der, on_change=on_change, sync=sync)
            card._adopt_reset_state(record)
            return card
        except (KeyError, TypeError, UnicodeEncodeError) as exc:
            raise ValueError(f"malformed card record: {exc}") from exc

    # --- keeping several processes in step ---

    @contextmanager
    def _state(self) -> Iterator[None]:
        """Hold the storage lock (if any) and adopt the stored state first.

        Re-entrant: a property read inside an operation does not lock twice."""
        if self.sync is None or self._syncing:
            yield
            return
        with self.sync() as record:
            self._syncing = True
            try:
                if record is not None:
                    self._adopt(record)
                yield
            finally:
                self._syncing = False

    def _adopt(self, record: dict[str, Any]) -> None:
        """Take the stored counter, PIN and certificate (the key never changes)."""
        if record.get("card_id") != self.card_id:
            raise ValueError("the stored record belongs to another card")
        failures = record.get("failures", 0)
        if not isinstance(failures, int) or isinstance(failures, bool) or not (
                0 <= failures <= MAX_PIN_ATTEMPTS):
            raise ValueError(f"failures must be 0..{MAX_PIN_ATTEMPTS}")
        pin = record.get("pin")
        if pin is not None:
            _check_pin_format(pin)
        cert_pem = record.get("certificate_pem")
        cert_der = None
        if cert_pem is not None:
            certificate = _load_certificate(str(cert_pem))
            self._check_certificate(certificate)
            cert_der = certificate.public_bytes(serialization.Encoding.DER)
        self.__pin = pin
        self._failures = failures
        self._certificate_der = cert_der
        self._adopt_reset_state(record)

    def _adopt_reset_state(self, record: dict[str, Any]) -> None:
        """The signature PIN and a PIN-reset reservation (absent on older records)."""
        signature_pin = record.get("signature_pin")
        if signature_pin is not None and not _SIGNATURE_PIN.fullmatch(str(signature_pin)):
            raise ValueError("signature PIN must be 6-16 capital letters and digits")
        failures = record.get("signature_failures", 0)
        if not isinstance(failures, int) or not 0 <= failures <= MAX_SIGNATURE_PIN_ATTEMPTS:
            raise ValueError("signature_failures out of range")
        until = record.get("pin_reset_reserved_until")
        self.__signature_pin = signature_pin
        self._signature_failures = failures
        self._reset_reserved_until = datetime.fromisoformat(until) if until else None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    # --- state ---

    @property
    def failures(self) -> int:
        """Consecutive wrong PINs so far (0..3)."""
        with self._state():
            return self._failures

    @property
    def locked(self) -> bool:
        with self._state():
            return self._failures >= MAX_PIN_ATTEMPTS

    @property
    def pin_remaining(self) -> int:
        """Wrong PINs still allowed before the card locks."""
        with self._state():
            return MAX_PIN_ATTEMPTS - self._failures

    @property
    def has_certificate(self) -> bool:
        with self._state():
            return self._certificate_der is not None

    # --- what the kiosk can do ---

    def public_key_pem(self) -> str:
        """The card's public key, PEM SubjectPublicKeyInfo (for certification)."""
        return self.__key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
        ).decode("ascii")

    def certificate_der(self) -> bytes:
        """The user-authentication certificate; readable without the PIN."""
        with self._state():
            if self._certificate_der is None:
                raise NoCertificate()
            return self._certificate_der

    def verify_pin(self, pin: str | None) -> None:
        """Check the PIN as the chip does; raises a :class:`CardError` if refused."""
        with self._state():
            self._check_pin(pin)

    def sign_challenge(self, challenge: bytes, pin: str | None) -> bytes:
        """RSASSA-PKCS1-v1_5 / SHA-256 signature of ``challenge``, after the PIN."""
        if not isinstance(challenge, bytes | bytearray | memoryview):
            raise TypeError("challenge must be bytes")
        with self._state():
            self._check_pin(pin)
            return self.__key.sign(bytes(challenge), padding.PKCS1v15(), hashes.SHA256())

    def _check_pin(self, pin: str | None) -> None:
        # Order as on the chip: a locked card answers "locked" without looking at
        # the PIN, so a locked card cannot be used as a PIN oracle.
        if self._failures >= MAX_PIN_ATTEMPTS:
            raise PinLocked()
        if self.__pin is None:
            raise FaceAuthCard()
        candidate = _check_pin_format(pin)
        if hmac.compare_digest(candidate, self.__pin):
            if self._failures:
                self._failures = 0
                self._changed()
            return
        self._failures += 1
        self._changed()
        if self._failures >= MAX_PIN_ATTEMPTS:
            raise PinLocked()
        raise PinIncorrect(MAX_PIN_ATTEMPTS - self._failures)

    # --- what the municipality does ---

    def install_certificate(self, certificate: str | bytes | x509.Certificate) -> None:
        """Write the certificate (PEM or DER) the JPKI CA issued for this card's key."""
        parsed = _load_certificate(certificate)
        self._check_certificate(parsed)
        with self._state():
            self._certificate_der = parsed.public_bytes(serialization.Encoding.DER)
            self._changed()

    def _check_certificate(self, certificate: x509.Certificate) -> None:
        if _spki(certificate.public_key()) != _spki(self.__key.public_key()):
            raise ValueError("the certificate is not for this card's key")

    def reset_pin_counter(self, *, new_pin: str | None = None) -> None:
        """The municipal counter's PIN reset (初期化): unlock, optionally a new PIN."""
        with self._state():
            if new_pin is not None:
                if self.__pin is None:
                    raise ValueError("a face-authentication card has no PIN")
                self.__pin = _check_pin_format(new_pin)
            self._failures = 0
            self._changed()

    def set_signature_pin(self, signature_pin: str) -> None:
        """Issuing the signature certificate (署名用電子証明書) with its PIN."""
        if not _SIGNATURE_PIN.fullmatch(signature_pin):
            raise ValueError("signature PIN must be 6-16 capital letters and digits")
        with self._state():
            self.__signature_pin = signature_pin
            self._signature_failures = 0
            self._changed()

    # --- the PIN reset without the counter (スマホで予約 → セブン-イレブンで再設定) ---

    @property
    def pin_reset_reserved_until(self) -> datetime | None:
        with self._state():
            return self._reset_reserved_until

    def reserve_pin_reset(self, signature_pin: str, now: datetime) -> datetime:
        """On the phone, after face authentication: the holder proves the
        signature PIN; the reset may be finished at a kiosk until the returned time."""
        with self._state():
            if self.__signature_pin is None:
                raise PinResetRefused("no-signature-certificate",
                                      "署名用電子証明書が搭載されていないため予約できません。")
            if self._signature_failures >= MAX_SIGNATURE_PIN_ATTEMPTS:
                raise PinResetRefused("signature-pin-locked",
                                      "署名用電子証明書の暗証番号がロックされています。"
                                      "市区町村窓口で初期化してください。")
            if not (isinstance(signature_pin, str)
                    and hmac.compare_digest(signature_pin.encode(),
                                            self.__signature_pin.encode())):
                self._signature_failures += 1
                self._changed()
                left = MAX_SIGNATURE_PIN_ATTEMPTS - self._signature_failures
                raise PinResetRefused("signature-pin-incorrect",
                                      f"署名用電子証明書の暗証番号が違います(残り{left}回)。",
                                      remaining=left)
            self._signature_failures = 0
            self._reset_reserved_until = now + PIN_RESET_WINDOW
            self._changed()
            return self._reset_reserved_until

    def pin_reset_reservation(self, now: datetime) -> str:
        """``reserved`` (finish it now), ``expired``, or ``none``."""
        with self._state():
            until = self._reset_reserved_until
            if until is None:
                return "none"
            return "reserved" if now < until else "expired"

    def finish_pin_reset(self, new_pin: str, now: datetime) -> None:
        """At a Seven-Eleven kiosk: the new PIN, within the reservation's 24 hours."""
        with self._state():
            state = self.pin_reset_reservation(now)
            if state != "reserved":
                raise PinResetRefused(
                    "pin-reset-not-reserved" if state == "none" else "pin-reset-expired",
                    "暗証番号の再設定の予約がありません。" if state == "none" else
                    "暗証番号の再設定の予約から24時間が過ぎました。もう一度予約してください。")
            self.__pin = _check_pin_format(new_pin)
            self._failures = 0
            self._reset_reserved_until = None
            self._changed()

    def unlock(self, *, new_pin: str | None = None) -> None:
        """Same as :meth:`reset_pin_counter`."""
        self.reset_pin_counter(new_pin=new_pin)

    # --- a chip cannot be read out or cloned ---

    def __repr__(self) -> str:
        return (f"VirtualCard(card_id={self.card_id!r}, credential={self.credential!r}, "
                f"failures={self._failures}, certificate={self._certificate_der is not None})")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        # pickle/copy would carry the key out; to_record() is the one deliberate way.
        raise TypeError("a card cannot be copied or pickled; use to_record() for storage")
