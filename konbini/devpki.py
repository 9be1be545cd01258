"""The development PKI: one command makes everything mutual TLS and JPKI need.

    python -m konbini.devpki --dir var/pki [--municipality 131016 ...]
                             [--terminal ID:CHAIN:STORE ...] [--san HOST_OR_IP ...]

Layout of the directory::

    jpki-ca.key.pem  jpki-ca.cert.pem   JPKI CA for card certificates (RSA 2048)
    tls-ca.key.pem   tls-ca.cert.pem    CA of every TLS certificate (ECDSA P-256)
    center.key.pem   center.cert.pem    CN=center, serverAuth + clientAuth
    municipal/<code>.key.pem  .cert.pem CN=<code>, serverAuth + clientAuth
    kiosk/<id>.key.pem  .cert.pem       CN=<id>, O=<chain>, OU=<store>, clientAuth
    subject-binding.secret             the center's subject-binding secret (issue 14)
    municipal/<code>.subject-binding.key  each municipality's key derived from it

In reality J-LIS runs the JPKI CA and the CAs of LGPKI and the kiosk
operators; here one directory stands for all of them. Running it again only
creates what is missing (or no longer valid), so every service may call
:func:`ensure_dev_pki` at start-up.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
    PublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from konbini import subject_binding
from konbini.files import directory_lock, write_private_file

DEFAULT_MUNICIPALITIES: tuple[str, ...] = ("131016", "452017", "141003")
# One kiosk per chain a tester picks from; smartphone support differs by chain.
DEFAULT_TERMINALS: tuple[tuple[str, str, str], ...] = (
    ("kiosk-0001", "seven-eleven", "store-0001"),
    ("kiosk-0002", "lawson", "store-0002"),
    ("kiosk-0003", "familymart", "store-0003"),
)
BASE_SANS: tuple[str, ...] = ("localhost", "center", "127.0.0.1", "::1")

JPKI_CA_NAME = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "J-LIS (development)"),
    x509.NameAttribute(NameOID.COMMON_NAME, "JPKI User Authentication CA (development)"),
])
TLS_CA_NAME = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "J-LIS (development)"),
    x509.NameAttribute(NameOID.COMMON_NAME, "Konbini TLS CA (development)"),
])

CA_VALIDITY = timedelta(days=20 * 365)
LEAF_VALIDITY = timedelta(days=2 * 365)
# A leaf this close to expiry is re-issued by the next run.
RENEW_BEFORE = timedelta(days=30)
# Backdated so that a service clock started in the recent past (KONBINI_CLOCK)
# still finds the JPKI CA valid; TLS uses the real clock, a day covers skew.
JPKI_BACKDATE = timedelta(days=5 * 365)
TLS_BACKDATE = timedelta(days=1)

_MUNICIPALITY = re.compile(r"[0-9]{6}")
_NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class DevPki:
    """Paths of the dev PKI in ``directory``; see the module docstring."""

    directory: Path
    municipalities: tuple[str, ...] = ()
    terminals: tuple[tuple[str, str, str], ...] = ()
    # Files written by the call that returned this object (empty on a re-run).
    created: tuple[Path, ...] = field(default=(), compare=False)

    @property
    def jpki_ca_key(self) -> Path:
        return self.directory / "jpki-ca.key.pem"

    @property
    def jpki_ca_cert(self) -> Path:
        return self.directory / "jpki-ca.cert.pem"

    @property
    def tls_ca_key(self) -> Path:
        return self.directory / "tls-ca.key.pem"

    @property
    def tls_ca_cert(self) -> Path:
        return self.directory / "tls-ca.cert.pem"

    @property
    def center_cert(self) -> Path:
        return self.directory / "center.cert.pem"

    @property
    def center_key(self) -> Path:
        return self.directory / "center.key.pem"

    def municipal_cert(self, code: str) -> Path:
        return self.directory / "municipal" / f"{_check_municipality(code)}.cert.pem"

    def municipal_key(self, code: str) -> Path:
        return self.directory / "municipal" / f"{_check_municipality(code)}.key.pem"

    def kiosk_cert(self, terminal_id: str) -> Path:
        return self.directory / "kiosk" / f"{_check_part(terminal_id, 'terminal id')}.cert.pem"

    def kiosk_key(self, terminal_id: str) -> Path:
        return self.directory / "kiosk" / f"{_check_part(terminal_id, 'terminal id')}.key.pem"

    @classmethod
    def at(cls, directory: Path) -> DevPki:
        """The PKI already in ``directory``, creating nothing; municipalities
        and terminals are read from the files present."""
        directory = Path(directory)
        codes = tuple(sorted(
            p.name.removesuffix(".cert.pem")
            for p in (directory / "municipal").glob("*.cert.pem")))
        terminals = []
        for path in sorted((directory / "kiosk").glob("*.cert.pem")):
            subject = x509.load_pem_x509_certificate(path.read_bytes()).subject
            terminals.append((_attr(subject, NameOID.COMMON_NAME),
                              _attr(subject, NameOID.ORGANIZATION_NAME),
                              _attr(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)))
        return cls(directory, codes, tuple(terminals))


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _check_municipality(code: str) -> str:
    if not isinstance(code, str) or not _MUNICIPALITY.fullmatch(code):
        raise ValueError(f"municipality code must be 6 digits: {code!r}")
    return code


def _check_part(value: str, what: str) -> str:
    # Terminal ids name files; chains and stores end up in subjects and logs.
    if not isinstance(value, str) or not _NAME_PART.fullmatch(value):
        raise ValueError(f"{what} must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}: {value!r}")
    return value


# --- subjects ---


def center_subject() -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "center")])


def municipal_subject(code: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _check_municipality(code))])


def kiosk_subject(terminal_id: str, chain: str, store_id: str) -> x509.Name:
    """``CN=<terminal id>, O=<chain>, OU=<store id>`` in that order (API.md)."""
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, _check_part(terminal_id, "terminal id")),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _check_part(chain, "chain")),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _check_part(store_id, "store id")),
    ])


# --- files ---


def _write_key(path: Path, key: PrivateKeyTypes) -> None:
    write_private_file(path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600)


def _write_cert(path: Path, certificate: x509.Certificate) -> None:
    write_private_file(path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _load_key(path: Path) -> PrivateKeyTypes:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def load_jpki_ca(directory: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The JPKI CA key and certificate, for the center to issue card certificates."""
    pki = DevPki(Path(directory))
    key = _load_key(pki.jpki_ca_key)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{pki.jpki_ca_key}: not an RSA key")
    return key, _load_cert(pki.jpki_ca_cert)


def load_tls_ca(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The TLS CA key and certificate (tests use it to mint odd certificates)."""
    pki = DevPki(Path(directory))
    key = _load_key(pki.tls_ca_key)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{pki.tls_ca_key}: not an EC key")
    return key, _load_cert(pki.tls_ca_cert)


# --- certificates ---


def _ski(key: CertificatePublicKeyTypes) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key)


def _key_usage(*, signature: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False)


def _self_signed_ca(key: CertificateIssuerPrivateKeyTypes, name: x509.Name,
                    backdate: timedelta) -> x509.Certificate:
    now = datetime.now(UTC)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - backdate)
        .not_valid_after(now + CA_VALIDITY)
        # pathlen 0: the CA signs leaves only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(_ski(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _general_names(sans: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for value in dict.fromkeys(sans):  # de-duplicated, order kept
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            names.append(x509.DNSName(value))
    return names


def _issue_leaf(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
                subject: x509.Name, key: ec.EllipticCurvePrivateKey, *,
                usages: Sequence[x509.ObjectIdentifier], sans: Iterable[str] = (),
                not_before: datetime | None = None,
                not_after: datetime | None = None) -> x509.Certificate:
    now = datetime.now(UTC)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - TLS_BACKDATE)
        .not_valid_after(not_after or now + LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(_ski(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value),
            critical=False)
    )
    names = _general_names(sans)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def issue_tls_client_cert(pki: DevPki, subject: x509.Name, path_prefix: Path, *,
                          not_before: datetime | None = None,
                          not_after: datetime | None = None) -> tuple[Path, Path]:
    """Mint a clientAuth certificate from the TLS CA (e.g. an extra terminal).

    Writes ``<path_prefix>.cert.pem`` and ``<path_prefix>.key.pem``; returns
    ``(cert_path, key_path)``. Always writes, even if the files exist."""
    ca_key, ca_cert = load_tls_ca(pki.directory)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _issue_leaf(ca_key, ca_cert, subject, key,
                              usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
                              not_before=not_before, not_after=not_after)
    prefix = Path(path_prefix)
    cert_path = prefix.with_name(prefix.name + ".cert.pem")
    key_path = prefix.with_name(prefix.name + ".key.pem")
    _write_key(key_path, key)
    _write_cert(cert_path, certificate)
    return cert_path, key_path


# --- ensure ---


class _Run:
    """One ensure_dev_pki run: remembers what it wrote."""

    def __init__(self) -> None:
        self.created: list[Path] = []

    def ca(self, key_path: Path, cert_path: Path, name: x509.Name, backdate: timedelta,
           new_key: type[rsa.RSAPrivateKey] | type[ec.EllipticCurvePrivateKey]
           ) -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]:
        if key_path.exists():
            key = _load_key(key_path)
            if not isinstance(key, new_key):
                raise ValueError(f"{key_path}: unexpected key type")
        elif cert_path.exists():
            # Never replace a CA silently: everything it issued would stop verifying.
            raise ValueError(f"{cert_path} exists without its key {key_path}; "
                             "remove the PKI directory to start over")
        else:
            key = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                   if new_key is rsa.RSAPrivateKey else ec.generate_private_key(ec.SECP256R1()))
            _write_key(key_path, key)
            self.created.append(key_path)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        if cert_path.exists():
            certificate = _load_cert(cert_path)
            if _spki(certificate.public_key()) != _spki(key.public_key()):
                raise ValueError(f"{cert_path} does not match {key_path}")
        else:
            certificate = _self_signed_ca(key, name, backdate)
            _write_cert(cert_path, certificate)
            self.created.append(cert_path)
        return key, certificate

    def leaf(self, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
             key_path: Path, cert_path: Path, subject: x509.Name,
             usages: Sequence[x509.ObjectIdentifier], sans: Sequence[str]) -> None:
        if _leaf_ok(ca_cert, key_path, cert_path, subject, usages, sans):
            return
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _issue_leaf(ca_key, ca_cert, subject, key, usages=usages, sans=sans)
        _write_key(key_path, key)
        _write_cert(cert_path, certificate)
        self.created += [key_path, cert_path]


def _leaf_ok(ca_cert: x509.Certificate, key_path: Path, cert_path: Path, subject: x509.Name,
             usages: Sequence[x509.ObjectIdentifier], sans: Sequence[str]) -> bool:
    """Whether an existing leaf is still right: same CA, key, subject, uses,
    names, and not about to expire. Anything else gets re-issued."""
    if not (key_path.exists() and cert_path.exists()):
        return False
    try:
        certificate = _load_cert(cert_path)
        key = _load_key(key_path)
        certificate.verify_directly_issued_by(ca_cert)
        if _spki(certificate.public_key()) != _spki(key.public_key()):
            return False
        if certificate.subject != subject:
            return False
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if set(eku) != set(usages):
            return False
        present: set[str] = set()
        with contextlib.suppress(x509.ExtensionNotFound):
            san = certificate.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value
            present = {str(n.value) for n in san}
        if present != {str(n.value) for n in _general_names(sans)}:
            return False
        return certificate.not_valid_after_utc - RENEW_BEFORE > datetime.now(UTC)
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False





def ensure_dev_pki(directory: Path, *, municipalities: Iterable[str] = DEFAULT_MUNICIPALITIES,
                   terminals: Iterable[tuple[str, str, str]] = DEFAULT_TERMINALS,
                   extra_sans: Iterable[str] = ()) -> DevPki:
    """Create whatever of the dev PKI is missing in ``directory``; idempotent."""
    directory = Path(directory)
    codes = tuple(dict.fromkeys(_check_municipality(c) for c in municipalities))
    terms = tuple(dict.fromkeys(
        (_check_part(t, "terminal id"), _check_part(c, "chain"), _check_part(s, "store id"))
        for t, c, s in terminals))
    ids = [t for t, _, _ in terms]
    if len(set(ids)) != len(ids):
        raise ValueError("a terminal id appears twice with different chain or store")
    sans = (*BASE_SANS, *extra_sans)
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    pki = DevPki(directory, codes, terms)
    run = _Run()
    with directory_lock(directory):
        run.ca(pki.jpki_ca_key, pki.jpki_ca_cert, JPKI_CA_NAME, JPKI_BACKDATE, rsa.RSAPrivateKey)
        tls_key, tls_cert = run.ca(pki.tls_ca_key, pki.tls_ca_cert, TLS_CA_NAME, TLS_BACKDATE,
                                   ec.EllipticCurvePrivateKey)
        assert isinstance(tls_key, ec.EllipticCurvePrivateKey)
        run.leaf(tls_key, tls_cert, pki.center_key, pki.center_cert, center_subject(),
                 both, sans)
        for code in codes:
            run.leaf(tls_key, tls_cert, pki.municipal_key(code), pki.municipal_cert(code),
                     municipal_subject(code), both, (*sans, f"muni-{code}"))
        for terminal_id, chain, store_id in terms:
            run.leaf(tls_key, tls_cert, pki.kiosk_key(terminal_id), pki.kiosk_cert(terminal_id),
                     kiosk_subject(terminal_id, chain, store_id),
                     [ExtendedKeyUsageOID.CLIENT_AUTH], ())
        # Issue 14: the keyed digests that bind a certificate to its subjects.
        run.created.extend(subject_binding.ensure_keys(directory, codes))
    return DevPki(directory, codes, terms, tuple(run.created))


# --- command line ---


def _terminal(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError("expected ID:CHAIN:STORE")
    try:
        return (_check_part(parts[0], "terminal id"), _check_part(parts[1], "chain"),
                _check_part(parts[2], "store id"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _municipality(text: str) -> str:
    try:
        return _check_municipality(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m konbini.devpki",
                                     description="Create the development PKI (idempotent).")
    parser.add_argument("--dir", type=Path, default=Path("var/pki"),
                        help="PKI directory (default: var/pki)")
    parser.add_argument("--municipality", action="append", type=_municipality, metavar="CODE",
                        help="municipality code; repeat (default: "
                        f"{' '.join(DEFAULT_MUNICIPALITIES)})")
    parser.add_argument("--terminal", action="append", type=_terminal,
                        metavar="ID:CHAIN:STORE", help="kiosk terminal; repeat")
    parser.add_argument("--san", action="append", default=[], metavar="NAME_OR_IP",
                        help="extra subjectAltName for the center and municipal servers")
    args = parser.parse_args(argv)
    try:
        pki = ensure_dev_pki(args.dir,
                             municipalities=args.municipality or DEFAULT_MUNICIPALITIES,
                             terminals=args.terminal or DEFAULT_TERMINALS,
                             extra_sans=args.san)
    except (ValueError, OSError) as exc:
        print(f"devpki: {exc}", file=sys.stderr)
        return 1
    created = set(pki.created)
    wanted = [pki.jpki_ca_cert, pki.tls_ca_cert, pki.center_cert,
              *(pki.municipal_cert(c) for c in pki.municipalities),
              *(pki.kiosk_cert(t) for t, _, _ in pki.terminals)]
    print(f"dev PKI in {pki.directory}")
    for cert in wanted:
        state = "created" if cert in created else "already there"
        print(f"  {state:13}  {cert.relative_to(pki.directory)}")
    print(f"{len(created)} file(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
