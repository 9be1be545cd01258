"""What goes on each certificate: pure functions from register records to the
plain rendering inputs of ``render.inputs``.

They decide what is printed (the members chosen, the optional items asked
for, Western dates for foreign residents) and never pass what must not be
printed: the inputs have no field for the 個人番号 or the 住民票コード."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from konbini.problems import Problem
from konbini.wire import CertificateType

from .profile import Profile
from .register import (
    DamageReport,
    FamilyRegister,
    Household,
    KosekiEntry,
    Resident,
    SealRegistration,
    TaxRecord,
)
from .render.inputs import (
    FamilyRegisterRef,
    ForeignResidentItems,
    FuhyoAddress,
    FuhyoInput,
    InkanInput,
    JuminhyoInput,
    JuminhyoKisaiInput,
    KosekiEvent,
    KosekiInput,
    KosekiPerson,
    Person,
    RisaiInput,
    SubjectBinding,
    TaxInput,
)

# A 住民票コード -> its keyed digest for one certificate (konbini.subject_binding.subject_tag
# with the municipality's key and the certificate number); None writes no marks.
Tagger = Callable[[str], str]


def koseki_subject(entry: KosekiEntry) -> str:
    """Who a 戸籍 entry is, for the subject binding: the 住民票コード its 附票 carries, else
    (a person with no 住民票 here, e.g. living abroad) the entry's own id."""
    return entry.resident_code or entry.person_id


def subject_binding(cert_type: CertificateType, tag: Tagger | None,
                    resident_codes: Iterable[str | None]) -> SubjectBinding | None:
    """The subject mark of a certificate made from the records of ``resident_codes``
    (persons without a code, e.g. long-removed 戸籍 entries, carry none)."""
    if tag is None:
        return None
    return SubjectBinding(cert_type.value, tuple(tag(code) for code in resident_codes if code))

TAX_KINDS = {CertificateType.TAX_INCOME: "income", CertificateType.TAX_ASSESSMENT: "assessment",
             CertificateType.TAX_INCOME_ASSESSMENT: "income_assessment"}


def select_members(household: Sequence[Resident],
                   members: str | list[str] | None) -> tuple[list[Resident], bool]:
    """The members to print and whether that is the whole household.

    ``"household"`` (or nothing) means every current member; a list must name
    current members of the holder's own household."""
    if members is None or members == "household":
        return list(household), True
    by_id = {m.member_id: m for m in household}
    outside = [m for m in members if m not in by_id]
    if outside:
        raise Problem("member-not-in-household",
                      "a requested member is not in the cardholder's household")
    chosen = [m for m in household if m.member_id in set(members)]
    return chosen, len(chosen) == len(household)


def person(member: Resident, *, relationship: bool, domicile: bool = False,
           nationality: bool = False) -> Person:
    """One member of a 住民票の写し with the optional items that apply to them:
    本籍・筆頭者 for Japanese nationals, 国籍・在留資格 for foreign residents."""
    family_register = None
    if domicile and member.nationality is None and member.domicile:
        family_register = FamilyRegisterRef(member.domicile, member.domicile_head or "")
    foreign = None
    if nationality and member.nationality is not None and member.foreign is not None:
        f = member.foreign
        foreign = ForeignResidentItems(member.nationality, f.residence_status, f.period_of_stay,
                                       f.period_expires_on, f.category)
    return Person(member.name, member.name_kana, member.birth_date, member.sex,
                  member.relationship if relationship else None, member.moved_in_on,
                  member.moved_in_reason, member.previous_address,
                  use_western_dates=member.nationality is not None,
                  address_set_on=member.address_set, notified_on=member.notified,
                  family_register=family_register, foreign=foreign)


def juminhyo_input(profile: Profile, household: Household, members: list[Resident],
                   head: Resident | None, *, whole_household: bool, show_relationship: bool,
                   number: str, day: date, copy_index: int, copies: int,
                   show_domicile: bool = False, show_nationality: bool = False,
                   tag: Tagger | None = None) -> JuminhyoInput:
    return JuminhyoInput(
        municipality=profile.municipality, certificate_number=number, issued_on=day,
        address=household.address, head_of_household=head.name if head else "",
        members=tuple(person(m, relationship=show_relationship, domicile=show_domicile,
                             nationality=show_nationality) for m in members),
        show_relationship=show_relationship, copy_index=copy_index, copies=copies,
        whole_household=whole_household,
        binding=subject_binding(CertificateType.JUMINHYO, tag,
                                (m.resident_code for m in members)))


def kisai_input(profile: Profile, holder: Resident, address: str, *, number: str,
                day: date, tag: Tagger | None = None) -> JuminhyoKisaiInput:
    return JuminhyoKisaiInput(
        municipality=profile.municipality, certificate_number=number, issued_on=day,
        name=holder.name, name_kana=holder.name_kana, birth_date=holder.birth_date,
        sex=holder.sex, address=address, became_resident_on=holder.moved_in_on,
        use_western_dates=holder.nationality is not None,
        binding=subject_binding(CertificateType.JUMINHYO_KISAI, tag, [holder.resident_code]))


def inkan_input(profile: Profile, holder: Resident, address: str, seal: SealRegistration,
                *, number: str, day: date, tag: Tagger | None = None) -> InkanInput:
    return InkanInput(
        municipality=profile.municipality, certificate_number=number, issued_on=day,
        name=holder.name, name_kana=holder.name_kana, birth_date=holder.birth_date,
        sex=holder.sex, address=address, seal_image_png=seal.image_png,
        use_western_dates=holder.nationality is not None,
        binding=subject_binding(CertificateType.INKAN, tag, [holder.resident_code]))


def tax_input(profile: Profile, cert_type: CertificateType, holder: Resident,
              record: TaxRecord, *, number: str, day: date, tag: Tagger | None = None
              ) -> TaxInput:
    return TaxInput(
        kind=TAX_KINDS[cert_type], municipality=profile.municipality,
        certificate_number=number, issued_on=day, fiscal_year=record.fiscal_year,
        name=holder.name, address=record.address, birth_date=holder.birth_date,
        income_items=record.income_items, gross_salary=record.gross_salary,
        total_income=record.total_income, deductions=record.deductions,
        total_deductions=record.total_deductions, taxable_income=record.taxable_income,
        municipal_income_levy=record.municipal_income_levy,
        municipal_per_capita=record.municipal_per_capita,
        prefectural_income_levy=record.prefectural_income_levy,
        prefectural_per_capita=record.prefectural_per_capita,
        dependents=record.dependents, use_western_dates=holder.nationality is not None,
        binding=subject_binding(cert_type, tag, [holder.resident_code]))


def _koseki_person(entry: KosekiEntry) -> KosekiPerson:
    return KosekiPerson(
        name=entry.name, given_name=entry.given_name, birth_date=entry.birth_date,
        father=entry.father, mother=entry.mother, relationship=entry.relationship,
        spouse_role=entry.spouse_role,
        events=tuple(KosekiEvent(kind, details) for kind, details in entry.events),
        removed=entry.removed)


def koseki_input(profile: Profile, cert_type: CertificateType, register: FamilyRegister,
                 persons: Sequence[KosekiEntry], holder: KosekiEntry, *, number: str,
                 day: date, tag: Tagger | None = None) -> KosekiInput:
    """全部事項: everyone recorded in the 戸籍, 除籍 included; 個人事項: the holder."""
    whole = cert_type is CertificateType.KOSEKI_ZENBU
    chosen = list(persons) if whole else [holder]
    return KosekiInput(
        kind="zenbu" if whole else "kojin", municipality=profile.municipality,
        certificate_number=number, issued_on=day, domicile=register.domicile,
        head_name=register.head_name, compiled_on=register.compiled_on,
        persons=tuple(_koseki_person(p) for p in chosen),
        binding=subject_binding(cert_type, tag, (koseki_subject(p) for p in chosen)))


def fuhyo_input(profile: Profile, register: FamilyRegister, holder: KosekiEntry, *,
                number: str, day: date, tag: Tagger | None = None) -> FuhyoInput:
    return FuhyoInput(
        municipality=profile.municipality, certificate_number=number, issued_on=day,
        domicile=register.domicile, head_name=register.head_name, name=holder.name,
        birth_date=holder.birth_date,
        addresses=tuple(FuhyoAddress(address, since) for address, since in holder.addresses),
        binding=subject_binding(CertificateType.KOSEKI_FUHYO, tag, [koseki_subject(holder)]))


def risai_input(profile: Profile, report: DamageReport, head: Resident | None, *,
                number: str, day: date, tag: Tagger | None = None,
                household: Sequence[Resident] = ()) -> RisaiInput:
    """``household``: the members the 罹災証明書 of their dwelling is for (its subjects)."""
    return RisaiInput(
        municipality=profile.municipality, certificate_number=number, issued_on=day,
        disaster_name=report.disaster.name, occurred_on=report.disaster.occurred_on,
        property_address=report.property_address,
        head_of_household=head.name if head else "", damage_level=report.damage_level,
        flooding=report.flooding, surveyed_on=report.surveyed_on,
        binding=subject_binding(CertificateType.RISAI, tag,
                                (m.resident_code for m in household)))
