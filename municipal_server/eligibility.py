"""Who may have which certificate (交付の可否), as pure functions of the
register's current values and the day of issuance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from konbini.wire import FAMILY_REGISTER_TYPES, TAX_TYPES, CertificateType

from .register import DECEASED, MOVED_OUT, MOVING_OUT, KosekiEntry, Resident, SealRegistration

MINIMUM_AGE = 15
# The longest name and address the kiosk formats print (spaces not counted): a
# longer one would be cut or shrunk past legibility, so the counter issues it.
NAME_MAX_CHARS = 30
ADDRESS_MAX_CHARS = 60


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
    try:  # the usual case, in one call (one per character cost ~0.1 ms a name)
        text.encode("iso2022_jp")
        return []
    except UnicodeEncodeError:
        pass
    found = []
    for char in text:
        if char in " 　":
            continue
        try:
            char.encode("iso2022_jp")
        except UnicodeEncodeError:
            found.append(char)
    return found


def too_long_to_print(name: str, address: str) -> str | None:
    """Which of name and address is longer than the certificate prints, if any."""
    def length(text: str) -> int:
        return sum(1 for char in text if char not in " 　")
    if length(name) > NAME_MAX_CHARS:
        return "氏名"
    if length(address) > ADDRESS_MAX_CHARS:
        return "住所"
    return None


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
    too_long = too_long_to_print(resident.name, address)
    if too_long:
        limit = NAME_MAX_CHARS if too_long == "氏名" else ADDRESS_MAX_CHARS
        return Refusal("too-long-to-print",
                       f"{too_long}が証明書に印字できる文字数({limit}文字)を超えるため"
                       "交付できません。窓口へお越しください")
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
HOUSEHOLD_MEMBER_MOVING_OUT = Refusal(
    "household-member-moving-out",
    "世帯に転出予定の方がいるため、住民票の写しは交付できません。窓口へお越しください")
NOTIFICATION_PENDING = Refusal(
    "notification-pending",
    "戸籍への届出が処理中のため、戸籍証明書は交付できません。処理の完了後にご利用ください")
USE_REGISTRATION_PENDING = Refusal(
    "use-registration-pending",
    "本籍地の利用登録は手続き中です(登録手続き中)。市区町村の確認後にご利用いただけます")


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
    household_moving_out: bool = False  # another member of the household is moving out
    koseki_pending: bool = False  # a notification filed against their 戸籍, not yet entered
    use_registration_pending: bool = False  # applied for, not yet approved by the clerk


def family_register_refusal(facts: HolderFacts) -> Refusal | None:
    """戸籍証明書 and 附票: only from a 戸籍 kept here; someone who lives
    elsewhere must first register for this use (利用登録)."""
    if facts.koseki is None or facts.koseki.removed:
        return USE_REGISTRATION_REQUIRED if facts.domicile_elsewhere else NO_DOMICILE
    if facts.needs_use_registration:
        return (USE_REGISTRATION_PENDING if facts.use_registration_pending
                else USE_REGISTRATION_REQUIRED)
    return None


def persons_on_request(kind: CertificateType, holder: KosekiEntry,
                       persons: list[KosekiEntry]) -> list[KosekiEntry]:
    """Whose 個人事項 or 附票 the holder may ask for: themselves and the other
    persons still recorded in the same 戸籍 (not 除籍); a 附票 needs addresses."""
    return [p for p in persons if p.register_id == holder.register_id and not p.removed
            and (kind is not CertificateType.KOSEKI_FUHYO or p.addresses)]


def type_refusal(cert_type: str, facts: HolderFacts) -> Refusal | None:
    """Why this (eligible) resident may not have this type, if at all."""
    kind = CertificateType(cert_type)
    if kind is CertificateType.INKAN:
        return seal_refusal(facts.seal)
    if kind is CertificateType.JUMINHYO:
        # A household in the middle of a move is not certified as it stands (住民票の写し).
        return HOUSEHOLD_MEMBER_MOVING_OUT if facts.household_moving_out else None
    if kind is CertificateType.JUMINHYO_KISAI:
        return None
    if kind in TAX_TYPES:
        return None if facts.tax_years else NO_TAX_RECORD
    if kind in FAMILY_REGISTER_TYPES:
        refusal = family_register_refusal(facts)
        if refusal is None and facts.koseki_pending and kind is not CertificateType.KOSEKI_FUHYO:
            # 戸籍証明書 would certify a register that a filed 届出 is about to change.
            return NOTIFICATION_PENDING
        return refusal
    if kind is CertificateType.RISAI:
        return None if facts.disaster_ids else NO_DISASTER_RECORD
    return NOT_OFFERED
