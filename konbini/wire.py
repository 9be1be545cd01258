"""Names and values of the wire contract (API.md) shared by all three services."""

from __future__ import annotations

from enum import StrEnum


class CertificateType(StrEnum):
    """The certificate types of API.md, with their Japanese labels."""

    JUMINHYO = "juminhyo"
    JUMINHYO_KISAI = "juminhyo_kisai"
    INKAN = "inkan"
    TAX_INCOME = "tax_income"
    TAX_ASSESSMENT = "tax_assessment"
    TAX_INCOME_ASSESSMENT = "tax_income_assessment"
    KOSEKI_ZENBU = "koseki_zenbu"
    KOSEKI_KOJIN = "koseki_kojin"
    KOSEKI_FUHYO = "koseki_fuhyo"
    RISAI = "risai"

    @property
    def label(self) -> str:
        return CERTIFICATE_LABELS[self]


CERTIFICATE_LABELS: dict[CertificateType, str] = {
    CertificateType.JUMINHYO: "住民票の写し",
    CertificateType.JUMINHYO_KISAI: "住民票記載事項証明書",
    CertificateType.INKAN: "印鑑登録証明書",
    CertificateType.TAX_INCOME: "所得証明書",
    CertificateType.TAX_ASSESSMENT: "課税証明書",
    CertificateType.TAX_INCOME_ASSESSMENT: "所得課税証明書",
    CertificateType.KOSEKI_ZENBU: "戸籍全部事項証明書",
    CertificateType.KOSEKI_KOJIN: "戸籍個人事項証明書",
    CertificateType.KOSEKI_FUHYO: "戸籍の附票の写し",
    CertificateType.RISAI: "罹災証明書",
}

CERTIFICATE_TYPES: tuple[str, ...] = tuple(t.value for t in CertificateType)

TAX_TYPES = frozenset({CertificateType.TAX_INCOME, CertificateType.TAX_ASSESSMENT,
                       CertificateType.TAX_INCOME_ASSESSMENT})
# 戸籍証明書 and 附票: kept by the municipality of the 本籍, not of the address.
FAMILY_REGISTER_TYPES = frozenset({CertificateType.KOSEKI_ZENBU, CertificateType.KOSEKI_KOJIN,
                                   CertificateType.KOSEKI_FUHYO})

# Which options each type takes (API.md, Certificate types).
TYPE_OPTIONS: dict[CertificateType, frozenset[str]] = {
    CertificateType.JUMINHYO: frozenset({"members", "relationship", "domicile", "nationality"}),
    CertificateType.TAX_INCOME: frozenset({"fiscal_year"}),
    CertificateType.TAX_ASSESSMENT: frozenset({"fiscal_year"}),
    CertificateType.TAX_INCOME_ASSESSMENT: frozenset({"fiscal_year"}),
    CertificateType.RISAI: frozenset({"disaster_id"}),
    # Another person of the same 戸籍 (a ``persons`` entry of the menu item).
    CertificateType.KOSEKI_KOJIN: frozenset({"person"}),
    CertificateType.KOSEKI_FUHYO: frozenset({"person"}),
}


class Credential(StrEnum):
    """What the resident presents: a card, a face-authentication card, a smartphone."""

    CARD = "card"
    FACE_AUTH = "face_auth"
    SMARTPHONE = "smartphone"


class CardStatus(StrEnum):
    """Status of a user-authentication certificate in the JPKI registry."""

    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


MAX_COPIES = 10
DOWNLOAD_WINDOW_SECONDS = 600
CHALLENGE_SECONDS = 120
SESSION_IDLE_SECONDS = 600
MAX_BODY_BYTES = 1024 * 1024

# Headers
REQUEST_ID_HEADER = "X-Request-Id"
# Test environments only (issue 14): the center asks a municipal server started with
# --dev to misrender ("wrong-person", "foreign-page"); see municipal_server.dev_faults.
DEV_FAULT_HEADER = "Konbini-Dev-Fault"
