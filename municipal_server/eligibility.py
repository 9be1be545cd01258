"""Who may have which certificate (交付の可否), as pure functions of the
register's current values and the day of issuance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from konbini.wire import FAMILY_REGISTER_TYPES, TAX_TYPES, CertificateType

from .register import DECEASED, MOVED_OUT, MOVING_OUT, KosekiEntry, Resident, SealRegistration

MINIMUM_AGE = 15


@dataclass(frozen=True)
class Refusal:
    reason: str  # the stable ``reason`` of API.md
    message: str  # what the kiosk may show, in Japanese


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day``.

    By 年齢計算ニ関スル法律 a person gains a year at the end of the day before
    the birthday, so on that day they already count as the older age."""
    reference = day + timedelta(days=1)
    years = reference.year - birth_date.year
    if (reference.month, reference.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def unsupported_characters(text: str) -> list[str]:
    """Characters outside JIS X 0208 (外字), which the kiosk print cannot carry."""
    found = []
    for char in text:
        if char in " 　":
            continue
        try:
            char.encode("iso2022_jp")
        except UnicodeEncodeError:
            found.append(char)
    return found


def resident_refusal(resident: Resident, address: str, day: date) -> Refusal | None:
    """Why this cardholder may not use convenience-store issuance today, if at all."""
    if resident.status == DECEASED:
        return Refusal("deceased", "この方の住民票は消除されています")
    if resident.status == MOVED_OUT:
        return Refusal("moved-out", "転出済みのため交付できません")
    if resident.status == MOVING_OUT:
        return Refusal("moving-out", "転出予定のため交付できません。窓口へお越しください")
    if resident.support_measure:
        return Refusal("support-measure",
                       "コンビニ交付をご利用いただけません。窓口へお越しください")
    if age_on(resident.birth_date, day) < MINIMUM_AGE:
        return Refusal("under-15", "15歳未満の方はご利用いただけません")
    if resident.moved_in_on == day:
        return Refusal("moved-in-today", "本日異動のあった方は翌日以降にご利用ください")
    if unsupported_characters(resident.name) or unsupported_characters(address):
        return Refusal("unsupported-characters",
                       "氏名または住所に外字が含まれるため交付できません。窓口へお越しください")
    return None


def seal_refusal(seal: SealRegistration | None) -> Refusal | None:
    if seal is None:
        return Refusal("seal-not-registered", "印鑑登録がありません")
    if seal.status != "active":
        return Refusal("seal-not-registered", "印鑑登録が廃止されています")
    return None


NO_DOMICILE = Refusal("no-domicile", "本籍がこの市区町村にないため交付できません")
USE_REGISTRATION_REQUIRED = Refusal("use-registration-required",
                                    "本籍地の利用登録が必要です")
NO_TAX_RECORD = Refusal("no-tax-record", "交付できる年度の課税の記録がありません")
NO_DISASTER_RECORD = Refusal("no-disaster-record", "罹災の記録がありません")
NOT_OFFERED = Refusal("not-offered", "この証明書は発行できません")


@dataclass(frozen=True)
class HolderFacts:
    """What the register holds about a cardholder, beyond the resident record,
    that decides which types they may have."""

    seal: SealRegistration | None = None
    tax_years: tuple[int, ...] = ()  # offered fiscal years with a record, latest first
    koseki: KosekiEntry | None = None  # their entry in a 戸籍 kept here
    domicile_elsewhere: bool = False  # 本籍 in another municipality (a resident here)
    needs_use_registration: bool = False  # not a resident here, and not registered
    disaster_ids: tuple[str, ...] = ()  # disasters with a damage report for the household


def family_register_refusal(facts: HolderFacts) -> Refusal | None:
    """戸籍証明書 and 附票: only from a 戸籍 kept here; someone who lives
    elsewhere must first register for this use (利用登録)."""
    if facts.koseki is None or facts.koseki.removed:
        return USE_REGISTRATION_REQUIRED if facts.domicile_elsewhere else NO_DOMICILE
    if facts.needs_use_registration:
        return USE_REGISTRATION_REQUIRED
    return None


def type_refusal(cert_type: str, facts: HolderFacts) -> Refusal | None:
    """Why this (eligible) resident may not have this type, if at all."""
    kind = CertificateType(cert_type)
    if kind is CertificateType.INKAN:
        return seal_refusal(facts.seal)
    if kind in (CertificateType.JUMINHYO, CertificateType.JUMINHYO_KISAI):
        return None
    if kind in TAX_TYPES:
        return None if facts.tax_years else NO_TAX_RECORD
    if kind in FAMILY_REGISTER_TYPES:
        return family_register_refusal(facts)
    if kind is CertificateType.RISAI:
        return None if facts.disaster_ids else NO_DISASTER_RECORD
    return NOT_OFFERED
