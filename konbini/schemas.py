"""JSON Schemas of the wire contract, shared by the services.

Each schema both validates request bodies (konbini.validation) and appears in
the OpenAPI documents the services publish, so they cannot drift apart."""

from __future__ import annotations

from typing import Any

from .wire import CERTIFICATE_TYPES, MAX_COPIES, CardStatus, Credential

Schema = dict[str, Any]

B64URL: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "maxLength": 16384}
ISO_TIME: Schema = {"type": "string", "format": "date-time", "minLength": 10, "maxLength": 40}
YEN: Schema = {"type": "integer", "minimum": 0, "maximum": 1_000_000}
CERT_TYPE: Schema = {"type": "string", "enum": list(CERTIFICATE_TYPES)}
CREDENTIAL: Schema = {"type": "string", "enum": [c.value for c in Credential]}
CARD_STATUS: Schema = {"type": "string", "enum": [s.value for s in CardStatus]}
MUNICIPALITY_CODE: Schema = {"type": "string", "pattern": "^[0-9]{6}$"}
RESIDENT_CODE: Schema = {"type": "string", "pattern": "^[0-9A-Za-z-]{1,32}$"}
ID: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
MEMBER_ID: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
SHORT_TEXT: Schema = {"type": "string", "maxLength": 200}


def obj(properties: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    """A closed object: unknown fields are refused (422 with ``unknown field``)."""
    schema: Schema = {"type": "object", "properties": properties,
                      "additionalProperties": False}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


ORDER_OPTIONS: Schema = obj({
    "members": {"oneOf": [
        {"const": "household"},
        {"type": "array", "items": MEMBER_ID, "minItems": 1, "maxItems": 20,
         "uniqueItems": True},
    ]},
    "relationship": {"type": "boolean"},
    "domicile": {"type": "boolean"},
    "nationality": {"type": "boolean"},
    "fiscal_year": {"type": "integer", "minimum": 1950, "maximum": 2100},
    "disaster_id": ID,
    "person": ID,  # 戸籍個人事項証明書 / 附票: a person_id of the item's ``persons``
})

KIOSK = obj({"terminal_id": SHORT_TEXT, "chain": SHORT_TEXT, "store_id": SHORT_TEXT},
            ["terminal_id", "chain", "store_id"])

MENU_ITEM: Schema = {
    "type": "object",
    "required": ["type", "label", "fee_yen", "available"],
    "properties": {
        "type": CERT_TYPE, "label": {"type": "string"}, "fee_yen": YEN,
        "available": {"type": "boolean"}, "reason": {"type": "string"},
        "message": {"type": "string"},
        # Additions: when the item opens again, who issues it, and the choices
        # its options take (tax 年度, disasters of a 罹災証明書).
        "opens_at": ISO_TIME,
        "municipality": {"type": "object", "required": ["code", "name"],
                         "properties": {"code": MUNICIPALITY_CODE, "name": {"type": "string"}}},
        "fiscal_years": {"type": "array", "items": {"type": "integer"}},
        "disasters": {"type": "array", "items": {
            "type": "object", "required": ["disaster_id", "name", "occurred_on"],
            "properties": {"disaster_id": ID, "name": {"type": "string"},
                           "occurred_on": {"type": "string", "format": "date"}}}},
        # On a use-registration-required item: the holder's 本籍 municipality, from the
        # municipal server (domicile_code), and from the center when it takes part
        # (register_with), so a kiosk offers POST …/use-registrations in one touch.
        "domicile_code": MUNICIPALITY_CODE,
        # 戸籍個人事項証明書 and 附票: whom of the same 戸籍 the holder may ask for
        # (option ``person``), the holder first.
        "persons": {"type": "array", "items": {
            "type": "object", "required": ["person_id", "name", "self"],
            "properties": {"person_id": ID, "name": {"type": "string"},
                           "self": {"type": "boolean"}}}},
        "register_with": {"type": "object", "required": ["code", "name"],
                          "properties": {"code": MUNICIPALITY_CODE,
                                         "name": {"type": "string"}}},
    },
}
HOUSEHOLD_MEMBER: Schema = {
    "type": "object",
    "required": ["member_id", "name", "relationship", "self"],
    "properties": {"member_id": MEMBER_ID, "name": {"type": "string"},
                   "relationship": {"type": "string"}, "self": {"type": "boolean"}},
}
MENU: Schema = {
    "type": "object",
    "required": ["items", "household", "max_copies"],
    "properties": {"items": {"type": "array", "items": MENU_ITEM},
                   "household": {"type": "array", "items": HOUSEHOLD_MEMBER},
                   "max_copies": {"type": "integer"}},
}

# -- municipal server API (called by the center) ------------------------------
# Addition: ``basis`` "domicile" asks the municipality of the 本籍 about a person
# who lives elsewhere and registered for this use (本籍地の利用登録).
BASIS: Schema = {"enum": ["residence", "domicile"]}
MUNICIPAL_MENU_REQUEST = obj({"resident_code": RESIDENT_CODE, "at": ISO_TIME, "basis": BASIS},
                             ["resident_code", "at"])
MUNICIPAL_USE_REGISTRATION_REQUEST = obj({
    "request_id": ID, "resident_code": RESIDENT_CODE, "residence_code": MUNICIPALITY_CODE,
    "at": ISO_TIME}, ["request_id", "resident_code", "residence_code", "at"])
MUNICIPAL_USE_REGISTRATION_RESPONSE: Schema = {
    "type": "object", "required": ["status"],
    # pending: applied for, until the clerk approves it (1–3 business days in reality)
    "properties": {"status": {"enum": ["registered", "pending"]},
                   "created": {"type": "boolean"}}}
MUNICIPAL_CERTIFICATES_REQUEST = obj({
    "request_id": ID,
    "resident_code": RESIDENT_CODE,
    "type": CERT_TYPE,
    "copies": {"type": "integer", "minimum": 1, "maximum": MAX_COPIES},
    "options": ORDER_OPTIONS,
    "at": ISO_TIME,
    "kiosk": KIOSK,
    "basis": BASIS,
}, ["request_id", "resident_code", "type", "copies", "options", "at", "kiosk"])
MUNICIPAL_CERTIFICATES_RESPONSE: Schema = {
    "type": "object",
    "required": ["fee_yen", "certificates"],
    "properties": {
        "fee_yen": YEN,
        "certificates": {"type": "array", "minItems": 1, "maxItems": MAX_COPIES, "items": {
            "type": "object",
            "required": ["certificate_number", "pdf", "sha256", "fee_yen"],
            "properties": {"certificate_number": {"type": "string", "maxLength": 64},
                           "pdf": {"type": "string"},
                           "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                           "fee_yen": YEN,
                           # Additions (issue 14), the subject binding: the type, how many
                           # pages the PDF has, and the 住民票コード of the persons on it.
                           # The center refuses a certificate without them.
                           "type": CERT_TYPE,
                           "pages": {"type": "integer", "minimum": 1, "maximum": 20},
                           "subjects": {"type": "array", "items": RESIDENT_CODE,
                                        "maxItems": 100},
                           # 住民票の写し: the holder's household the members are drawn from
                           "household": {"type": "array", "items": RESIDENT_CODE,
                                         "maxItems": 100},
                           # 戸籍個人事項証明書, 附票: the persons of the holder's 戸籍
                           # (住民票コード, or the entry's id for one without)
                           "family_register": {"type": "array", "items": RESIDENT_CODE,
                                               "maxItems": 100}},
        }},
    },
}
HEALTH: Schema = {"type": "object", "required": ["status", "code"],
                  "properties": {"status": {"const": "ok"}, "code": MUNICIPALITY_CODE}}

PROBLEM: Schema = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "code": {"type": "string"},
        "detail": {"type": "string"}, "reason": {"type": "string"},
        "message": {"type": "string"},  # the refusal in Japanese, for the screen
        "opens_at": ISO_TIME, "fee_yen": YEN, "remaining": {"type": "integer"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}

# Reconciliation (交付履歴の照合): the center tells a municipal server what became
# of each request it issued. Without ``certificates`` the outcome is every copy's.
OUTCOME: Schema = {"enum": ["delivered", "failed", "voided"]}
MUNICIPAL_OUTCOME_REQUEST = obj({
    "outcome": OUTCOME,
    "reason": {"type": "string", "maxLength": 100},
    "certificates": {"type": "array", "minItems": 1, "maxItems": 10, "items": obj({
        "certificate_number": {"type": "string", "minLength": 1, "maxLength": 64},
        "outcome": OUTCOME,
        "reason": {"type": "string", "maxLength": 100},
    }, ["certificate_number", "outcome"])},
}, ["outcome"])
MUNICIPAL_OUTCOME_RESPONSE: Schema = {
    "type": "object", "required": ["request_id", "outcome", "certificates"],
    "properties": {
        "request_id": {"type": "string"},
        "outcome": {"enum": ["undelivered", "delivered", "partly-delivered", "failed",
                             "voided"]},
        "certificates": {"type": "array", "items": {
            "type": "object", "required": ["certificate_number", "outcome"],
            "properties": {"certificate_number": {"type": "string"},
                           "outcome": {"type": "string"}, "reason": {"type": "string"},
                           "reported_at": {"type": "string"}}}}}}
