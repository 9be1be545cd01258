"""Who may have which certificate (交付の可否), as pure functions of the
register's current values and the day of issuance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .register import DECEASED, MOVED_OUT, MOVING_OUT, Resident, SealRegistration

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


def type_refusal(cert_type: str, seal: SealRegistration | None) -> Refusal | None:
    """Why this (eligible) resident may not have this type, if at all."""
    if cert_type == "inkan":
        return seal_refusal(seal)
    if cert_type == "juminhyo":
        return None
    return Refusal("not-offered", "この証明書は発行できません")
