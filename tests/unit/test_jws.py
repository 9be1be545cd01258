"""Compact JWS with ES256: what a relying party's offline check accepts and refuses."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from konbini.b64 import b64url_decode, b64url_encode
from konbini.jws import (
    JWSError,
    peek_header,
    public_key_from_b64,
    public_key_to_b64,
    sign_es256,
    unverified_claims,
    verify_es256,
)

KID = "qr-2026-11-0123abcd"
CLAIMS = {"cid": "c0ffee", "num": "131016-2026-000123", "typ": "juminhyo", "mun": "131016",
          "iat": 1795483200, "dig": b64url_encode(bytes(32))}


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def keys(key: ec.EllipticCurvePrivateKey) -> dict[str, ec.EllipticCurvePublicKey]:
    return {KID: key.public_key()}


def _segments(token: str) -> list[str]:
    return token.split(".")


def _json_segment(value: dict) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def test_round_trip(key: ec.EllipticCurvePrivateKey,
                    keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    token = sign_es256(CLAIMS, key, KID)
    header, claims = verify_es256(token, keys)
    assert header == {"alg": "ES256", "kid": KID}
    assert claims == CLAIMS
    assert peek_header(token) == header
    assert unverified_claims(token) == CLAIMS


def test_the_token_is_compact_and_canonical(key: ec.EllipticCurvePrivateKey) -> None:
    header, payload, signature = _segments(sign_es256(CLAIMS, key, KID))
    assert b64url_decode(header) == b'{"alg":"ES256","kid":"qr-2026-11-0123abcd"}'
    # Sorted keys, no spaces: the same claims always give the same payload text.
    assert b64url_decode(payload) == json.dumps(CLAIMS, sort_keys=True,
                                                separators=(",", ":")).encode()
    assert len(b64url_decode(signature)) == 64  # raw r || s, not DER
    assert "=" not in header + payload + signature


def test_signature_is_standard_ecdsa_over_the_signing_input(
        key: ec.EllipticCurvePrivateKey) -> None:
    # An independent check of the JWS signature form (RFC 7518 §3.4).
    header, payload, signature = _segments(sign_es256(CLAIMS, key, KID))
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key().verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))


def test_tampered_payload(key: ec.EllipticCurvePrivateKey,
                          keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    header, _, signature = _segments(sign_es256(CLAIMS, key, KID))
    forged = _json_segment({**CLAIMS, "num": "131016-2026-999999"})
    with pytest.raises(JWSError, match="bad signature"):
        verify_es256(f"{header}.{forged}.{signature}", keys)


def test_tampered_signature(key: ec.EllipticCurvePrivateKey,
                            keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    header, payload, signature = _segments(sign_es256(CLAIMS, key, KID))
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x01
    with pytest.raises(JWSError, match="bad signature"):
        verify_es256(f"{header}.{payload}.{b64url_encode(bytes(raw))}", keys)


def test_a_der_signature_is_refused(key: ec.EllipticCurvePrivateKey,
                                    keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    header, payload, _ = _segments(sign_es256(CLAIMS, key, KID))
    der = key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(JWSError, match="64 bytes"):
        verify_es256(f"{header}.{payload}.{b64url_encode(der)}", keys)


def test_another_key_with_the_same_kid(keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    impostor = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(JWSError, match="bad signature"):
        verify_es256(sign_es256(CLAIMS, impostor, KID), keys)


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "ES384", "RS256", None])
def test_other_algorithms_are_refused(alg: str | None, key: ec.EllipticCurvePrivateKey,
                                      keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    _, payload, signature = _segments(sign_es256(CLAIMS, key, KID))
    header = _json_segment({"alg": alg, "kid": KID})
    for sig in (signature, ""):  # "none" tokens come with an empty signature
        with pytest.raises(JWSError, match="alg"):
            verify_es256(f"{header}.{payload}.{sig}", keys)


def test_unknown_kid(key: ec.EllipticCurvePrivateKey,
                     keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    with pytest.raises(JWSError, match="unknown kid"):
        verify_es256(sign_es256(CLAIMS, key, "qr-2020-01-deadbeef"), keys)


def test_missing_kid(key: ec.EllipticCurvePrivateKey,
                     keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    _, payload, signature = _segments(sign_es256(CLAIMS, key, KID))
    with pytest.raises(JWSError, match="kid"):
        verify_es256(f"{_json_segment({'alg': 'ES256'})}.{payload}.{signature}", keys)


def test_critical_extensions_are_refused(key: ec.EllipticCurvePrivateKey,
                                         keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    _, payload, signature = _segments(sign_es256(CLAIMS, key, KID))
    header = _json_segment({"alg": "ES256", "kid": KID, "crit": ["exp"], "exp": 1})
    with pytest.raises(JWSError, match="critical"):
        verify_es256(f"{header}.{payload}.{signature}", keys)


@pytest.mark.parametrize("token", [
    "",
    "abc",
    "a.b",
    "a.b.c.d",
    "!!!.e30.AAAA",
    "e30=.e30.AAAA",  # padding is not compact serialisation
    "W10.e30.AAAA",  # the header is a JSON array
    "bm90IGpzb24.e30.AAAA",  # the header is not JSON
    "x" * 5000,
])
def test_malformed_tokens(token: str, keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    with pytest.raises(JWSError, match="malformed"):
        verify_es256(token, keys)


def test_duplicate_header_members_are_refused(
        keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    header = b64url_encode(b'{"alg":"none","alg":"ES256","kid":"' + KID.encode() + b'"}')
    with pytest.raises(JWSError, match="duplicate"):
        verify_es256(f"{header}.e30.AAAA", keys)


def test_jws_error_is_a_value_error() -> None:
    assert issubclass(JWSError, ValueError)


def test_only_p256_keys_sign() -> None:
    with pytest.raises(ValueError, match="P-256"):
        sign_es256(CLAIMS, ec.generate_private_key(ec.SECP384R1()), KID)


def test_public_key_b64_is_der_spki(key: ec.EllipticCurvePrivateKey) -> None:
    text = public_key_to_b64(key.public_key())
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    assert b64url_decode(text) == der
    assert public_key_from_b64(text).public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize("text", ["", "not base64!", b64url_encode(b"\x30\x03\x02\x01\x01")])
def test_public_key_from_garbage(text: str) -> None:
    with pytest.raises(JWSError):
        public_key_from_b64(text)


def test_public_key_of_another_curve_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = other.public_bytes(serialization.Encoding.DER,
                             serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(JWSError, match="P-256"):
        public_key_from_b64(b64url_encode(der))
