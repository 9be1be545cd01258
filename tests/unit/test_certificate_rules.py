"""Pure rules of issue 3: which types a holder may have, tax years and
assessments, and what goes on the paper (no server)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from konbini.wire import CertificateType
from municipal_server.documents import koseki_input, person
from municipal_server.eligibility import HolderFacts, type_refusal
from municipal_server.profile import load_profile
from municipal_server.register import (
    FamilyRegister,
    ForeignStatus,
    KosekiEntry,
    Resident,
    SealRegistration,
)
from municipal_server.tax import assess, latest_fiscal_year, offered_fiscal_years, salary_income

TARO = Resident("11111111111", "m-1", "h-1", "霞 太郎", "かすみ たろう", date(1980, 4, 1), "男",
                "世帯主", "resident", date(2015, 4, 1), "転入",
                domicile="東京都千代田区霞が関二丁目1番", domicile_head="霞 太郎",
                domicile_code="131016")
SMITH = Resident("22222222222", "m-2", "h-2", "スミス ジョン", "すみす じょん", date(1988, 8, 8),
                 "男", "世帯主", "resident", date(2020, 4, 1), "転入", nationality="アメリカ合衆国",
                 foreign=ForeignStatus("技術・人文知識・国際業務", "3年", date(2028, 3, 31)))
ENTRY = KosekiEntry("kp-1", "k-1", 1, "霞 太郎", "太郎", date(1980, 4, 1), "霞 一郎", "霞 和子",
                    "長男", "夫", (("出生", (("出生日", "昭和55年4月1日"),)),),
                    resident_code="11111111111")


@pytest.mark.parametrize(("day", "year"), [
    (date(2026, 5, 31), 2025), (date(2026, 6, 1), 2026), (date(2027, 1, 1), 2026)])
def test_a_new_fiscal_year_is_certified_from_june(day: date, year: int) -> None:
    assert latest_fiscal_year(day) == year
    assert offered_fiscal_years(day, 2) == (year, year - 1)


@pytest.mark.parametrize(("gross", "income"), [
    (500_000, 0), (1_625_000, 1_075_000), (3_600_000, 2_440_000), (6_200_000, 4_520_000),
    (10_000_000, 8_050_000)])
def test_salary_income_after_the_employment_deduction(gross: int, income: int) -> None:
    assert salary_income(gross) == income


def test_an_assessment_adds_up() -> None:
    record = assess("1", 2026, "東京都千代田区", gross_salary=6_200_000, spouse=True)
    assert record.total_income == 4_520_000
    assert dict(record.deductions) == {"社会保険料控除": 930_000, "配偶者控除": 330_000,
                                       "基礎控除": 430_000}
    assert record.taxable_income == 2_830_000
    assert (record.municipal_income_levy, record.prefectural_income_levy) == (169_800, 113_200)
    assert (record.municipal_per_capita, record.prefectural_per_capita) == (3_000, 1_000)
    assert record.dependents == 1
    low = assess("2", 2026, "x", gross_salary=900_000)
    assert low.total_income == 350_000
    assert low.municipal_per_capita == low.municipal_income_levy == 0  # 非課税


def test_which_types_a_holder_may_have() -> None:
    seal = SealRegistration("1", b"", "active", date(2016, 4, 1))
    full = HolderFacts(seal=seal, tax_years=(2026,), koseki=ENTRY, disaster_ids=("d",))
    assert all(type_refusal(t.value, full) is None for t in CertificateType)
    bare = HolderFacts()
    reasons = {t.value: r.reason for t in CertificateType if (r := type_refusal(t.value, bare))}
    assert reasons == {
        "inkan": "seal-not-registered", "tax_income": "no-tax-record",
        "tax_assessment": "no-tax-record", "tax_income_assessment": "no-tax-record",
        "koseki_zenbu": "no-domicile", "koseki_kojin": "no-domicile",
        "koseki_fuhyo": "no-domicile", "risai": "no-disaster-record"}
    elsewhere = HolderFacts(domicile_elsewhere=True)
    assert type_refusal("koseki_zenbu", elsewhere).reason == "use-registration-required"
    unregistered = HolderFacts(koseki=ENTRY, needs_use_registration=True)
    assert type_refusal("koseki_kojin", unregistered).reason == "use-registration-required"
    removed = HolderFacts(koseki=replace(ENTRY, removed=True))  # 除籍
    assert type_refusal("koseki_kojin", removed).reason == "no-domicile"


def test_optional_items_apply_to_whom_they_fit() -> None:
    taro = person(TARO, relationship=True, domicile=True, nationality=True)
    assert taro.family_register is not None
    assert (taro.family_register.domicile, taro.family_register.head) == (
        "東京都千代田区霞が関二丁目1番", "霞 太郎")
    assert taro.foreign is None and taro.use_western_dates is False
    smith = person(SMITH, relationship=False, domicile=True, nationality=True)
    assert smith.family_register is None  # no 戸籍 for a foreign resident
    assert smith.foreign is not None and smith.foreign.residence_status.startswith("技術")
    assert smith.use_western_dates is True and smith.relationship is None
    plain = person(TARO, relationship=False)
    assert plain.family_register is None and plain.relationship is None


def test_whole_register_or_one_person() -> None:
    profile = load_profile("131016")
    register = FamilyRegister("k-1", "東京都千代田区霞が関二丁目1番", "霞 太郎", date(2008, 4, 1))
    hanako = KosekiEntry("kp-2", "k-1", 2, "霞 花子", "花子", date(1982, 6, 15), None, None,
                         "長女", "妻", ())
    zenbu = koseki_input(profile, CertificateType.KOSEKI_ZENBU, register, [ENTRY, hanako],
                         ENTRY, number="n", day=date(2026, 11, 24))
    kojin = koseki_input(profile, CertificateType.KOSEKI_KOJIN, register, [ENTRY, hanako],
                         ENTRY, number="n", day=date(2026, 11, 24))
    assert [p.given_name for p in zenbu.persons] == ["太郎", "花子"]
    assert [p.given_name for p in kojin.persons] == ["太郎"]
    assert (zenbu.kind, kojin.kind) == ("zenbu", "kojin")
