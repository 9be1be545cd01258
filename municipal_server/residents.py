"""The resident register's records (住民基本台帳), as the rest of the server
sees them: plain values, no storage. The storage (municipal_server/storage/)
imports these, never the reverse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

USE_PENDING, USE_REGISTERED = "pending", "registered"

# Statuses of a resident record.
RESIDENT = "resident"
MOVING_OUT = "moving-out"  # 転出予定
MOVED_OUT = "moved-out"  # 転出
DECEASED = "deceased"  # 死亡
IN_HOUSEHOLD = (RESIDENT, MOVING_OUT)
STATUSES = (RESIDENT, MOVING_OUT, MOVED_OUT, DECEASED)


@dataclass(frozen=True)
class ForeignStatus:
    """What a foreign resident's record holds beyond a Japanese national's."""

    residence_status: str  # 在留資格
    period_of_stay: str  # 在留期間
    period_expires_on: date  # 在留期間の満了の日
    category: str = "中長期在留者"  # 法第30条の45に規定する区分


@dataclass(frozen=True)
class Resident:
    resident_code: str  # 住民票コード: routing only, never printed
    member_id: str  # the id the kiosk sees for household selection
    household_id: str
    name: str
    name_kana: str
    birth_date: date
    sex: str  # "男" | "女"
    relationship: str  # 続柄 to the head of household
    status: str
    moved_in_on: date
    moved_in_reason: str
    previous_address: str | None = None
    support_measure: bool = False  # 支援措置
    nationality: str | None = None  # None for Japanese nationals
    household_order: int = 0
    domicile: str | None = None  # 本籍
    domicile_head: str | None = None  # 筆頭者
    domicile_code: str | None = None  # 本籍地の団体コード
    foreign: ForeignStatus | None = None
    status_on: date | None = None  # when the status took (or takes) effect
    address_set_on: date | None = None  # 住所を定めた年月日 (None: moved_in_on)
    notified_on: date | None = None  # 届出日 of the 転入・転居届 or 出生届 (None: moved_in_on)

    @property
    def address_set(self) -> date:
        """住所を定めた年月日, as printed."""
        return self.address_set_on or self.moved_in_on

    @property
    def notified(self) -> date:
        """届出日, as printed."""
        return self.notified_on or self.moved_in_on


@dataclass(frozen=True)
class Household:
    household_id: str
    address: str


@dataclass(frozen=True)
class SealRegistration:
    resident_code: str
    image_png: bytes
    status: str  # "active" | "abolished"
    registered_on: date
    abolished_on: date | None = None


@dataclass(frozen=True)
class TaxRecord:
    """One fiscal year's 住民税 assessment (課税台帳) of one resident."""

    resident_code: str
    fiscal_year: int  # 年度, on the income of the year before
    address: str  # address on 1 January of the fiscal year (賦課期日)
    gross_salary: int
    income_items: tuple[tuple[str, int], ...]
    deductions: tuple[tuple[str, int], ...]
    dependents: int
    municipal_income_levy: int
    municipal_per_capita: int
    prefectural_income_levy: int
    prefectural_per_capita: int

    @property
    def total_income(self) -> int:
        return sum(amount for _, amount in self.income_items)

    @property
    def total_deductions(self) -> int:
        return sum(amount for _, amount in self.deductions)

    @property
    def taxable_income(self) -> int:
        # 課税標準額 is rounded down to the thousand yen.
        return max(0, self.total_income - self.total_deductions) // 1000 * 1000


@dataclass(frozen=True)
class KosekiEntry:
    """One person recorded in a 戸籍, with the 附票 (address history) kept beside it."""

    person_id: str
    register_id: str
    position: int
    name: str
    given_name: str
    birth_date: date
    father: str | None
    mother: str | None
    relationship: str  # 続柄 to the parents, e.g. 長男
    spouse_role: str | None  # 配偶者区分
    events: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # 身分事項
    removed: bool = False  # 除籍
    resident_code: str | None = None  # the 附票 carries the 住民票コード
    addresses: tuple[tuple[str, date], ...] = ()  # 附票: (住所, 住所を定めた年月日)


@dataclass(frozen=True)
class FamilyRegister:
    """A 戸籍 whose 本籍 is in this municipality."""

    register_id: str
    domicile: str
    head_name: str  # 筆頭者
    compiled_on: date  # 編製日


@dataclass(frozen=True)
class Disaster:
    disaster_id: str
    name: str  # 災害名
    occurred_on: date


@dataclass(frozen=True)
class DamageReport:
    """The damage to a household's dwelling found by the municipality's survey (被害認定)."""

    disaster: Disaster
    household_id: str
    property_address: str
    damage_level: str
    flooding: str | None = None
    surveyed_on: date | None = None


@dataclass(frozen=True)
class IssuedCard:
    serial: str
    resident_code: str
    credential: str
    status: str
    issued_at: str


@dataclass(frozen=True)
class Issuance:
    request_id: str
    resident_code: str
    type: str
    copies: int
    options: dict[str, Any]
    response: dict[str, Any]


class UnknownRecord(LookupError):
    """The record a clerk's change refers to does not exist."""
