"""Individual inhabitant tax (個人住民税) as a certificate needs it: which fiscal
years (年度) a municipality certifies, and a simplified assessment (課税計算)
that turns a salary into the figures a 所得課税証明書 prints.

The assessment follows the national standard (給与所得控除, 基礎控除 430,000 yen,
所得割 6% municipal + 4% prefectural, 均等割 3,000 + 1,000 yen) and leaves out
the refinements (調整控除, 森林環境税, 政令市の税率) a real 課税台帳 applies.
It is for synthetic registers; a clerk may record any figures."""

from __future__ import annotations

from datetime import date

from .register import TaxRecord

# A new 年度's assessment is certified from June, when 住民税 notices go out.
NEW_FISCAL_YEAR_FROM = (6, 1)
BASIC_DEDUCTION = 430_000  # 基礎控除 (住民税)
SPOUSE_DEDUCTION = 330_000  # 配偶者控除
DEPENDENT_DEDUCTION = 330_000  # 扶養控除 (一般)
MUNICIPAL_RATE, PREFECTURAL_RATE = 0.06, 0.04
MUNICIPAL_PER_CAPITA, PREFECTURAL_PER_CAPITA = 3_000, 1_000
# Below this total income no 住民税 is levied (非課税限度額, single person, simplified).
NON_TAXABLE_LIMIT = 450_000


def latest_fiscal_year(day: date) -> int:
    """The newest 年度 whose assessment exists on ``day``."""
    return day.year if (day.month, day.day) >= NEW_FISCAL_YEAR_FROM else day.year - 1


def offered_fiscal_years(day: date, count: int) -> tuple[int, ...]:
    """The 年度 a kiosk may certify on ``day``, latest first."""
    latest = latest_fiscal_year(day)
    return tuple(latest - n for n in range(count))


def salary_income(gross: int) -> int:
    """給与所得: the salary after 給与所得控除 (the 2020 table)."""
    if gross <= 550_000:
        return 0
    if gross <= 1_625_000:
        deduction = 550_000
    elif gross <= 1_800_000:
        deduction = int(gross * 0.4) - 100_000
    elif gross <= 3_600_000:
        deduction = int(gross * 0.3) + 80_000
    elif gross <= 6_600_000:
        deduction = int(gross * 0.2) + 440_000
    elif gross <= 8_500_000:
        deduction = int(gross * 0.1) + 1_100_000
    else:
        deduction = 1_950_000
    return gross - deduction


def assess(resident_code: str, fiscal_year: int, address: str, *, gross_salary: int,
           other_income: tuple[tuple[str, int], ...] = (), spouse: bool = False,
           dependents: int = 0, social_insurance: int | None = None) -> TaxRecord:
    """The 年度 ``fiscal_year`` assessment on the income of the year before."""
    income_items = ((("給与", salary_income(gross_salary)),) if gross_salary else ()) + tuple(
        other_income)
    if social_insurance is None:
        social_insurance = gross_salary * 15 // 100  # 健康保険・厚生年金・雇用保険, roughly
    deductions = [("社会保険料控除", social_insurance)] if social_insurance else []
    if spouse:
        deductions.append(("配偶者控除", SPOUSE_DEDUCTION))
    if dependents:
        deductions.append(("扶養控除", DEPENDENT_DEDUCTION * dependents))
    deductions.append(("基礎控除", BASIC_DEDUCTION))
    record = TaxRecord(resident_code, fiscal_year, address, gross_salary, income_items,
                       tuple(deductions), dependents + int(spouse), 0, 0, 0, 0)
    if record.total_income <= NON_TAXABLE_LIMIT:
        return record  # 非課税
    taxable = record.taxable_income
    # 所得割 is rounded down to the hundred yen.
    return TaxRecord(
        resident_code, fiscal_year, address, gross_salary, income_items, tuple(deductions),
        dependents + int(spouse),
        municipal_income_levy=int(taxable * MUNICIPAL_RATE) // 100 * 100,
        municipal_per_capita=MUNICIPAL_PER_CAPITA,
        prefectural_income_levy=int(taxable * PREFECTURAL_RATE) // 100 * 100,
        prefectural_per_capita=PREFECTURAL_PER_CAPITA)
