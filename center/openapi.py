"""The center's OpenAPI 3.1 document (``GET /v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from konbini.openapi import OPENAPI_DOCUMENT, document, link, operation
from konbini.schemas import MENU

from . import health, incident_api, jwks, maintenance_site, operations_api, terminal_api
from .dev_api import DEV_CLOCK, DEV_FAULTS
from .kiosk_api import (
    AUTHENTICATE,
    ORDER_CREATE,
    PRINT_RESULT,
    SESSION_CREATE,
    USE_REGISTRATION,
)
from .municipality_api import CARD_ISSUE, CARD_STATUS, MAINTENANCE, REGISTRATION

MUNICIPALITY_REF: dict[str, Any] = {
    "type": "object", "required": ["code", "name"],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
SESSION = {"type": "object", "required": ["session_id", "challenge", "expires_at"],
           "properties": {"session_id": {"type": "string"},
                          "challenge": {"type": "string",
                                        "description": "32 random bytes, base64url"},
                          "expires_at": {"type": "string", "format": "date-time"}}}
AUTHENTICATED = {"type": "object", "required": ["municipality", "credential"],
                 "properties": {"municipality": MUNICIPALITY_REF,
                                "credential": {"type": "string"}}}
ORDER = {"type": "object",
         "required": ["order_id", "type", "copies", "fee_yen", "certificates"],
         "properties": {"order_id": {"type": "string"}, "type": {"type": "string"},
                        "copies": {"type": "integer"}, "fee_yen": {"type": "integer"},
                        "certificates": {"type": "array", "items": {
                            "type": "object",
                            "required": ["certificate_id", "certificate_number", "pdf_url",
                                         "sha256"],
                            "properties": {"certificate_id": {"type": "string"},
                                           "certificate_number": {"type": "string"},
                                           "pdf_url": {"type": "string"},
                                           "sha256": {"type": "string"}}}}}}
SETTLEMENT = {"type": "object", "required": ["charged_yen", "refunded_yen"],
              "properties": {"charged_yen": {"type": "integer"},
                             "refunded_yen": {"type": "integer"}}}
USE_REGISTRATION_RESPONSE = {
    "type": "object", "required": ["municipality", "status"],
    "properties": {"municipality": MUNICIPALITY_REF,
                   "status": {"enum": ["registered", "pending"]}}}
RESIDENT_CARDS_STATUS = {
    "type": "object", "required": ["resident_code", "status", "serials"],
    "properties": {"resident_code": {"type": "string"}, "status": {"type": "string"},
                   "serials": {"type": "array", "items": {"type": "string"}}}}
TRUST_LIST = {"type": "object", "required": ["keys"], "properties": {"keys": {
    "type": "array", "items": {"type": "object", "required": [
        "kid", "alg", "public_key", "not_before", "not_after"],
        "properties": {"kid": {"type": "string"}, "alg": {"type": "string"},
                       "public_key": {"type": "string"},
                       "not_before": {"type": "string"}, "not_after": {"type": "string"},
                       "development": {"type": "boolean", "description":
                                       "a development key: what it signs is a sample (見本)"
                                       }}}}}}
REGISTRATION_VIEW = {
    "type": "object",
    "required": ["code", "name", "prefecture", "endpoint", "services", "status",
                 "maintenance"],
    "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "prefecture": {"type": "string"}, "endpoint": {"type": "string"},
        "services": {"type": "array", "items": {
            "type": "object", "required": ["type", "fee_yen"],
            "properties": {"type": {"type": "string"}, "fee_yen": {"type": "integer"},
                           "hours": {"type": "object",
                                     "additionalProperties": {"type": "string"}}}}},
        "status": {"enum": ["active", "unreachable"]},
        "maintenance": {"type": "array", "items": {
            "type": "object", "required": ["starts_at", "ends_at"],
            "properties": {"starts_at": {"type": "string"}, "ends_at": {"type": "string"},
                           "reason": {"type": ["string", "null"]}}}}}}
MAINTENANCE_VIEW = {"type": "object", "required": ["id", "starts_at", "ends_at"],
                    "properties": {"id": {}, "starts_at": {"type": "string"},
                                   "ends_at": {"type": "string"},
                                   "reason": {"type": ["string", "null"]}}}
CARD_ISSUED = {"type": "object", "required": ["serial", "certificate", "not_after"],
               "properties": {"serial": {"type": "string"},
                              "certificate": {"type": "string", "description": "PEM"},
                              "not_after": {"type": "string"}}}
CARD_VIEW = {"type": "object", "required": ["serial", "resident_code", "status"],
             "properties": {"serial": {"type": "string"}, "resident_code": {"type": "string"},
                            "credential": {"type": "string"}, "status": {"type": "string"},
                            "not_after": {"type": "string"}}}
CARD_STATUS_SET = {"type": "object", "required": ["serial", "status"],
                   "properties": {"serial": {"type": "string"}, "status": {"type": "string"}}}
DEV_CLOCK_VIEW = {"type": "object", "required": ["now", "offset_seconds"],
                  "properties": {"now": {"type": "string"},
                                 "offset_seconds": {"type": "number"}}}

# Examples, as in docs/api.md (the flow of one issuance).
_SESSION_EXAMPLE = {"session_id": "nBq1kqZ0rYf6dC8cXHjv2w3WbH3dJm4x",
                    "challenge": "q0nQ0q1dM7Kx0h6l3CFlVv5iYx3kMmc0D2sD1Jr5yZ8",
                    "expires_at": "2026-11-24T10:02:00+09:00"}
_AUTH_EXAMPLE = {"municipality": {"code": "131016", "name": "千代田区"},
                 "credential": "card"}
_MENU_EXAMPLE = {
    "municipality": {"code": "131016", "name": "千代田区"},
    "items": [{"type": "juminhyo", "label": "住民票の写し", "fee_yen": 200,
               "available": True, "municipality": {"code": "131016", "name": "千代田区"}},
              {"type": "inkan", "label": "印鑑登録証明書", "fee_yen": 200,
               "available": False, "reason": "seal-not-registered",
               "message": "印鑑登録がありません"}],
    "household": [{"member_id": "m-1", "name": "霞 太郎", "relationship": "世帯主",
                   "self": True}],
    "max_copies": 10}
_ORDER_BODY_EXAMPLE = {"type": "juminhyo", "copies": 1, "options": {"members": "household"},
                       "expected_fee_yen": 200}
_ORDER_EXAMPLE = {
    "order_id": "o-7d1f", "type": "juminhyo", "copies": 1, "fee_yen": 200,
    "certificates": [{"certificate_id": "c-91ab", "certificate_number": "131016-2026-0000001",
                      "pdf_url": "/v1/orders/o-7d1f/certificates/c-91ab.pdf",
                      "sha256": "0" * 64}]}
_RESULT_BODY_EXAMPLE = {"printed": ["c-91ab"], "failed": []}
_SETTLEMENT_EXAMPLE = {"charged_yen": 200, "refunded_yen": 0}
_REGISTRATION_EXAMPLE = {
    "name": "千代田区", "prefecture": "東京都", "endpoint": "https://127.0.0.1:9101",
    "services": [{"type": "juminhyo", "fee_yen": 200},
                 {"type": "koseki_zenbu", "fee_yen": 450,
                  "hours": {"weekday": "08:30-17:00"}}]}

KIOSK = ("kiosk",)
MUNICIPALITY = ("municipality",)
PUBLIC = ("public",)
DEV = ("dev",)
SESSION_PROBLEMS = ("session-not-found", "session-expired")
UPSTREAM = ("municipality-unavailable", "upstream-timeout", "upstream-error")
TAGS = [
    {"name": "kiosk", "description": "Kiosk API: mutual TLS with a kiosk terminal certificate "
                                     "(CN=<terminal id>, O=<chain>, OU=<store id>)"},
    {"name": "municipality", "description": "Municipality API: mutual TLS with a municipal "
                                            "certificate (CN=<municipality code>)"},
    {"name": "public", "description": "Public site: no client certificate (also served on the "
                                      "mutual-TLS listener where marked)"},
    {"name": "dev", "description": "Test environments only (center started with --dev): "
                                   "kiosk or municipal certificate"},
    {"name": "chain", "description": "Terminal registry: mutual TLS with a chain's "
                                     "certificate"},
    {"name": "metrics", "description": "Prometheus metrics on the mutual-TLS listener: any "
                                       "client certificate of the TLS CA"},
]

VERIFY_RESULT = {
    "type": "object",
    "required": ["status", "certificate", "signature_valid", "front_image_url", "source",
                 "checks", "message"],
    "properties": {
        "status": {"enum": ["valid", "void", "unknown", "unreadable"]},
        "certificate": {"oneOf": [{"type": "null"}, {
            "type": "object",
            "required": ["certificate_id", "certificate_number", "type", "municipality",
                         "issued_at"],
            "properties": {
                "certificate_id": {"type": "string"},
                "certificate_number": {"type": "string"},
                "type": {"type": "string"},
                "type_label": {"type": ["string", "null"]},
                "municipality": {"type": "object", "required": ["code", "name"],
                                 "properties": {"code": {"type": "string"},
                                                "name": {"type": ["string", "null"]}}},
                "issued_at": {"type": "string"},
                # issue 14: how many sheets the certificate has (1, or n of ``pg``)
                "sheets": {"type": "integer", "minimum": 1}}}]},
        "signature_valid": {"type": "boolean"},
        "front_image_url": {"type": ["string", "null"]},
        "source": {"enum": ["pdf", "scan"]},
        "checks": {
            "type": "object", "required": ["signature", "record", "front", "front_image"],
            "properties": {
                "signature": {"enum": ["valid", "malformed", "unknown-key", "bad-signature",
                                       "outside-key-validity", "not-a-certificate",
                                       "no-qr-code"]},
                "record": {"enum": ["issued", "printed", "void", "not-found", "mismatch",
                                    "not-checked"]},
                "front": {"enum": ["matches", "edited", "not-checked"]},
                "front_image": {"enum": ["recovered", "unreadable", "not-attempted"]},
                # issue 14: the sheets of the upload together (docs/api.md)
                "sheets": {"enum": ["complete", "one-sheet", "mismatch", "repeated",
                                    "missing", "not-checked"]}}},
        "kid": {"type": ["string", "null"]},
        "message": {"type": "string"},
        "void_reason": {"type": ["string", "null"]},
        "development_key": {"type": ["boolean", "null"],
                            "description": "signed with a development key: a sample (見本)"},
        # issue 14: each sheet of the upload, in its order
        "sheets": {"type": "array", "items": {
            "type": "object",
            "required": ["sheet", "pg", "certificate_id", "certificate_number", "signature",
                         "front", "front_image_url"],
            "properties": {
                "sheet": {"type": "integer", "minimum": 1},
                "pg": {"oneOf": [{"type": "null"}, {"type": "array", "minItems": 2,
                                                    "maxItems": 2,
                                                    "items": {"type": "integer"}}]},
                "certificate_id": {"type": ["string", "null"]},
                "certificate_number": {"type": ["string", "null"]},
                "signature": {"type": "string"},
                "front": {"enum": ["matches", "edited", "not-checked"]},
                "front_image_url": {"type": ["string", "null"]}}}},
    },
}


def inquiry_paths() -> dict[str, dict[str, Any]]:
    """The inquiry site (照会サイト) on the public listener."""
    verify = operation(
        "Verify an uploaded certificate (its PDF, or a PNG/JPEG scan of its back): status, "
        "what the QR code proves, and the front recovered from the scrambled image",
        response=VERIFY_RESULT, security="", tags=PUBLIC,
        problems=("unsupported-media-type", "request-too-large", "image-too-large",
                  "invalid-request", "rate-limited"))
    verify["requestBody"] = {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "contentMediaType": "application/octet-stream",
                     "description": "PDF, PNG or JPEG; at most 16 MiB and 36 million "
                                    "pixels (a 600 dpi scan of A4)"}}}}}}
    return {
        "/verify": {"get": operation(
            "The inquiry page: upload a scan or the PDF and compare the recovered front",
            response={"type": "string"}, content_type="text/html", security="",
            tags=PUBLIC)},
        "/v1/verify": {"post": verify},
        "/v1/verify/fronts/{front_id}.png": {"get": operation(
            "A recovered front (PNG), kept in memory for 10 minutes after the check "
            "that produced it; never stored", response={"type": "string", "format": "binary",
                                                       "contentMediaType": "image/png"},
            content_type="image/png", security="", tags=PUBLIC, problems=("not-found",))},
    }


def kiosk_paths() -> dict[str, dict[str, Any]]:
    """The kiosk API (mutual TLS, a terminal certificate)."""
    menu = dict(MENU)
    menu["required"] = ["municipality", *MENU["required"]]
    menu["properties"] = {**MENU["properties"], "municipality": MUNICIPALITY_REF}
    return {
        "/v1/sessions": {"post": operation(
            "Start a session when a card is inserted; returns the single-use challenge",
            body=SESSION_CREATE.schema, body_required=False, operation_id="createSession",
            links={name: link(name, session_id="session_id") for name in (
                "authenticate", "getMenu", "createOrder", "registerUse", "endSession")},
            body_example={"credential": "card"}, ok=201, response=SESSION,
            example=_SESSION_EXAMPLE, tags=KIOSK,
            description="The body is optional; without it the credential is `card`.",
            problems=("service-closed", "credential-not-supported"))},
        "/v1/sessions/{session_id}/authenticate": {"post": operation(
            "Authenticate the card: its user-authentication certificate and its signature "
            "of the challenge", body=AUTHENTICATE.schema, response=AUTHENTICATED,
            operation_id="authenticate",
            body_example={"certificate": "MIIE…(DER, base64url)",
                          "signature": "Jx3…(RSASSA-PKCS1-v1_5 SHA-256, base64url)"},
            example=_AUTH_EXAMPLE, tags=KIOSK,
            problems=(*SESSION_PROBLEMS, "challenge-expired", "service-closed",
                      "already-authenticated", "signature-invalid", "certificate-untrusted",
                      "card-expired", "card-suspended", "card-revoked", "card-face-auth",
                      "credential-not-supported", "municipality-not-participating",
                      *UPSTREAM))},
        "/v1/sessions/{session_id}/menu": {"get": operation(
            "The certificates this resident may order here and now, with fees",
            response=menu, example=_MENU_EXAMPLE, tags=KIOSK, operation_id="getMenu",
            problems=(*SESSION_PROBLEMS, "not-authenticated", "service-closed",
                      "resident-ineligible", *UPSTREAM))},
        "/v1/sessions/{session_id}/orders": {"post": operation(
            "Order certificates; the center returns two-page PDFs (front, anti-forgery back)",
            body=ORDER_CREATE.schema, body_example=_ORDER_BODY_EXAMPLE, ok=201,
            response=ORDER, example=_ORDER_EXAMPLE, tags=KIOSK, operation_id="createOrder",
            links={"downloadCertificate": link(
                       "downloadCertificate", order_id="order_id",
                       certificate_id="certificates/0/certificate_id"),
                   "reportResult": link("reportResult", order_id="order_id")},
            problems=(*SESSION_PROBLEMS, "not-authenticated", "service-closed",
                      "type-unavailable", "fee-mismatch", "resident-ineligible",
                      "member-not-in-household", *UPSTREAM))},
        "/v1/sessions/{session_id}/use-registrations": {"post": operation(
            "本籍地の利用登録 (addition): register this card with the municipality of the "
            "holder's 本籍; from then on the menu offers its family-register types (items "
            "carry their municipality) and an order with municipality_code goes there",
            body=USE_REGISTRATION.schema, body_example={"municipality_code": "452017"},
            ok=201, response=USE_REGISTRATION_RESPONSE,
            example={"municipality": {"code": "452017", "name": "宮崎市"},
                     "status": "registered"}, tags=KIOSK, operation_id="registerUse",
            problems=(*SESSION_PROBLEMS, "not-authenticated", "service-closed",
                      "municipality-not-participating", "type-unavailable",
                      "resident-ineligible", "invalid-request", "conflict", *UPSTREAM))},
        "/v1/sessions/{session_id}": {"delete": operation(
            "The card was removed", ok=204, tags=KIOSK, operation_id="endSession",
            problems=("session-not-found",))},
        "/v1/orders/{order_id}/certificates/{certificate_id}.pdf": {"get": operation(
            "The two-page A4 PDF to print (only to the terminal that placed the order, until "
            "its result is reported or 10 minutes pass)",
            response={"type": "string", "format": "binary",
                      "contentMediaType": "application/pdf"},
            content_type="application/pdf", tags=KIOSK, operation_id="downloadCertificate",
            problems=("order-not-found", "download-expired"))},
        "/v1/orders/{order_id}/result": {"post": operation(
            "Report which certificates printed; failed ones are voided and refunded",
            body=PRINT_RESULT.schema, body_example=_RESULT_BODY_EXAMPLE, response=SETTLEMENT,
            example=_SETTLEMENT_EXAMPLE, tags=KIOSK, operation_id="reportResult",
            problems=("order-not-found", "download-expired"))},
    }


def _registration(summary: str, *, created: bool, **kwargs: Any) -> dict[str, Any]:
    """PUT of a registration: 200 when updated, and 201 with the same body when
    new (undocumented until the fuzzing found it)."""
    op = operation(summary, **kwargs)
    if created:
        op["responses"]["201"] = {"description": "registered now",
                                  "content": {"application/json": {
                                      "schema": kwargs["response"]}}}
    return op


def municipality_paths() -> dict[str, dict[str, Any]]:
    """The municipality API (mutual TLS, a municipal certificate)."""
    mine = ("municipality-mismatch", "invalid-request")
    return {
        "/v1/municipalities/{code}": {
            "put": _registration("Register or update a municipality's certificate server; the "
                             "center checks its /v1/health first (201 when new, 200 when "
                             "updated)", body=REGISTRATION.schema,
                             body_example=_REGISTRATION_EXAMPLE, response=REGISTRATION_VIEW,
                             tags=MUNICIPALITY, problems=mine, created=True),
            "get": operation("The municipality's registration, status and maintenance "
                             "windows", response=REGISTRATION_VIEW, tags=MUNICIPALITY,
                             problems=(*mine, "not-found")),
            "delete": operation("Withdraw the municipality", ok=204, tags=MUNICIPALITY,
                                problems=(*mine, "not-found")),
        },
        "/v1/municipalities/{code}/maintenance": {"post": operation(
            "Announce a maintenance window", body=MAINTENANCE.schema, ok=201,
            body_example={"starts_at": "2026-11-28T22:00:00+09:00",
                          "ends_at": "2026-11-29T06:00:00+09:00", "reason": "システム更新"},
            response=MAINTENANCE_VIEW, tags=MUNICIPALITY,
            problems=(*mine, "not-found"))},
        "/v1/jpki/certificates": {"post": operation(
            "Certify a card key for one of the municipality's residents (not_before and "
            "not_after are additions for test environments)", body=CARD_ISSUE.schema, ok=201,
            response=CARD_ISSUED, tags=MUNICIPALITY)},
        "/v1/jpki/certificates/{serial}": {"get": operation(
            "Addition: one of the caller's card certificates (serial, resident_code, "
            "credential, status, not_after)", response=CARD_VIEW, tags=MUNICIPALITY,
            problems=("not-found",))},
        "/v1/jpki/certificates/{serial}/status": {"post": operation(
            "Suspend, revoke or reinstate a card certificate", body=CARD_STATUS.schema,
            body_example={"status": "suspended", "reason": "紛失"}, response=CARD_STATUS_SET,
            tags=MUNICIPALITY, problems=("not-found", "conflict"))},
        "/v1/jpki/residents/{resident_code}/status": {"post": operation(
            "Addition: set the status of every card certificate of one resident (revoked "
            "on death); certificates already revoked stay revoked",
            body=CARD_STATUS.schema, response=RESIDENT_CARDS_STATUS, tags=MUNICIPALITY,
            problems=("not-found", "invalid-request"))},
    }


def dev_paths() -> dict[str, dict[str, Any]]:
    """Only on a center started with --dev (test environments)."""
    return {
        "/v1/dev/clock": {
            "get": operation("Test environments: the center's clock",
                             response=DEV_CLOCK_VIEW, tags=DEV),
            "put": operation("Test environments: move the center's clock (null = real time)",
                             body=DEV_CLOCK.schema, response=DEV_CLOCK_VIEW, tags=DEV,
                             body_example={"now": "2026-12-30T10:00:00+09:00"}),
        },
        "/v1/dev/faults": {
            "get": operation("Test environments: the injected municipal-server faults",
                             response=DEV_FAULTS.schema, tags=DEV),
            "put": operation(
                "Test environments: treat municipal servers as down "
                "(municipality-unavailable) or slow (upstream-timeout after the center's "
                "municipal timeout), or have them (started with --dev) render another "
                "resident's certificate or a foreign page 2 (upstream-error, reason "
                "subject-mismatch); the body replaces every fault, {} or no body clears "
                "them", body=DEV_FAULTS.schema, body_required=False,
                body_example={"municipalities_down": ["452017"]},
                response=DEV_FAULTS.schema, tags=DEV),
        },
    }


# Where an untagged operation is served, by the path's prefix (as the role rules of
# center.app): modules that add paths need not repeat it.
LISTENER_TAGS = (("/v1/sessions", KIOSK), ("/v1/orders", KIOSK),
                 ("/v1/municipalities", MUNICIPALITY), ("/v1/jpki", MUNICIPALITY),
                 ("/v1/dev", DEV), ("/v1/chains", ("chain",)), ("/metrics", ("metrics",)),
                 ("/v1/maintenance", PUBLIC), ("/maintenance", PUBLIC))


def _tag_by_listener(paths: dict[str, dict[str, Any]]) -> None:
    for path, item in paths.items():
        for op in item.values():
            if not op.get("tags"):
                for prefix, tags in LISTENER_TAGS:
                    if path.startswith(prefix):
                        op["tags"] = list(tags)
                        break


def center_openapi(dev_mode: bool = False) -> dict[str, Any]:
    """The center's document, served alike on both listeners: the tag of each
    operation says where it is served (``public`` on the public listener,
    ``kiosk``/``municipality``/``dev`` on the mutual-TLS one)."""
    both = ("public", "kiosk", "municipality")
    paths: dict[str, dict[str, Any]] = {
        **kiosk_paths(),
        **municipality_paths(),
        "/v1/trust-list": {"get": operation(
            "Public keys that sign QR codes (both listeners)", response=TRUST_LIST,
            security="", tags=both)},
        "/v1/openapi.json": {"get": operation("This document (both listeners)",
                                              response=OPENAPI_DOCUMENT, security="",
                                              tags=both)},
        **inquiry_paths(),
        **maintenance_site.openapi_paths(),
        **operations_api.openapi_paths(),
        **incident_api.openapi_paths(),
        **terminal_api.openapi_paths(),
        **health.openapi_paths(),
        **jwks.openapi_paths(),
    }
    health.document_idempotency_key(paths)
    if dev_mode:
        paths.update(dev_paths())
    _tag_by_listener(paths)
    return document(
        "Konbini certificate exchange center (証明書交付センター)",
        "Kiosk API and Municipality API over mutual TLS; public trust list and inquiry "
        "site. The whole contract, with every addition marked, is docs/api.md in the "
        "repository. Additions to the first published contract: problem codes not-found, "
        "method-not-allowed, request-too-large, client-not-allowed, municipality-mismatch, "
        "conflict, upstream-error, internal-error; `opens_at` on outside-hours menu items; "
        "JPKI not_before/not_after; use registrations (本籍地の利用登録); "
        "/v1/dev/clock and /v1/dev/faults in test environments. Inquiry site: the QR claim "
        "`fpd` (digest of the finished front page), the /v1/verify fields `source`, "
        "`checks`, `kid`, `message`, `void_reason`, `certificate.type_label`, the problem "
        "code image-too-large (413), and GET /v1/verify/fronts/{front_id}.png.",
        paths, common_problems=("rate-limited", "internal-error"), tags=TAGS)
