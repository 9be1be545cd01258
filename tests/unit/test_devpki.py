"""The dev PKI: idempotent, exact subjects, leaves chain to their CA, and
the certificates really do mutual TLS with Python's ssl module."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from konbini.devpki import (
    DevPki,
    ensure_dev_pki,
    issue_tls_client_cert,
    kiosk_subject,
    load_jpki_ca,
    load_tls_ca,
    main,
)
from konbini.subject_binding import municipal_key_path

SERVER = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("pki"),
                          municipalities=["131016", "452017"],
                          terminals=[("kiosk-0001", "seven-eleven", "store-0001")],
                          extra_sans=["konbini.test"])


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def snapshot(directory: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes())
            for p in directory.rglob("*") if p.is_file()}


def eku(certificate: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def sans(certificate: x509.Certificate) -> list[str]:
    value = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(n.value) for n in value]


def test_second_run_changes_nothing(pki: DevPki) -> None:
    before = snapshot(pki.directory)
    again = ensure_dev_pki(pki.directory, municipalities=pki.municipalities,
                           terminals=pki.terminals, extra_sans=["konbini.test"])
    assert again.created == ()
    assert again == pki
    assert snapshot(pki.directory) == before


def test_only_missing_files_are_created(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path, municipalities=["131016"], terminals=[])
    ca_before = first.tls_ca_cert.read_bytes()
    first.municipal_cert("131016").unlink()
    second = ensure_dev_pki(tmp_path, municipalities=["131016", "452017"],
                            terminals=[("k-9", "famima", "s-9")])
    assert set(second.created) == {
        second.municipal_cert("131016"), second.municipal_key("131016"),
        second.municipal_cert("452017"), second.municipal_key("452017"),
        second.kiosk_cert("k-9"), second.kiosk_key("k-9"),
        # Issue 14: the new municipality's subject-binding key.
        municipal_key_path(tmp_path, "452017"),
    }
    assert second.tls_ca_cert.read_bytes() == ca_before
    assert DevPki.at(tmp_path).terminals == (("k-9", "famima", "s-9"),)
    assert DevPki.at(tmp_path).municipalities == ("131016", "452017")


def test_a_ca_certificate_without_its_key_is_not_replaced(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path, municipalities=[], terminals=[])
    pki.jpki_ca_key.unlink()
    with pytest.raises(ValueError, match="without its key"):
        ensure_dev_pki(tmp_path, municipalities=[], terminals=[])


def test_jpki_ca(pki: DevPki) -> None:
    key, certificate = load_jpki_ca(pki.directory)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert certificate.subject == certificate.issuer
    subject = {a.oid: a.value for a in certificate.subject}
    assert subject == {
        NameOID.COMMON_NAME: "JPKI User Authentication CA (development)",
        NameOID.ORGANIZATION_NAME: "J-LIS (development)",
        NameOID.COUNTRY_NAME: "JP",
    }
    assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    life = certificate.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=19 * 365) < life <= timedelta(days=20 * 365 + 1)
    certificate.verify_directly_issued_by(certificate)


def test_tls_subjects_and_uses(pki: DevPki) -> None:
    ca_key, ca = load_tls_ca(pki.directory)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Konbini TLS CA (development)")

    center = cert(pki.center_cert)
    assert center.subject.rfc4514_string() == "CN=center"
    assert eku(center) == {SERVER, CLIENT}
    assert sans(center) == ["localhost", "center", "127.0.0.1", "::1", "konbini.test"]

    municipal = cert(pki.municipal_cert("452017"))
    assert municipal.subject.rfc4514_string() == "CN=452017"
    assert eku(municipal) == {SERVER, CLIENT}
    assert "muni-452017" in sans(municipal) and "127.0.0.1" in sans(municipal)

    kiosk = cert(pki.kiosk_cert("kiosk-0001"))
    assert [(a.oid, a.value) for a in kiosk.subject] == [
        (NameOID.COMMON_NAME, "kiosk-0001"),
        (NameOID.ORGANIZATION_NAME, "seven-eleven"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "store-0001"),
    ]
    assert eku(kiosk) == {CLIENT}

    for leaf in (center, municipal, kiosk):
        leaf.verify_directly_issued_by(ca)
        assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_private_keys_are_0600(pki: DevPki) -> None:
    keys = list(pki.directory.rglob("*.key.pem"))
    assert len(keys) == 2 + 1 + 2 + 1
    for path in keys:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# --- a real mutual-TLS handshake on loopback ---


def handshake(pki: DevPki, load_client: Callable[[ssl.SSLContext], None]) -> dict:
    """Serve once with the center's certificate, requiring a client
    certificate from the TLS CA; return what each side saw."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.center_cert, pki.center_key)
    server_ctx.load_verify_locations(cafile=str(pki.tls_ca_cert))
    server_ctx.verify_mode = ssl.CERT_REQUIRED

    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cafile=str(pki.tls_ca_cert))
    load_client(client_ctx)

    result: dict = {}
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                result["peer"] = tls.getpeercert()
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            result["server_error"] = exc

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            result["server_subject"] = tls.getpeercert()["subject"]
            # TLS 1.3 reports a refused client certificate on the first read.
            result["reply"] = tls.recv(2)
    except (ssl.SSLError, OSError) as exc:
        result["client_error"] = exc
    finally:
        thread.join(timeout=10)
        listener.close()
    return result


def test_mutual_tls_center_and_kiosk(pki: DevPki) -> None:
    result = handshake(pki, lambda ctx: ctx.load_cert_chain(
        pki.kiosk_cert("kiosk-0001"), pki.kiosk_key("kiosk-0001")))
    assert "server_error" not in result and "client_error" not in result
    assert result["reply"] == b"ok"
    assert result["server_subject"] == ((("commonName", "center"),),)
    assert result["peer"]["subject"] == (
        (("commonName", "kiosk-0001"),),
        (("organizationName", "seven-eleven"),),
        (("organizationalUnitName", "store-0001"),),
    )


def test_client_without_certificate_is_refused(pki: DevPki) -> None:
    result = handshake(pki, lambda ctx: None)
    assert isinstance(result.get("server_error"), ssl.SSLError)
    assert "CERTIFICATE" in str(result["server_error"]).upper()
    assert "client_error" in result and "reply" not in result


def test_extra_terminal_from_helper(pki: DevPki, tmp_path: Path) -> None:
    cert_path, key_path = issue_tls_client_cert(
        pki, kiosk_subject("kiosk-9999", "familymart", "store-9999"), tmp_path / "kiosk-9999")
    assert cert_path == tmp_path / "kiosk-9999.cert.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    minted = cert(cert_path)
    minted.verify_directly_issued_by(cert(pki.tls_ca_cert))
    assert eku(minted) == {CLIENT}
    result = handshake(pki, lambda ctx: ctx.load_cert_chain(cert_path, key_path))
    assert result["reply"] == b"ok"
    assert result["peer"]["subject"][0] == (("commonName", "kiosk-9999"),)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dir", str(tmp_path), "--municipality", "131016",
                 "--terminal", "k1:lawson:s1"]) == 0
    out = capsys.readouterr().out
    assert "created" in out and "municipal/131016.cert.pem" in out and "kiosk/k1.cert.pem" in out
    assert main(["--dir", str(tmp_path), "--municipality", "131016",
                 "--terminal", "k1:lawson:s1"]) == 0
    out = capsys.readouterr().out
    assert "0 file(s) written" in out and "already there" in out
    with pytest.raises(SystemExit):
        main(["--dir", str(tmp_path), "--terminal", "no-colons"])


def test_make_pki_gives_a_kiosk_in_every_chain_the_simulator_knows(tmp_path: Path) -> None:
    # `make pki` (no --terminal) must give the kiosk simulator a store of each chain, as
    # the demo does: smartphone support differs by chain, and testers pick the chain.
    from kiosk_sim.stores import CHAIN_NAMES, discover_stores

    ensure_dev_pki(tmp_path, municipalities=["131016"])
    assert {store.chain for store in discover_stores(tmp_path)} == set(CHAIN_NAMES)
