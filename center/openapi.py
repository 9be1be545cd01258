"""The center's OpenAPI 3.1 document (``GET /v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from konbini.openapi import document, operation
from konbini.schemas import MENU

from .kiosk_api import AUTHENTICATE, ORDER_CREATE, PRINT_RESULT, SESSION_CREATE
from .municipality_api import CARD_ISSUE, CARD_STATUS, DEV_CLOCK, MAINTENANCE, REGISTRATION

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
TRUST_LIST = {"type": "object", "required": ["keys"], "properties": {"keys": {
    "type": "array", "items": {"type": "object", "required": [
        "kid", "alg", "public_key", "not_before", "not_after"]}}}}


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
        "/v1/jpki/certificates/{serial}/status": {"post": operation(
            "Suspend, revoke or reinstate a card certificate", body=CARD_STATUS.schema,
            problems=("not-found", "conflict"))},
        "/v1/trust-list": {"get": operation(
            "Public keys that sign QR codes", response=TRUST_LIST, security="")},
        "/v1/openapi.json": {"get": operation("This document", security="")},
    }
    if dev_mode:
        paths["/v1/dev/clock"] = {
            "get": operation("Test environments: the center's clock"),
            "put": operation("Test environments: move the center's clock (null = real time)",
                             body=DEV_CLOCK.schema),
        }
    return document(
        "Konbini certificate exchange center (証明書交付センター)",
        "Kiosk API and Municipality API over mutual TLS; public trust list. "
        "Additions to API.md: problem codes not-found, method-not-allowed, "
        "request-too-large, client-not-allowed, municipality-mismatch, conflict, "
        "upstream-error; `opens_at` on outside-hours menu items; JPKI not_before/not_after; "
        "/v1/dev/clock in test environments.",
        paths)
