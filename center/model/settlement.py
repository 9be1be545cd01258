"""Settlement terms and statements (精算): pure rules over plain values.

- Contract (契約): per certificate, a commission split between the center
  (J-LIS) and the store (the chain), and a yearly operating contribution
  (運営負担金) of the municipality; effective-dated (from ``starts_on``).
- Fee period (手数料の期間設定, e.g. a campaign fee): a municipality's fee for
  one type between two dates, inclusive; periods of one type never overlap.
- Months and fiscal years (年度: April to March) in Japan time.
- The monthly statement of a municipality (証明書コンビニ交付手数料請求内訳書)
  and of a chain, computed from ledger figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from konbini.wire import CertificateType

from .orders import EntryKind

JST = ZoneInfo("Asia/Tokyo")
FIRST_YEAR, LAST_YEAR = 2000, 2100  # reports outside this are surely a typo

# Without a contract of its own a municipality is on the default terms; these
# built-in ones follow a published 2010 estimate: 120 yen a certificate and
# 3 million yen a year (store 110, center 10).
DEFAULT_STORE_COMMISSION_YEN = 110
DEFAULT_CENTER_COMMISSION_YEN = 10
DEFAULT_YEARLY_CONTRIBUTION_YEN = 3_000_000

# National statistics group the types like this (the FY2023 table of DESIGN.md, plus 罹災).
TYPE_GROUPS: dict[str, tuple[CertificateType, ...]] = {
    "住民票": (CertificateType.JUMINHYO,),
    "住記載": (CertificateType.JUMINHYO_KISAI,),
    "印鑑": (CertificateType.INKAN,),
    "税": (CertificateType.TAX_INCOME, CertificateType.TAX_ASSESSMENT,
          CertificateType.TAX_INCOME_ASSESSMENT),
    "戸籍": (CertificateType.KOSEKI_ZENBU, CertificateType.KOSEKI_KOJIN),
    "附票": (CertificateType.KOSEKI_FUHYO,),
    "罹災": (CertificateType.RISAI,),
}
GROUP_OF_TYPE: dict[str, str] = {t.value: g for g, ts in TYPE_GROUPS.items() for t in ts}


class TermsError(ValueError):
    """Bad input for terms or reports; ``field`` names it (a problem's errors[].field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# -- months and fiscal years -------------------------------------------------
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field: str = "month") -> Month:
        found = _MONTH.match(text or "")
        if not found:
            raise TermsError(field, "a month is YYYY-MM")
        year, month = int(found[1]), int(found[2])
        if not 1 <= month <= 12:
            raise TermsError(field, "the month must be 01 to 12")
        check_year(year, field)
        return cls(year, month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def span(self) -> tuple[datetime, datetime]:
        """[start, end) of the month in Japan time, as aware instants."""
        return jst_midnight(self.first_day), jst_midnight(self.next().first_day)

    @property
    def fiscal_year(self) -> int:
        return self.year if self.month >= 4 else self.year - 1


def check_year(year: int, field: str = "fiscal_year") -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise TermsError(field, f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return year


def jst_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), JST)


def fiscal_year_of(instant: datetime) -> int:
    """年度: 1 April to 31 March, in Japan time."""
    local = instant.astimezone(JST)
    return local.year if local.month >= 4 else local.year - 1


def fiscal_year_span(fiscal_year: int) -> tuple[datetime, datetime]:
    check_year(fiscal_year)
    return jst_midnight(date(fiscal_year, 4, 1)), jst_midnight(date(fiscal_year + 1, 4, 1))


def fiscal_year_months(fiscal_year: int) -> list[Month]:
    return [Month(fiscal_year + (m < 4), m) for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]


def jst_date(instant: datetime) -> date:
    return instant.astimezone(JST).date()


def parse_date(text: str, field: str) -> date:
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise TermsError(field, "a date is YYYY-MM-DD") from exc
    check_year(day.year, field)
    return day


# -- contracts ---------------------------------------------------------------
@dataclass(frozen=True)
class Contract:
    """Terms in force from ``starts_on``; ``municipality_code`` None: the default terms."""

    municipality_code: str | None
    starts_on: date
    center_commission_yen: int
    store_commission_yen: int
    yearly_contribution_yen: int

    @property
    def commission_yen(self) -> int:
        return self.center_commission_yen + self.store_commission_yen

    def check(self) -> Contract:
        for name in ("center_commission_yen", "store_commission_yen",
                     "yearly_contribution_yen"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise TermsError(name, "must be a whole number of yen, 0 or more")
        if self.center_commission_yen > 100_000 or self.store_commission_yen > 100_000:
            raise TermsError("commission", "a commission of more than 100,000 yen is a typo")
        check_year(self.starts_on.year, "starts_on")
        return self

    def to_json(self) -> dict[str, Any]:
        return {"municipality_code": self.municipality_code,
                "starts_on": self.starts_on.isoformat(),
                "center_commission_yen": self.center_commission_yen,
                "store_commission_yen": self.store_commission_yen,
                "commission_yen": self.commission_yen,
                "yearly_contribution_yen": self.yearly_contribution_yen}


BUILT_IN_CONTRACT = Contract(None, date(FIRST_YEAR, 1, 1), DEFAULT_CENTER_COMMISSION_YEN,
                             DEFAULT_STORE_COMMISSION_YEN, DEFAULT_YEARLY_CONTRIBUTION_YEN)


def contract_in_force(contracts: Iterable[Contract], municipality_code: str,
                      day: date) -> Contract:
    """The municipality's latest contract started by ``day``; else the default terms'."""
    own = [c for c in contracts if c.municipality_code == municipality_code
           and c.starts_on <= day]
    if own:
        return max(own, key=lambda c: c.starts_on)
    default = [c for c in contracts if c.municipality_code is None and c.starts_on <= day]
    return max(default, key=lambda c: c.starts_on) if default else BUILT_IN_CONTRACT


def contribution_share(yearly_yen: int, month: Month) -> int:
    """The month's twelfth of a yearly contribution, in whole yen; the twelve
    shares of a fiscal year add up to the yearly amount exactly."""
    index = fiscal_year_months(month.fiscal_year).index(month) + 1
    return yearly_yen * index // 12 - yearly_yen * (index - 1) // 12


# -- fee periods -------------------------------------------------------------
@dataclass(frozen=True)
class FeePeriod:
    """A fee for one type from ``starts_on`` to ``ends_on`` inclusive (Japan dates)."""

    municipality_code: str
    type: str
    fee_yen: int
    starts_on: date
    ends_on: date
    id: int | None = None

    def check(self) -> FeePeriod:
        if not isinstance(self.fee_yen, int) or not 0 <= self.fee_yen <= 10_000:
            raise TermsError("fee_yen", "a fee is 0 to 10,000 yen")
        if self.ends_on < self.starts_on:
            raise TermsError("ends_on", "the period ends before it starts")
        return self

    def overlaps(self, other: FeePeriod) -> bool:
        return (self.municipality_code == other.municipality_code and self.type == other.type
                and self.starts_on <= other.ends_on and other.starts_on <= self.ends_on)

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "fee_yen": self.fee_yen,
                "starts_on": self.starts_on.isoformat(), "ends_on": self.ends_on.isoformat()}


def fee_in_force(base_fee_yen: int, periods: Iterable[FeePeriod], cert_type: str,
                 instant: datetime) -> int:
    """The fee at this instant: a period's fee on its dates (Japan time), else the base fee."""
    day = jst_date(instant)
    for period in periods:
        if period.type == cert_type and period.covers(day):
            return period.fee_yen
    return base_fee_yen


# -- statements --------------------------------------------------------------
@dataclass(frozen=True)
class LedgerFigure:
    """An aggregate of ledger entries of one kind, type and fee (what storage returns)."""

    kind: str  # "charge" | "refund"
    type: str
    fee_yen: int
    count: int
    amount_yen: int
    center_commission_yen: int
    store_commission_yen: int
    key: str = ""  # municipality code (chain statements) or chain (municipal ones)


@dataclass(frozen=True)
class StatementLine:
    """One row of the statement: a type at one fee."""

    type: str
    label: str
    group: str
    fee_yen: int
    certificates: int
    fees_yen: int
    commission_yen: int
    refunded_copies: int
    refunded_yen: int


@dataclass(frozen=True)
class MunicipalStatement:
    """証明書コンビニ交付手数料請求内訳書: one municipality, one month.

    ``net_yen`` = fees collected − commission − contribution share: positive,
    the center pays the municipality; negative (a campaign fee below the
    commission, or a quiet month), the municipality pays the center."""

    municipality_code: str
    municipality_name: str
    month: str
    fiscal_year: int
    lines: tuple[StatementLine, ...]
    certificates: int
    fees_collected_yen: int
    refunded_copies: int
    refunded_yen: int
    center_commission_yen: int
    store_commission_yen: int
    commission_yen: int
    yearly_contribution_yen: int
    contribution_yen: int
    net_yen: int
    contract: dict[str, Any] = field(default_factory=dict)
    by_chain: tuple[dict[str, Any], ...] = ()

    @property
    def direction(self) -> str:
        return "payable-to-municipality" if self.net_yen >= 0 else "receivable-from-municipality"

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["kind"] = "municipality"
        body["lines"] = [asdict(line) for line in self.lines]
        body["by_chain"] = list(self.by_chain)
        body["direction"] = self.direction
        return body


@dataclass(frozen=True)
class ChainStatement:
    """One chain, one month: what its stores collected, what the chain keeps (the
    store commission) and what it passes on."""

    chain: str
    month: str
    fiscal_year: int
    certificates: int
    collected_yen: int
    refunded_copies: int
    refunded_yen: int
    kept_yen: int
    remitted_yen: int
    by_municipality: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["kind"] = "chain"
        body["by_municipality"] = list(self.by_municipality)
        return body


def _label(cert_type: str) -> str:
    try:
        return CertificateType(cert_type).label
    except ValueError:
        return cert_type


def municipal_statement(code: str, name: str, month: Month, figures: Sequence[LedgerFigure],
                        contract: Contract,
                        by_chain: Sequence[LedgerFigure] = ()) -> MunicipalStatement:
    lines: dict[tuple[str, int], dict[str, int]] = {}
    for f in figures:
        line = lines.setdefault((f.type, f.fee_yen), {
            "certificates": 0, "fees_yen": 0, "commission_yen": 0, "refunded_copies": 0,
            "refunded_yen": 0})
        if f.kind == EntryKind.CHARGE:
            line["certificates"] += f.count
            line["fees_yen"] += f.amount_yen
            line["commission_yen"] += f.center_commission_yen + f.store_commission_yen
        else:
            line["refunded_copies"] += f.count
            line["refunded_yen"] += f.amount_yen
    order = {t.value: i for i, t in enumerate(CertificateType)}
    built = tuple(StatementLine(t, _label(t), GROUP_OF_TYPE.get(t, ""), fee, **v)
                  for (t, fee), v in sorted(lines.items(),
                                            key=lambda kv: (order.get(kv[0][0], 99),
                                                            -kv[0][1])))
    charges = [f for f in figures if f.kind == EntryKind.CHARGE]
    fees = sum(f.amount_yen for f in charges)
    center = sum(f.center_commission_yen for f in charges)
    store = sum(f.store_commission_yen for f in charges)
    contribution = contribution_share(contract.yearly_contribution_yen, month)
    chains: dict[str, dict[str, Any]] = {}
    for f in by_chain:
        if f.kind != EntryKind.CHARGE:
            continue
        row = chains.setdefault(f.key, {"chain": f.key, "certificates": 0, "fees_yen": 0,
                                        "store_commission_yen": 0})
        row["certificates"] += f.count
        row["fees_yen"] += f.amount_yen
        row["store_commission_yen"] += f.store_commission_yen
    return MunicipalStatement(
        municipality_code=code, municipality_name=name, month=str(month),
        fiscal_year=month.fiscal_year, lines=built,
        certificates=sum(f.count for f in charges), fees_collected_yen=fees,
        refunded_copies=sum(f.count for f in figures if f.kind == EntryKind.REFUND),
        refunded_yen=sum(f.amount_yen for f in figures if f.kind == EntryKind.REFUND),
        center_commission_yen=center, store_commission_yen=store,
        commission_yen=center + store,
        yearly_contribution_yen=contract.yearly_contribution_yen,
        contribution_yen=contribution, net_yen=fees - center - store - contribution,
        contract=contract.to_json(),
        by_chain=tuple(sorted(chains.values(), key=lambda r: r["chain"])))


def chain_statement(chain: str, month: Month,
                    figures: Sequence[LedgerFigure]) -> ChainStatement:
    """``figures`` keyed by municipality code."""
    charges = [f for f in figures if f.kind == EntryKind.CHARGE]
    collected = sum(f.amount_yen for f in charges)
    kept = sum(f.store_commission_yen for f in charges)
    per: dict[str, dict[str, Any]] = {}
    for f in charges:
        row = per.setdefault(f.key, {"municipality_code": f.key, "certificates": 0,
                                     "collected_yen": 0, "kept_yen": 0})
        row["certificates"] += f.count
        row["collected_yen"] += f.amount_yen
        row["kept_yen"] += f.store_commission_yen
    return ChainStatement(
        chain=chain, month=str(month), fiscal_year=month.fiscal_year,
        certificates=sum(f.count for f in charges), collected_yen=collected,
        refunded_copies=sum(f.count for f in figures if f.kind == EntryKind.REFUND),
        refunded_yen=sum(f.amount_yen for f in figures if f.kind == EntryKind.REFUND),
        kept_yen=kept, remitted_yen=collected - kept,
        by_municipality=tuple(sorted(per.values(), key=lambda r: r["municipality_code"])))


def utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def days(start: date, end: date) -> Iterable[date]:
    while start < end:
        yield start
        start += timedelta(days=1)
