"""The municipal server's OpenAPI 3.1 documents: the API the center calls
(``GET /v1/openapi.json``) and the clerk's admin API
(``GET /admin/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from konbini.openapi import BEARER, OPENAPI_DOCUMENT, document, operation
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
from konbini.validation import BodySchema

_AT = "2026-11-24T10:00:00+09:00"
_KIOSK = {"terminal_id": "kiosk-0001", "chain": "seven-eleven", "store_id": "store-0001"}


def municipal_openapi(name: str) -> dict[str, Any]:
    use_registration = operation(
        "本籍地の利用登録 (addition): a person whose 本籍 is here and who lives "
        "elsewhere registers to have their family registers at a kiosk; 201 when "
        "registered now, 200 when already registered",
        body=MUNICIPAL_USE_REGISTRATION_REQUEST, ok=201,
        body_example={"request_id": "9f2c", "resident_code": "R0000001",
                      "residence_code": "452017", "at": _AT},
        response=MUNICIPAL_USE_REGISTRATION_RESPONSE,
        example={"status": "registered", "created": True},
        problems=("type-unavailable", "resident-ineligible", "conflict"))
    use_registration["responses"]["200"] = {
        "description": "already registered", "content": {"application/json": {
            "schema": MUNICIPAL_USE_REGISTRATION_RESPONSE,
            "example": {"status": "registered", "created": False}}}}
    return document(
        f"Municipal certificate server (証明書発行サーバ) — {name}",
        "Called only by the center, over mutual TLS with its CN=center certificate. "
        "The whole contract, with every addition marked, is docs/api.md in the repository.",
        {
            "/v1/health": {"get": operation("Liveness and identity", response=HEALTH,
                                            example={"status": "ok", "code": "131016"})},
            "/v1/menu": {"post": operation(
                "What this resident may order on the given instant (basis: residence, or "
                "domicile for a person registered for the use of their 本籍)",
                body=MUNICIPAL_MENU_REQUEST, response=MENU,
                body_example={"resident_code": "R0000001", "at": _AT},
                problems=("resident-ineligible",))},
            "/v1/certificates": {"post": operation(
                "Issue certificates as PDFs; idempotent on request_id",
                body=MUNICIPAL_CERTIFICATES_REQUEST, ok=201,
                body_example={"request_id": "3b7e", "resident_code": "R0000001",
                              "type": "juminhyo", "copies": 1,
                              "options": {"members": "household"}, "at": _AT,
                              "kiosk": _KIOSK},
                response=MUNICIPAL_CERTIFICATES_RESPONSE,
                problems=("resident-ineligible", "type-unavailable", "member-not-in-household",
                          "conflict"))},
            "/v1/use-registrations": {"post": use_registration},
            "/v1/certificates/{request_id}/outcome": {"post": operation(
                "Addition (reconciliation): what became of a request's certificates "
                "(delivered = printed, failed, voided); the issuance history shows it, "
                "`undelivered` until reported. Idempotent",
                body=MUNICIPAL_OUTCOME_REQUEST, response=MUNICIPAL_OUTCOME_RESPONSE,
                problems=("not-found",))},
            "/v1/openapi.json": {"get": operation("This document", response=OPENAPI_DOCUMENT)},
            "/metrics": {"get": operation(
                "Prometheus metrics (text exposition format); any client certificate of "
                "the TLS CA", content_type="text/plain", response={"type": "string"})},
        })


RESIDENT_VIEW: dict[str, Any] = {
    "type": "object", "required": ["resident_code", "household_id", "name", "status"],
    "properties": {"resident_code": {"type": "string"}, "household_id": {"type": "string"},
                   "member_id": {"type": "string"}, "name": {"type": "string"},
                   "name_kana": {"type": "string"}, "status": {"type": "string"}}}


def answer(required: list[str], **properties: Any) -> dict[str, Any]:
    """An answer's schema: ``properties`` (name: schema), the ``required`` ones."""
    return {"type": "object", "required": required, "properties": properties}


_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_OPT_STR = {"type": ["string", "null"]}
# The clerk's answers (municipal_server.admin_api), so that a fuzzer's conformance check
# and a generated client see what each one holds.
RESIDENT_RECORD = {**RESIDENT_VIEW, "required": [
    *RESIDENT_VIEW["required"], "address", "age", "seal", "tax_years", "cards"],
    "properties": {**RESIDENT_VIEW["properties"], "address": _OPT_STR, "age": _INT,
                   "seal": {"oneOf": [{"type": "null"}, answer(
                       ["status", "registered_on"], status=_STR, registered_on=_STR)]},
                   "tax_years": {"type": "array", "items": _INT},
                   "cards": {"type": "array", "items": answer(
                       ["serial", "credential", "status"], serial=_STR, credential=_STR,
                       status=_STR)}}}
HISTORY = answer(["issuances"], issuances={"type": "array", "items": answer(
    ["request_id", "type", "copies", "issued_at", "certificate_numbers", "outcome",
     "outcomes"], request_id=_STR, type=_STR, copies=_INT, issued_at=_STR,
    terminal_id=_OPT_STR, chain=_OPT_STR, store_id=_OPT_STR,
    certificate_numbers={"type": "array", "items": _STR}, outcome=_STR,
    outcomes={"type": "array", "items": answer(["certificate_number"],
                                               certificate_number=_STR)})})
HOUSEHOLD_ADDED = answer(["household_id", "residents"], household_id=_STR,
                         residents={"type": "array", "items": RESIDENT_VIEW})
DEATH_RECORDED = {**RESIDENT_VIEW, "required": [*RESIDENT_VIEW["required"],
                                                "revoked_certificates"],
                  "properties": {**RESIDENT_VIEW["properties"],
                                 "revoked_certificates": {}}}
SEAL_STATE = answer(["resident_code", "seal"], resident_code=_STR,
                    seal={"enum": ["active", "abolished"]})
CARD_ISSUED = answer(["serial", "certificate"], serial=_STR,
                     certificate={"type": "string", "description": "PEM"}, not_after=_STR)
CARD_STATE = answer(["serial", "status"], serial=_STR, status=_STR)
PIN_RESET_RECORDED = answer(["serial", "pin_reset"], serial=_STR, pin_reset=_BOOL)
TAX_RECORDED = answer(["resident_code", "fiscal_year", "total_income", "taxable_income",
                       "tax_yen"], resident_code=_STR, fiscal_year=_INT, total_income=_INT,
                      taxable_income=_INT, tax_yen=_INT)
FAMILY_REGISTER_ADDED = answer(["register_id", "persons"], register_id=_STR,
                               persons={"type": "array", "items": _STR})
DISASTER_ADDED = answer(["disaster_id", "name", "occurred_on"], disaster_id=_STR,
                        name=_STR, occurred_on=_STR)
DAMAGE_RECORDED = answer(["disaster_id", "household_id", "damage_level"], disaster_id=_STR,
                         household_id=_STR, damage_level=_STR)


def admin_openapi(name: str, schemas: dict[str, BodySchema],
                  extra_paths: dict[str, Any] | None = None) -> dict[str, Any]:
    """The clerk's API (窓口業務) from the schemas that validate it (``schemas``:
    the request bodies of municipal_server.admin_api, by name), with the paths
    other modules add (``extra_paths``)."""
    def op(summary: str, body: str | None = None, ok: int = 200,
           problems: tuple[str, ...] = (), response: dict[str, Any] | None = None,
           body_required: bool = True) -> dict[str, Any]:
        return operation(summary, body=schemas[body].schema if body else None, ok=ok,
                         body_required=body_required, response=response,
                         problems=problems, security="clerkToken")
    found = ("resident-not-found",)
    resident = "/admin/v1/residents/{resident_code}"
    search = op("Search residents by name or kana (?name=)", response={
        "type": "object", "required": ["residents"],
        "properties": {"residents": {"type": "array", "items": RESIDENT_VIEW}}},
        problems=("invalid-request",))
    search["parameters"] = [{"name": "name", "in": "query", "required": True,
                             "description": "part of the name or its kana, 1 to 50 characters",
                             "schema": {"type": "string", "minLength": 1, "maxLength": 50}}]
    return document(
        f"Clerk's admin API (窓口業務) — {name}",
        "Loopback only, bearer token. Every change is in force for the next kiosk request.",
        {
            "/admin/v1/residents": {"get": search},
            resident: {"get": op("One resident's record", problems=found,
                                 response=RESIDENT_RECORD)},
            resident + "/history": {"get": op(
                "交付履歴 of one resident; each issuance's `outcome` (undelivered until the "
                "center reports delivered, partly-delivered, failed or voided) and "
                "`outcomes` per certificate", problems=found, response=HISTORY)},
            "/admin/v1/households": {"post": op("A household moving in (転入)", "HOUSEHOLD",
                                                201, response=HOUSEHOLD_ADDED)},
            "/admin/v1/households/{household_id}/members": {"post": op(
                "A birth or a member joining a household", "NEW_MEMBER", 201,
                ("not-found",), response=RESIDENT_VIEW)},
            resident + "/move-out": {"post": op(
                "転出届: scheduled, or completed", "MOVE_OUT", problems=(*found, "conflict"),
                response=RESIDENT_VIEW)},
            resident + "/death": {"post": op(
                "死亡届; the center revokes the resident's card certificates", "DEATH",
                problems=(*found, "conflict", "upstream-error"), response=DEATH_RECORDED)},
            resident + "/support-measure": {"put": op("支援措置: set or clear",
                                                      "SUPPORT_MEASURE", problems=found,
                                                      response=RESIDENT_VIEW)},
            resident + "/seal": {
                "put": op("印鑑登録 (PNG impression, else the surname's seal)", "SEAL",
                          problems=(*found, "conflict"), response=SEAL_STATE),
                "delete": op("印鑑登録の廃止", problems=(*found, "not-found"),
                             response=SEAL_STATE)},
            resident + "/cards": {"post": op(
                "Have the center's JPKI certify a card key", "CARD", 201,
                (*found, "conflict", "upstream-error"), response=CARD_ISSUED)},
            "/admin/v1/cards/{serial}/status": {"post": op(
                "Suspend (lost), reinstate or revoke a card", "CARD_STATUS_CHANGE",
                problems=("not-found", "conflict", "upstream-error"), response=CARD_STATE)},
            "/admin/v1/cards/{serial}/pin-reset": {"post": op(
                "Record a PIN reset", "PIN_RESET", problems=("not-found",),
                response=PIN_RESET_RECORDED)},
            resident + "/tax/{fiscal_year}": {"put": op(
                "Record a 年度's assessment from the income", "TAX", problems=found,
                response=TAX_RECORDED)},
            "/admin/v1/family-registers": {"post": op(
                "A 戸籍 whose 本籍 is here, with its 附票", "FAMILY_REGISTER", 201,
                ("conflict",), response=FAMILY_REGISTER_ADDED)},
            "/admin/v1/disasters": {"post": op("Record a disaster (災害)", "DISASTER", 201,
                                               response=DISASTER_ADDED)},
            "/admin/v1/disasters/{disaster_id}/households/{household_id}": {"put": op(
                "Record a household's damage (被害認定)", "DAMAGE", problems=("not-found",),
                response=DAMAGE_RECORDED)},
            "/admin/v1/openapi.json": {"get": op("This document", response=OPENAPI_DOCUMENT)},
            **(extra_paths or {}),
        }, security_schemes={"clerkToken": BEARER},
        common_problems=("unauthorized", "internal-error"))
