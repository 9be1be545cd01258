"""The center's OpenAPI 3.1 document (``GET /v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from konbini.openapi import document, operation
from konbini.schemas import MENU

from . import health, incident_api, maintenance_site, operations_api, terminal_api
from .dev_api import DEV_CLOCK, DEV_FAULTS
from .kiosk_api import (
    AUTHENTICATE,
    ORDER_CREATE,
    PRINT_RESULT,
    SESSION_CREATE,
    USE_REGISTRATION,
)
from .municipality_api import CARD_ISSUE, CARD_STATUS, MAINTENANCE, REGISTRATION

SESSION = {"type": "object", "required": ["session_id", "challenge", "expires_at"],
           "properties": {"session_id": {"type": "string"}, "challenge": {"type": "string"},
                          "expires_at": {"type": "string"}}}
AUTHENTICATED = {"type": "object", "required": ["municipality", "credential"],
                 "properties": {"municipality": {"type": "object",
                                                 "required": ["code", "name"]},
                                "credential": {"type": "string"}}}
ORDER = {"type": "object",
         "required": ["order_id", "type", "copies", "fee_yen", "certificates"],
         "properties": {"order_id": {"type": "string"}, "type": {"type": "string"},
                        "copies": {"type": "integer"}, "fee_yen": {"type": "integer"},
                        "certificates": {"type": "array", "items": {
                            "type": "object",
                            "required": ["certificate_id", "certificate_number", "pdf_url",
                                         "sha256"]}}}}
SETTLEMENT = {"type": "object", "required": ["charged_yen", "refunded_yen"],
              "properties": {"charged_yen": {"type": "integer"},
                             "refunded_yen": {"type": "integer"}}}
USE_REGISTRATION_RESPONSE = {
    "type": "object", "required": ["municipality", "status"],
    "properties": {"municipality": {"type": "object", "required": ["code", "name"]},
                   "status": {"enum": ["registered", "pending"]}}}
RESIDENT_CARDS_STATUS = {
    "type": "object", "required": ["resident_code", "status", "serials"],
    "properties": {"resident_code": {"type": "string"}, "status": {"type": "string"},
                   "serials": {"type": "array", "items": {"type": "string"}}}}
TRUST_LIST = {"type": "object", "required": ["keys"], "properties": {"keys": {
    "type": "array", "items": {"type": "object", "required": [
        "kid", "alg", "public_key", "not_before", "not_after"]}}}}


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
                "issued_at": {"type": "string"}}}]},
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
                "front_image": {"enum": ["recovered", "unreadable", "not-attempted"]}}},
        "kid": {"type": ["string", "null"]},
        "message": {"type": "string"},
        "void_reason": {"type": ["string", "null"]},
    },
}


def inquiry_paths() -> dict[str, dict[str, Any]]:
    """The inquiry site (照会サイト) on the public listener."""
    verify = operation(
        "Verify an uploaded certificate (its PDF, or a PNG/JPEG scan of its back): status, "
        "what the QR code proves, and the front recovered from the scrambled image",
        response=VERIFY_RESULT, security="",
        problems=("unsupported-media-type", "request-too-large", "image-too-large",
                  "invalid-request"))
    verify["requestBody"] = {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "contentMediaType": "application/octet-stream",
                     "description": "PDF, PNG or JPEG; at most 16 MiB and 40 million "
                                    "pixels"}}}}}}
    return {
        "/verify": {"get": operation(
            "The inquiry page: upload a scan or the PDF and compare the recovered front",
            response={"type": "string"}, content_type="text/html", security="")},
        "/v1/verify": {"post": verify},
        "/v1/verify/fronts/{front_id}.png": {"get": operation(
            "A recovered front (PNG), kept in memory for 10 minutes after the check "
            "that produced it; never stored", response={"type": "string",
                                                       "contentMediaType": "image/png"},
            content_type="image/png", security="", problems=("not-found",))},
    }


def center_openapi(dev_mode: bool = False) -> dict[str, Any]:
    menu = dict(MENU)
    menu["required"] = ["municipality", *MENU["required"]]
    paths: dict[str, dict[str, Any]] = {
        "/v1/sessions": {"post": operation(
            "Start a session when a card is inserted; returns the single-use challenge",
            body=SESSION_CREATE.schema, ok=201, response=SESSION,
            problems=("service-closed", "credential-not-supported", "rate-limited"))},
        "/v1/sessions/{session_id}/authenticate": {"post": operation(
            "Authenticate the card: its user-authentication certificate and its signature "
            "of the challenge", body=AUTHENTICATE.schema, response=AUTHENTICATED,
            problems=("session-not-found", "session-expired", "challenge-expired",
                      "already-authenticated", "signature-invalid", "certificate-untrusted",
                      "card-expired", "card-suspended", "card-revoked", "card-face-auth",
                      "credential-not-supported", "municipality-not-participating",
                      "municipality-unavailable"))},
        "/v1/sessions/{session_id}/menu": {"get": operation(
            "The certificates this resident may order here and now, with fees",
            response=menu, problems=("not-authenticated", "resident-ineligible",
                                     "municipality-unavailable", "upstream-timeout"))},
        "/v1/sessions/{session_id}/orders": {"post": operation(
            "Order certificates; the center returns two-page PDFs (front, anti-forgery back)",
            body=ORDER_CREATE.schema, ok=201, response=ORDER,
            problems=("not-authenticated", "service-closed", "type-unavailable",
                      "fee-mismatch", "resident-ineligible", "member-not-in-household",
                      "municipality-unavailable", "upstream-timeout"))},
        "/v1/sessions/{session_id}/use-registrations": {"post": operation(
            "本籍地の利用登録 (addition): register this card with the municipality of the "
            "holder's 本籍; from then on the menu offers its family-register types (items "
            "carry their municipality) and an order with municipality_code goes there",
            body=USE_REGISTRATION.schema, ok=201, response=USE_REGISTRATION_RESPONSE,
            problems=("not-authenticated", "municipality-not-participating",
                      "municipality-unavailable", "type-unavailable", "resident-ineligible",
                      "invalid-request"))},
        "/v1/sessions/{session_id}": {"delete": operation(
            "The card was removed", ok=204, problems=("session-not-found",))},
        "/v1/orders/{order_id}/certificates/{certificate_id}.pdf": {"get": operation(
            "The two-page A4 PDF to print", response={"type": "string",
                                                      "contentMediaType": "application/pdf"},
            content_type="application/pdf", problems=("order-not-found", "download-expired"))},
        "/v1/orders/{order_id}/result": {"post": operation(
            "Report which certificates printed; failed ones are voided and refunded",
            body=PRINT_RESULT.schema, response=SETTLEMENT,
            problems=("order-not-found", "download-expired"))},
        "/v1/municipalities/{code}": {
            "put": operation("Register or update a municipality's certificate server",
                             body=REGISTRATION.schema, response={"type": "object"},
                             problems=("invalid-request", "municipality-mismatch")),
            "get": operation("The municipality's registration and maintenance windows",
                             problems=("municipality-mismatch", "not-found")),
            "delete": operation("Withdraw the municipality", ok=204,
                                problems=("municipality-mismatch", "not-found")),
        },
        "/v1/municipalities/{code}/maintenance": {"post": operation(
            "Announce a maintenance window", body=MAINTENANCE.schema, ok=201,
            problems=("invalid-request", "municipality-mismatch", "not-found"))},
        "/v1/jpki/certificates": {"post": operation(
            "Certify a card key for one of the municipality's residents (not_before and "
            "not_after are additions for test environments)", body=CARD_ISSUE.schema, ok=201)},
        "/v1/jpki/certificates/{serial}": {"get": operation(
            "Addition: one of the caller's card certificates (serial, resident_code, "
            "credential, status, not_after)", problems=("not-found",))},
        "/v1/jpki/certificates/{serial}/status": {"post": operation(
            "Suspend, revoke or reinstate a card certificate", body=CARD_STATUS.schema,
            problems=("not-found", "conflict"))},
        "/v1/jpki/residents/{resident_code}/status": {"post": operation(
            "Addition: set the status of every card certificate of one resident (revoked "
            "on death); certificates already revoked stay revoked",
            body=CARD_STATUS.schema, response=RESIDENT_CARDS_STATUS,
            problems=("not-found", "invalid-request"))},
        "/v1/trust-list": {"get": operation(
            "Public keys that sign QR codes", response=TRUST_LIST, security="")},
        "/v1/openapi.json": {"get": operation("This document", security="")},
        **inquiry_paths(),
        **maintenance_site.openapi_paths(),
        **operations_api.openapi_paths(),
        **incident_api.openapi_paths(),
        **terminal_api.openapi_paths(),
        **health.openapi_paths(),
    }
    health.document_idempotency_key(paths)
    if dev_mode:
        paths["/v1/dev/clock"] = {
            "get": operation("Test environments: the center's clock"),
            "put": operation("Test environments: move the center's clock (null = real time)",
                             body=DEV_CLOCK.schema),
        }
        paths["/v1/dev/faults"] = {
            "get": operation("Test environments: the injected municipal-server faults",
                             response=DEV_FAULTS.schema),
            "put": operation(
                "Test environments: treat municipal servers as down "
                "(municipality-unavailable) or slow (upstream-timeout after the center's "
                "municipal timeout), or have them (started with --dev) render another "
                "resident's certificate or a foreign page 2 (upstream-error, reason "
                "subject-mismatch); the body replaces every fault, {} clears them",
                body=DEV_FAULTS.schema, response=DEV_FAULTS.schema),
        }
    return document(
        "Konbini certificate exchange center (証明書交付センター)",
        "Kiosk API and Municipality API over mutual TLS; public trust list. "
        "Additions to API.md: problem codes not-found, method-not-allowed, "
        "request-too-large, client-not-allowed, municipality-mismatch, conflict, "
        "upstream-error; `opens_at` on outside-hours menu items; JPKI not_before/not_after; "
        "/v1/dev/clock and /v1/dev/faults in test environments. Inquiry site: the QR claim "
        "`fpd` (digest of the finished front page), the /v1/verify fields `source`, "
        "`checks`, `kid`, `message`, `void_reason`, `certificate.type_label`, the problem "
        "code image-too-large (413), and GET /v1/verify/fronts/{front_id}.png.",
        paths)
