"""The JPKI certificate authority for user-authentication certificates
(利用者証明用電子証明書) and the checks the center makes on a card.

In reality J-LIS runs this CA; here the center holds the dev CA key. The
certificate carries no personal data: its subject is a serial only, and the
link from serial to holder lives in the registry (the center's database)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from konbini.problems import Problem

CARD_VALIDITY = timedelta(days=5 * 365)
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class IssuedCard:
    serial: str
    certificate: x509.Certificate
    not_before: datetime
    not_after: datetime

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

# The card refusals in the words a resident reads (``detail`` and ``message``):
# every other refusal of the service already speaks Japanese.
CARD_EXPIRED_JA = ("利用者証明用電子証明書の有効期限が切れています。"
                   "お住まいの市区町村窓口で更新してください。")
CARD_SUSPENDED_JA = ("利用者証明用電子証明書は紛失・盗難の届出により一時停止されています。"
                     "カードが見つかったときは、お住まいの市区町村窓口で停止の解除を申請してください。")
CARD_REVOKED_JA = ("利用者証明用電子証明書は失効しています。"
                   "お住まいの市区町村窓口で電子証明書の再発行を申請してください。")


def serial_hex(certificate: x509.Certificate) -> str:
    return format(certificate.serial_number, "x")


def load_card_public_key(pem: str) -> rsa.RSAPublicKey:
    """A card's key as sent by the municipality: RSA, at least 2048 bits."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError("not a PEM SubjectPublicKeyInfo") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise ValueError("must be an RSA key of at least 2048 bits")
    return key


class JpkiAuthority:
    """Issues card certificates and verifies what a kiosk presents."""

    def __init__(self, ca_key: rsa.RSAPrivateKey, ca_certificate: x509.Certificate) -> None:
        self._ca_key = ca_key
        self.ca_certificate = ca_certificate

    def issue(self, public_key: rsa.RSAPublicKey, *, now: datetime,
              not_before: datetime | None = None, not_after: datetime | None = None) -> IssuedCard:
        serial = secrets.randbits(63) | (1 << 62)
        start = not_before or now - timedelta(minutes=5)
        end = not_after or now + CARD_VALIDITY
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.COMMON_NAME, f"JPKI-UA-{serial:x}"),
            ]))
            .issuer_name(self.ca_certificate.subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(self._ca_key, hashes.SHA256())
        )
        return IssuedCard(format(serial, "x"), certificate,
                          certificate.not_valid_before_utc, certificate.not_valid_after_utc)

    def verify_presented(self, certificate_der: bytes, challenge: bytes, signature: bytes,
                         *, now: datetime) -> x509.Certificate:
        """Check what the card sent: chains to the JPKI CA, signs the
        challenge, and is within its validity. Registry status is the caller's."""
        try:
            certificate = x509.load_der_x509_certificate(certificate_der)
            certificate.verify_directly_issued_by(self.ca_certificate)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise Problem("certificate-untrusted",
                          "the certificate does not chain to the JPKI CA") from exc
        public_key = certificate.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise Problem("certificate-untrusted", "not a user-authentication certificate")
        try:
            public_key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise Problem("signature-invalid",
                          "the signature does not verify for this challenge") from exc
        if now > certificate.not_valid_after_utc:
            raise Problem("card-expired", CARD_EXPIRED_JA + " (expired)",
                          message=CARD_EXPIRED_JA)
        if now < certificate.not_valid_before_utc:
            raise Problem("certificate-untrusted", "the certificate is not yet valid")
        return certificate
