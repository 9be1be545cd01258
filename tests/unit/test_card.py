"""The virtual My Number card behaves like the chip: PIN counting, locking,
face-authentication cards, and a private key that never comes out."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from kiosk_sim.card import (
    CardError,
    FaceAuthCard,
    NoCertificate,
    PinIncorrect,
    PinLocked,
    VirtualCard,
)


@pytest.fixture(scope="module")
def template() -> VirtualCard:
    # One key for the module: RSA generation is the slow part, state is per test.
    return VirtualCard.create()


@pytest.fixture
def card(template: VirtualCard) -> VirtualCard:
    return VirtualCard.from_record(template.to_record())


def issue_for(public_key_pem: str) -> x509.Certificate:
    """A throwaway certificate for the card's public key, like the JPKI CA's."""
    issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "card")]))
        .issuer_name(name)
        .public_key(serialization.load_pem_public_key(public_key_pem.encode()))
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(issuer_key, hashes.SHA256())
    )


def test_wrong_pins_count_down_then_lock(card: VirtualCard) -> None:
    with pytest.raises(PinIncorrect) as first:
        card.verify_pin("0000")
    assert first.value.remaining == 2
    with pytest.raises(PinIncorrect) as second:
        card.sign_challenge(b"challenge", "1111")
    assert second.value.remaining == 1
    assert card.pin_remaining == 1
    with pytest.raises(PinLocked):
        card.verify_pin("2222")
    assert card.locked
    assert card.failures == 3
    assert card.pin_remaining == 0


def test_correct_pin_resets_the_counter(card: VirtualCard) -> None:
    for _ in range(2):
        with pytest.raises(PinIncorrect):
            card.verify_pin("9999")
    card.verify_pin("1234")
    assert card.failures == 0
    with pytest.raises(PinIncorrect) as again:
        card.verify_pin("9999")
    assert again.value.remaining == 2


def test_locked_card_refuses_even_the_right_pin(card: VirtualCard) -> None:
    for pin in ("0000", "0001"):
        with pytest.raises(PinIncorrect):
            card.verify_pin(pin)
    with pytest.raises(PinLocked):
        card.verify_pin("0002")
    with pytest.raises(PinLocked):
        card.sign_challenge(b"x", "1234")
    with pytest.raises(PinLocked):
        card.verify_pin(None)  # locked is answered before the PIN is looked at
    assert card.failures == 3


def test_municipal_counter_unlocks(card: VirtualCard) -> None:
    for pin in ("0000", "0001", "0002"):
        with pytest.raises(CardError):
            card.verify_pin(pin)
    card.unlock()
    assert not card.locked
    card.verify_pin("1234")
    card.reset_pin_counter(new_pin="5678")
    with pytest.raises(PinIncorrect):
        card.verify_pin("1234")
    card.verify_pin("5678")


@pytest.mark.parametrize("pin", ["123", "12345", "abcd", "１２３４", "", None])
def test_malformed_pin_is_not_counted(card: VirtualCard, pin: str | None) -> None:
    with pytest.raises(ValueError, match="PIN must be 4 digits"):
        card.sign_challenge(b"x", pin)
    assert card.failures == 0


def test_face_auth_card_refuses() -> None:
    card = VirtualCard.create(credential="face_auth")
    with pytest.raises(FaceAuthCard) as refused:
        card.sign_challenge(b"x", None)
    with pytest.raises(FaceAuthCard):
        card.verify_pin("1234")
    assert refused.value.code == "card-face-auth"
    assert card.failures == 0
    assert card.to_record()["pin"] is None


def test_signature_verifies_with_the_certificate(card: VirtualCard) -> None:
    with pytest.raises(NoCertificate):
        card.certificate_der()
    card.install_certificate(issue_for(card.public_key_pem()).public_bytes(
        serialization.Encoding.PEM).decode())
    certificate = x509.load_der_x509_certificate(card.certificate_der())
    challenge = bytes(range(32))
    signature = card.sign_challenge(challenge, "1234")
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())


def test_certificate_for_a_foreign_key_is_refused(card: VirtualCard) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign = issue_for(other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    with pytest.raises(ValueError):
        card.install_certificate(foreign.public_bytes(serialization.Encoding.DER))
    assert not card.has_certificate


def test_private_key_is_not_reachable(card: VirtualCard) -> None:
    card.install_certificate(issue_for(card.public_key_pem()))
    key = serialization.load_pem_private_key(
        card.to_record()["private_key_pem"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    secret = key.private_numbers().d

    text = repr(card)
    assert "PRIVATE" not in text
    assert str(secret) not in text and format(secret, "x") not in text

    for name, value in vars(card).items():
        if isinstance(value, rsa.RSAPrivateKey):
            assert name.startswith("_"), name
    for name in dir(card):
        if name.startswith("_") or name in {"to_record", "from_record"}:
            continue
        value = getattr(card, name)
        assert not isinstance(value, rsa.RSAPrivateKey), name
        if callable(value) and name in {"public_key_pem", "certificate_der"}:
            assert b"PRIVATE" not in str(value()).encode()

    with pytest.raises(TypeError):
        pickle.dumps(card)
    with pytest.raises(TypeError):
        copy.deepcopy(card)


def test_problem_documents() -> None:
    assert PinIncorrect(2).problem() == {
        "type": "about:blank", "title": "Forbidden", "status": 403, "code": "pin-incorrect",
        "detail": PinIncorrect(2).detail, "remaining": 2,
    }
    locked = PinLocked().problem()
    assert locked["code"] == "pin-locked" and "市区町村窓口" in locked["detail"]
    assert "municipal counter" in locked["detail"]
    assert NoCertificate().problem()["code"] == "card-not-issued"
    assert FaceAuthCard().problem()["status"] == 403


def test_record_round_trip_and_change_hook(card: VirtualCard) -> None:
    seen: list[int] = []
    card.on_change = lambda c: seen.append(c.failures)
    card.verify_pin("1234")  # nothing to reset: no write
    assert seen == []
    with pytest.raises(PinIncorrect):
        card.verify_pin("0000")
    card.install_certificate(issue_for(card.public_key_pem()))
    card.verify_pin("1234")
    with pytest.raises(PinIncorrect):
        card.verify_pin("0000")
    card.reset_pin_counter()
    assert seen == [1, 1, 0, 1, 0]

    with pytest.raises(PinIncorrect):
        card.verify_pin("0000")
    record = json.loads(json.dumps(card.to_record()))
    again = VirtualCard.from_record(record)
    assert again.failures == 1
    assert again.certificate_der() == card.certificate_der()
    assert again.public_key_pem() == card.public_key_pem()


def test_malformed_record_is_refused(card: VirtualCard) -> None:
    record = card.to_record()
    with pytest.raises(ValueError):
        VirtualCard.from_record({**record, "failures": 7})
    with pytest.raises(ValueError):
        VirtualCard.from_record({**record, "credential": "passport"})
    with pytest.raises(ValueError):
        VirtualCard.from_record({k: v for k, v in record.items() if k != "private_key_pem"})
