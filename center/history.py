"""A year of simulated issuance for demos, load and charts (pure: plain values
in, certificates out; deterministic for a seed).

The mix of types follows the national FY2023 figures; the days follow the
service calendar (closed 29 Dec – 3 Jan; weekdays busier than weekends; moving
season in March and April; tax certificates in June); the hours run 06:30–23:00
with peaks at lunch and in the evening; each type keeps its municipality's hours
(戸籍 on weekdays 08:30–17:00 where so registered)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from konbini.wire import CertificateType

from .calendar import Span, day_kind, is_new_year_closure, type_offered_at
from .model.settlement import JST, FeePeriod, fee_in_force

# 令和5年度 コンビニ交付 実績 (certificates), DESIGN.md §1.
FY2023: dict[str, int] = {
    "住民票": 15_300_255, "住記載": 248_266, "印鑑": 10_687_836, "税": 2_145_996,
    "戸籍": 3_288_046, "附票": 225_416,
}
FY2023_TOTAL = 31_895_815
# Within a group, how the types share it (no national split is published).
GROUP_TYPES: dict[str, tuple[tuple[CertificateType, float], ...]] = {
    "住民票": ((CertificateType.JUMINHYO, 1.0),),
    "住記載": ((CertificateType.JUMINHYO_KISAI, 1.0),),
    "印鑑": ((CertificateType.INKAN, 1.0),),
    "税": ((CertificateType.TAX_INCOME_ASSESSMENT, 0.5), (CertificateType.TAX_INCOME, 0.3),
          (CertificateType.TAX_ASSESSMENT, 0.2)),
    "戸籍": ((CertificateType.KOSEKI_ZENBU, 0.8), (CertificateType.KOSEKI_KOJIN, 0.2)),
    "附票": ((CertificateType.KOSEKI_FUHYO, 1.0),),
}
# Share of convenience-store issuance by chain (the three chains of the dev PKI).
CHAINS: tuple[tuple[str, float], ...] = (("seven-eleven", 0.55), ("familymart", 0.25),
                                         ("lawson", 0.20))
STORES_PER_CHAIN = 40
# Relative demand per half hour from 06:30 (index 0) to 22:30 (index 32).
HALF_HOURS: tuple[float, ...] = (
    0.3, 0.5, 0.8, 1.2, 1.8, 2.4, 3.0, 3.2, 3.2, 3.4, 3.6,  # 06:30–11:30
    4.8, 5.0, 4.0, 3.2, 3.0, 3.0, 3.1, 3.4,  # 12:00–15:30 lunch peak
    3.9, 4.4, 4.7, 4.6, 4.2, 3.6, 3.0, 2.5, 2.1, 1.7, 1.3, 1.0, 0.7, 0.4)  # 16:00–22:30
MONTH_FACTOR = {4: 1.35, 5: 1.0, 6: 1.05, 7: 0.95, 8: 0.9, 9: 0.9, 10: 0.95, 11: 0.95,
                12: 0.85, 1: 1.0, 2: 1.05, 3: 1.4}
DAY_FACTOR = {"weekday": 1.0, "weekend": 0.7, "holiday": 0.6}


@dataclass(frozen=True)
class MunicipalityTerms:
    """What the generator needs of a registered municipality."""

    code: str
    fees: Mapping[str, int]  # type → registered fee
    hours: Mapping[str, dict[str, Span] | None]  # type → hours (None: center hours)
    fee_periods: Sequence[FeePeriod] = ()
    weight: float = 1.0


@dataclass(frozen=True)
class SimulatedCopy:
    issued_at: datetime
    type: str
    municipality_code: str
    chain: str
    store_id: str
    terminal_id: str
    fee_yen: int
    printed: bool  # False: a failed copy (paper jam), refunded


def type_targets(scale: float) -> dict[str, int]:
    """Printed certificates per type at this scale; the group totals are FY2023's."""
    targets: dict[str, int] = {}
    for group, count in FY2023.items():
        scaled = round(count * scale)
        shares = GROUP_TYPES[group]
        assigned = 0
        for index, (cert_type, share) in enumerate(shares):
            n = scaled - assigned if index == len(shares) - 1 else round(scaled * share)
            targets[cert_type.value] = n
            assigned += n
    return targets


def service_days(fiscal_year: int) -> list[tuple[date, float]]:
    day, end = date(fiscal_year, 4, 1), date(fiscal_year + 1, 4, 1)
    days = []
    while day < end:
        if not is_new_year_closure(day):
            factor = MONTH_FACTOR[day.month] * DAY_FACTOR[day_kind(day)]
            days.append((day, factor))
        day += timedelta(days=1)
    return days


def generate(fiscal_year: int, scale: float, municipalities: Sequence[MunicipalityTerms],
             seed: int = 2023, failed_rate: float = 0.003) -> Iterator[SimulatedCopy]:
    """Every printed copy of the year at ``scale`` (and a few failed ones), in no order."""
    rng = random.Random(f"{seed}:{fiscal_year}:{scale}")
    days = service_days(fiscal_year)
    day_list = [d for d, _ in days]
    day_weights = [w for _, w in days]
    slots = list(range(len(HALF_HOURS)))
    # Cumulative weights once: random.choices would otherwise sum them on every draw.
    slot_cum = list(itertools.accumulate(HALF_HOURS))
    chains = [c for c, _ in CHAINS]
    chain_cum = list(itertools.accumulate(w for _, w in CHAINS))
    periods = {m.code: list(m.fee_periods) for m in municipalities}
    for cert_type, count in type_targets(scale).items():
        offering = [m for m in municipalities if cert_type in m.fees]
        if not offering:
            continue
        municipality_cum = list(itertools.accumulate(m.weight for m in offering))
        # 税証明 peaks in June, when the new fiscal year's figures come out.
        day_cum = list(itertools.accumulate(
            [w * (2.0 if d.month == 6 else 1.0) for d, w in zip(day_list, day_weights,
                                                                strict=True)]
            if cert_type.startswith("tax") else day_weights))
        produced = 0
        while produced < count:
            municipality = rng.choices(offering, cum_weights=municipality_cum)[0]
            hours = municipality.hours.get(cert_type)
            instant = None
            for _ in range(50):  # keep to the type's hours (戸籍: weekdays 08:30–17:00)
                day = rng.choices(day_list, cum_weights=day_cum)[0]
                slot = rng.choices(slots, cum_weights=slot_cum)[0]
                minute = 6 * 60 + 30 + slot * 30 + rng.randrange(30)
                candidate = datetime.combine(day, time(minute // 60, minute % 60,
                                                       rng.randrange(60)), JST)
                if type_offered_at(candidate, hours):
                    instant = candidate
                    break
            if instant is None:
                continue
            chain = rng.choices(chains, cum_weights=chain_cum)[0]
            store = rng.randrange(1, STORES_PER_CHAIN + 1)
            fee = fee_in_force(municipality.fees[cert_type], periods[municipality.code],
                               cert_type, instant)
            copy = SimulatedCopy(instant, cert_type, municipality.code, chain,
                                 f"{chain}-store-{store:04d}", f"{chain}-kiosk-{store:04d}",
                                 fee, True)
            yield copy
            produced += 1
            if rng.random() < failed_rate:
                yield SimulatedCopy(instant, cert_type, municipality.code, chain,
                                    copy.store_id, copy.terminal_id, fee, False)
