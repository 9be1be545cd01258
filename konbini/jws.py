"""Compact JWS (RFC 7515) with ES256 only: the signature in every certificate's QR code.

Written against ``cryptography`` alone so the whole check is visible here: a relying
party (a bank, a notary) verifies a token offline with the keys of the center's
trust list (``GET /v1/trust-list``). Only ES256 is accepted; ``alg`` comes from the
attacker-controlled header, so anything else ("none", HS256 with the public key as
secret, ...) is refused before any key is touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from konbini.b64 import b64url_decode, b64url_encode

ALG = "ES256"
# A QR code holds at most 2,953 bytes; anything much longer is not one of ours and is
# refused before parsing (the inquiry site feeds us whatever a scan contains).
MAX_TOKEN_LENGTH = 4096
_COORDINATE_BYTES = 32  # P-256: r and s are 32-byte big-endian integers


class JWSError(ValueError):
    """The token is malformed, uses another algorithm, names an unknown key or is forged."""


def _json(value: Mapping[str, Any]) -> bytes:
    # Sorted keys and compact separators: the same claims always give the same token text.
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def _check_p256(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> None:
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"ES256 needs a P-256 key, not {key.curve.name}")


def _ecdsa() -> ec.ECDSA:
    # RFC 6979 deterministic nonces where OpenSSL offers them: a weak RNG cannot leak the key.
    try:
        algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
        probe = ec.derive_private_key(1, ec.SECP256R1())
        probe.sign(b"", algorithm)
    except UnsupportedAlgorithm:
        return ec.ECDSA(hashes.SHA256())
    return algorithm


_ECDSA = _ecdsa()


def sign_es256(claims: Mapping[str, Any], key: ec.EllipticCurvePrivateKey, kid: str) -> str:
    """Sign ``claims`` as a compact JWS with header ``{"alg":"ES256","kid":kid}``.

    The signature is the JWS form, raw ``r || s`` (64 bytes), not DER."""
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("ES256 needs an EC private key")
    _check_p256(key)
    if not isinstance(kid, str) or not kid:
        raise ValueError("kid must be a non-empty string")
    signing_input = (b64url_encode(_json({"alg": ALG, "kid": kid})) + "."
                     + b64url_encode(_json(claims)))
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), _ECDSA))
    signature = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
    return signing_input + "." + b64url_encode(signature)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 §4: a header with a duplicate name must be rejected (or the last one
    # taken); rejecting means two parsers can never disagree about what was signed.
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise JWSError(f"duplicate member {name!r}")
        result[name] = value
    return result


def _segment(text: str, what: str) -> bytes:
    try:
        data = b64url_decode(text)
    except ValueError as exc:
        raise JWSError(f"malformed token: the {what} is not base64url") from exc
    # Only the canonical encoding (no padding, no stray bits) is accepted, so one
    # signature has exactly one token text.
    if b64url_encode(data) != text:
        raise JWSError(f"malformed token: the {what} is not canonical base64url")
    return data


def _object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                           parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JWSError(f"malformed token: the {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JWSError(f"malformed token: the {what} is not a JSON object")
    return value


def _reject_constant(name: str) -> Any:
    raise JWSError(f"malformed token: {name} is not JSON")


def _split(token: str) -> tuple[str, str, str]:
    if not isinstance(token, str):
        raise JWSError("malformed token: not a string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise JWSError(f"malformed token: longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSError("malformed token: a compact JWS has three dot-separated parts")
    return parts[0], parts[1], parts[2]


def peek_header(token: str) -> dict[str, Any]:
    """The protected header, NOT verified: only for inspection (e.g. to show the kid)."""
    header, _, _ = _split(token)
    return _object(_segment(header, "header"), "header")


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims, NOT verified: only for inspection, never for a decision."""
    _, payload, _ = _split(token)
    return _object(_segment(payload, "payload"), "payload")


def verify_es256(token: str, keys: Mapping[str, ec.EllipticCurvePublicKey],
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify an ES256 compact JWS against ``keys`` (kid → public key).

    Returns ``(header, claims)``; raises ``JWSError`` for a malformed token, any
    ``alg`` but ES256, a ``crit`` header, an unknown kid or a bad signature. Key
    validity periods (not_before/not_after) are the caller's business."""
    header_text, payload_text, signature_text = _split(token)
    header = _object(_segment(header_text, "header"), "header")
    alg = header.get("alg")
    if alg != ALG:
        raise JWSError(f"unsupported alg {alg!r}: only {ALG} is accepted")
    if "crit" in header:
        # RFC 7515 §4.1.11: we understand no extensions, so a critical one must fail.
        raise JWSError("unsupported critical header parameters")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JWSError("the header names no kid")
    key = keys.get(kid)
    if key is None:
        raise JWSError(f"unknown kid {kid!r}")
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise JWSError(f"the key {kid!r} is not a P-256 key")
    payload = _segment(payload_text, "payload")
    signature = _segment(signature_text, "signature")
    if len(signature) != 2 * _COORDINATE_BYTES:
        raise JWSError("bad signature: an ES256 signature is 64 bytes")
    r = int.from_bytes(signature[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[_COORDINATE_BYTES:], "big")
    signing_input = f"{header_text}.{payload_text}".encode("ascii")
    try:
        key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise JWSError("bad signature") from exc
    # Parse the claims only after the signature holds: nothing unsigned is interpreted.
    return header, _object(payload, "payload")


def public_key_to_b64(key: ec.EllipticCurvePublicKey) -> str:
    """The trust list's ``public_key``: base64url (no padding) of the DER
    SubjectPublicKeyInfo (the same bytes as a PEM public key, without the armour)."""
    _check_p256(key)
    return b64url_encode(key.public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))


def public_key_from_b64(text: str) -> ec.EllipticCurvePublicKey:
    """Read a trust list ``public_key`` (base64url DER SubjectPublicKeyInfo); must be P-256."""
    try:
        key = serialization.load_der_public_key(b64url_decode(text))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise JWSError("not a base64url DER SubjectPublicKeyInfo") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise JWSError("the trust list key is not a P-256 key")
    return key
