"""Reports over the settlement ledger: monthly statements and fiscal-year statistics.

Stable entry points (the operator's console builds on them):

- ``await statement(store, month, municipality=CODE)`` → :class:`MunicipalStatement`
  (証明書コンビニ交付手数料請求内訳書: lines by type and fee with certificates,
  fees, commission and refunds; totals; contribution share; ``net_yen``,
  negative when the municipality owes the center); ``.to_json()`` a plain dict.
- ``await statement(store, month, chain=NAME)`` → :class:`ChainStatement`
  (collected, kept = store commission, remitted, by municipality).
- ``await monthly_settlement(store, month)`` → list of every registered
  municipality's :class:`MunicipalStatement` for the month.
- ``await statistics(store, fiscal_year, municipality=None)`` → :class:`Statistics`
  (printed certificates by month, type group, type, municipality, chain,
  hour of day and weekday in Japan time, fees, refunded copies, municipality
  names, and refusals by code and reason); ``.to_json()`` a plain dict.

``month`` is a ``Month`` or ``"YYYY-MM"``. Bad input (a month or fiscal year
out of 2000–2100, an unknown municipality) raises :class:`ReportError` with
the field, and reads nothing else."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from .model.orders import EntryKind
from .model.settlement import (
    GROUP_OF_TYPE,
    TYPE_GROUPS,
    ChainStatement,
    Month,
    MunicipalStatement,
    TermsError,
    chain_statement,
    check_year,
    fiscal_year_months,
    fiscal_year_span,
    municipal_statement,
)
from .storage import CenterStore

ReportError = TermsError
WEEKDAYS = ("日", "月", "火", "水", "木", "金", "土")


async def _municipality_name(store: CenterStore, code: str) -> str:
    found = await store.municipality(code)
    if found is None:
        raise ReportError("municipality", f"{code} is not a registered municipality")
    return found[0].name


def _month(month: Month | str) -> Month:
    return month if isinstance(month, Month) else Month.parse(month)


async def statement(store: CenterStore, month: Month | str, *,
                    municipality: str | None = None,
                    chain: str | None = None) -> MunicipalStatement | ChainStatement:
    """One municipality's (or one chain's) statement for a month; exactly one of the two."""
    month = _month(month)
    if (municipality is None) == (chain is None):
        raise ReportError("municipality", "give a municipality or a chain")
    start, end = month.span()
    if chain is not None:
        if not chain or len(chain) > 100:
            raise ReportError("chain", "not a chain name")
        return chain_statement(chain, month, await store.ledger.figures(
            start, end, chain=chain, key="municipality_code"))
    assert municipality is not None
    name = await _municipality_name(store, municipality)
    figures = await store.ledger.figures(start, end, municipality=municipality)
    by_chain = await store.ledger.figures(start, end, municipality=municipality, key="chain")
    contract = await store.ledger.contract_for(municipality, month.first_day)
    return municipal_statement(municipality, name, month, figures, contract, by_chain)


async def monthly_settlement(store: CenterStore, month: Month | str) -> list[MunicipalStatement]:
    month = _month(month)
    found = []
    for code in await store.municipality_codes():
        result = await statement(store, month, municipality=code)
        assert isinstance(result, MunicipalStatement)
        found.append(result)
    return found


@dataclass(frozen=True)
class Statistics:
    """Printed certificates (charged copies) of one fiscal year (April–March, JST)."""

    fiscal_year: int
    municipality_code: str | None
    total: int
    fees_yen: int
    by_group: dict[str, int]
    by_type: dict[str, int]
    by_month: dict[str, dict[str, int]]  # "YYYY-MM" → group → certificates (and "total")
    by_hour: dict[str, int]  # "00".."23" Japan time
    by_weekday: dict[str, int]  # 日 月 … 土
    by_municipality: dict[str, int]
    by_chain: dict[str, int]
    refusals: list[dict[str, Any]] = field(default_factory=list)  # {code, reason, count}
    refunded_copies: int = 0
    municipality_names: dict[str, str] = field(default_factory=dict)  # code → name

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def statistics(store: CenterStore, fiscal_year: int, *,
                     municipality: str | None = None) -> Statistics:
    check_year(fiscal_year)
    if municipality is not None:
        await _municipality_name(store, municipality)
    start, end = fiscal_year_span(fiscal_year)
    ledger = store.ledger
    by_type: dict[str, int] = defaultdict(int)
    by_group = {group: 0 for group in TYPE_GROUPS}
    fees = 0
    by_month: dict[str, dict[str, int]] = {
        str(m): {**{g: 0 for g in TYPE_GROUPS}, "total": 0}
        for m in fiscal_year_months(fiscal_year)}
    for value, cert_type, n, yen in await ledger.counts(start, end, municipality, "month"):
        group = GROUP_OF_TYPE.get(cert_type, cert_type)
        by_type[cert_type] += n
        by_group[group] = by_group.get(group, 0) + n
        fees += yen
        by_month[value][group] = by_month[value].get(group, 0) + n
        by_month[value]["total"] += n

    def collapse(rows: list[tuple[str, str, int, int]]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for value, _, n, _ in rows:
            out[value] += n
        return dict(out)

    by_hour = {f"{h:02d}": 0 for h in range(24)}
    by_hour.update(collapse(await ledger.counts(start, end, municipality, "hour")))
    weekday_numbers = collapse(await ledger.counts(start, end, municipality, "weekday"))
    refunds = await ledger.figures(start, end, municipality=municipality)
    by_municipality = collapse(await ledger.counts(start, end, municipality,
                                                   "municipality_code"))
    names = {}
    for code in by_municipality:
        found = await store.municipality(code)
        names[code] = found[0].name if found else code
    return Statistics(
        fiscal_year=fiscal_year, municipality_code=municipality,
        total=sum(by_type.values()), fees_yen=fees, by_group=by_group,
        by_type=dict(sorted(by_type.items())), by_month=by_month, by_hour=by_hour,
        by_weekday={WEEKDAYS[i]: weekday_numbers.get(str(i), 0) for i in range(7)},
        by_municipality=by_municipality, municipality_names=names,
        by_chain=collapse(await ledger.counts(start, end, municipality, "chain")),
        refusals=[{"code": c, "reason": r, "count": n}
                  for c, r, n in await ledger.refusal_counts(start, end, municipality)],
        refunded_copies=sum(f.count for f in refunds if f.kind == EntryKind.REFUND))

