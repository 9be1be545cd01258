"""The municipal server's OpenAPI 3.1 document (``GET /v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from konbini.openapi import document, operation
from konbini.schemas import (
    HEALTH,
    MENU,
    MUNICIPAL_CERTIFICATES_REQUEST,
    MUNICIPAL_CERTIFICATES_RESPONSE,
    MUNICIPAL_MENU_REQUEST,
    MUNICIPAL_OUTCOME_REQUEST,
    MUNICIPAL_OUTCOME_RESPONSE,
    MUNICIPAL_USE_REGISTRATION_REQUEST,
    MUNICIPAL_USE_REGISTRATION_RESPONSE,
)


def municipal_openapi(name: str) -> dict[str, Any]:
    return document(
        f"Municipal certificate server (証明書発行サーバ) — {name}",
        "Called only by the center, over mutual TLS with its CN=center certificate.",
        {
            "/v1/health": {"get": operation("Liveness and identity", response=HEALTH)},
            "/v1/menu": {"post": operation(
                "What this resident may order on the given instant",
                body=MUNICIPAL_MENU_REQUEST, response=MENU,
                problems=("resident-ineligible", "invalid-request"))},
            "/v1/certificates": {"post": operation(
                "Issue certificates as PDFs; idempotent on request_id",
                body=MUNICIPAL_CERTIFICATES_REQUEST, ok=201,
                response=MUNICIPAL_CERTIFICATES_RESPONSE,
                problems=("resident-ineligible", "type-unavailable", "member-not-in-household",
                          "conflict", "invalid-request"))},
            "/v1/use-registrations": {"post": operation(
                "本籍地の利用登録 (addition): a person whose 本籍 is here and who lives "
                "elsewhere registers to have their family registers at a kiosk; 201 when "
                "registered now, 200 when already registered",
                body=MUNICIPAL_USE_REGISTRATION_REQUEST, ok=201,
                response=MUNICIPAL_USE_REGISTRATION_RESPONSE,
                problems=("type-unavailable", "resident-ineligible", "conflict",
                          "invalid-request"))},
            "/v1/certificates/{request_id}/outcome": {"post": operation(
                "Addition (reconciliation): what became of a request's certificates "
                "(delivered = printed, failed, voided); the issuance history shows it, "
                "`undelivered` until reported. Idempotent",
                body=MUNICIPAL_OUTCOME_REQUEST, response=MUNICIPAL_OUTCOME_RESPONSE,
                problems=("not-found", "invalid-request"))},
            "/v1/openapi.json": {"get": operation("This document")},
            "/metrics": {"get": operation(
                "Prometheus metrics (text exposition format); any client certificate of "
                "the TLS CA", content_type="text/plain", response={"type": "string"})},
        })
