"""The trust list as a JWK Set (RFC 7517): ``GET /v1/trust-list/jwks.json``.

The same keys as ``GET /v1/trust-list``, in the shape every JOSE library reads
(PyJWT's ``PyJWKSet``, joserfc, jose4j, node-jose), so a relying party
verifies the QR code's JWS with the library it already uses. A JWK has no
field for a key's validity: a verifier that honours ``not_before``/``not_after``
(a certificate dated outside its key's validity is not the center's word)
reads them from ``/v1/trust-list``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from konbini.b64 import b64url_encode
from konbini.jws import public_key_from_b64
from konbini.openapi import operation

from .context import context

PATH = "/v1/trust-list/jwks.json"
CONTENT_TYPE = "application/jwk-set+json"  # RFC 7517 §8.5.1
P256_COORDINATE_BYTES = 32

JWK_SET = {
    "type": "object", "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {
        "type": "object", "required": ["kid", "kty", "crv", "x", "y", "alg", "use"],
        "properties": {"kid": {"type": "string"}, "kty": {"const": "EC"},
                       "crv": {"const": "P-256"}, "x": {"type": "string"},
                       "y": {"type": "string"}, "alg": {"const": "ES256"},
                       "use": {"const": "sig"},
                       "development": {"type": "boolean", "description":
                                       "a development key: what it signs is a sample (見本)"
                                       }}}}},
}
EXAMPLE = {"keys": [{"kid": "qr-2026-11-1a2b3c4d", "kty": "EC", "crv": "P-256",
                     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                     "alg": "ES256", "use": "sig", "development": True}]}


def jwk_set(trust_list: Mapping[str, Any]) -> dict[str, Any]:
    """The JWK Set of a trust list document; its ES256 keys, in the same order."""
    keys = []
    for entry in trust_list["keys"]:
        if entry.get("alg") != "ES256":
            continue
        numbers = public_key_from_b64(entry["public_key"]).public_numbers()
        keys.append({
            "kid": entry["kid"], "kty": "EC", "crv": "P-256",
            # RFC 7518 §6.2.1.2: the coordinates at the curve's full length.
            "x": b64url_encode(numbers.x.to_bytes(P256_COORDINATE_BYTES, "big")),
            "y": b64url_encode(numbers.y.to_bytes(P256_COORDINATE_BYTES, "big")),
            "alg": "ES256", "use": "sig",
        })
        # A member of our own (RFC 7517 §4: JOSE libraries ignore members they do not
        # know), as in the trust list: what a development key signs is a sample (見本).
        if isinstance(entry.get("development"), bool):
            keys[-1]["development"] = entry["development"]
    return {"keys": keys}


async def serve(request: web.Request) -> web.Response:
    return web.json_response(jwk_set(context(request).qr_keys.trust_list()),
                             content_type=CONTENT_TYPE)


def openapi_paths() -> dict[str, dict[str, Any]]:
    return {PATH: {"get": operation(
        "The trust list as a JWK Set (RFC 7517): the keys that sign QR codes, for any "
        "JOSE library; validity periods are in /v1/trust-list",
        response=JWK_SET, example=EXAMPLE, content_type=CONTENT_TYPE, security="",
        tags=("public", "kiosk", "municipality"))}}  # both listeners
