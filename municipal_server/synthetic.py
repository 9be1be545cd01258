"""A synthetic resident register (合成住民基本台帳) at scale, for demos and load tests.

Pure and deterministic: plain values in (a seed, the municipality's name, the
seeding day, the offered 年度), plain records out. Names, kana readings and
town names come from the ``faker`` library's ``ja_JP`` data, drawn with our own
seeded ``random.Random`` so that a seed gives the same register on any machine
and faker's global state plays no part.

Every household lives in this municipality (「東京都千代田区…」). Compositions
follow the usual shapes of a 世帯: one person (単身), a couple (夫婦), a couple
or a single parent with children (some under 15), three generations with the
head's 母 or 父. A share of the register is each case a kiosk must refuse
(転出済み, 転出予定, 死亡, 支援措置, 外字, 本日転入) or cannot serve for a
type (印鑑登録なし, 印鑑登録廃止); see ``INTENDED_SHARES``.

Synthetic 住民票コード are eleven digits starting with ``0``. A persona code is
the decimal form of a positive integer (``personas.resident_code``) and so
never starts with ``0``: the two spaces cannot collide."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from faker.providers.address.ja_JP import Provider as JaAddress
from faker.providers.person.ja_JP import Provider as JaPerson

from .register import (
    DECEASED,
    MOVED_OUT,
    MOVING_OUT,
    RESIDENT,
    ForeignStatus,
    Household,
    Resident,
    TaxRecord,
)
from .tax import assess

CODE_PREFIX = "0"  # synthetic 住民票コード: 0 + ten digits (persona codes never start with 0)
CODE_DIGITS = 10
MAX_INDEX = 10**CODE_DIGITS - 1

# Per-household chances of the household-wide cases.
P_GAIJI = 0.015  # the family name is written with a 外字 (𠮷田, 髙橋, 山﨑…)
P_MOVED_IN_TODAY = 0.013  # the household moved in on the seeding day
P_SUPPORT_MEASURE = 0.01  # 支援措置 (DV or stalking victims) covers the whole household
P_FOREIGN = 0.03  # a foreign household (外国人住民)
# Per-member chances, for members whose leaving does not orphan a household:
# the head of a one-person household and any member other than the head.
P_MOVED_OUT = 0.035
P_MOVING_OUT = 0.02
P_DECEASED_ELDERLY = 0.08  # among those 65 and over
# Seals (印鑑登録): most adults; a few registrations were abolished (廃止).
P_SEAL_ADULT = 0.72
P_SEAL_TEEN = 0.10  # 15–19: registration is possible from 15
P_SEAL_ABOLISHED = 0.06

# The share of all generated residents in each case, as designed (the tests
# hold the generator to these within a tolerance). Keys are the ``reason`` of
# API.md where there is one.
INTENDED_SHARES: dict[str, float] = {
    "moved-out": 0.020,
    "moving-out": 0.012,
    "deceased": 0.006,
    "support-measure": 0.009,
    "unsupported-characters": 0.012,
    "moved-in-today": 0.012,
    "under-15": 0.11,
    "seal-active": 0.57,  # of all residents; the other adults have none (印鑑登録なし)
    "seal-abolished": 0.035,
}

# A household's shape: weight, then a builder name used by ``_members``.
COMPOSITIONS: tuple[tuple[str, float], ...] = (
    ("single", 0.36),  # 単身
    ("couple", 0.18),  # 夫婦のみ
    ("family", 0.26),  # 夫婦と子
    ("single-parent", 0.07),  # ひとり親と子
    ("three-generations", 0.05),  # 世帯主の母または父と同居
    ("elderly-couple", 0.08),  # 高齢夫婦
)
_COMPOSITION_CUM = list(accumulate(w for _, w in COMPOSITIONS))


def _encodable(text: str) -> bool:
    """Inside JIS X 0208, the set a kiosk print carries (eligibility's 外字 rule)."""
    try:
        text.encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True


def _hiragana(katakana: str) -> str:
    """The register's ふりがな are in hiragana; faker gives katakana readings."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in katakana)


# faker's ja_JP data, kept to what the kiosk can print so 外字 only appear
# where this module puts them on purpose.
_SURNAMES: tuple[tuple[str, str], ...] = tuple(
    (kanji, _hiragana(kana)) for (kanji, kana, _), _w in JaPerson.last_name_pairs.items()
    if _encodable(kanji))
_SURNAME_CUM = list(accumulate(
    float(w) for (kanji, _, _), w in JaPerson.last_name_pairs.items() if _encodable(kanji)))
_MALE: tuple[tuple[str, str], ...] = tuple(
    (kanji, _hiragana(kana)) for kanji, kana, _ in JaPerson.first_name_male_pairs
    if _encodable(kanji))
_FEMALE: tuple[tuple[str, str], ...] = tuple(
    (kanji, _hiragana(kana)) for kanji, kana, _ in JaPerson.first_name_female_pairs
    if _encodable(kanji))
_TOWNS: tuple[str, ...] = tuple(t for t in JaAddress.towns if _encodable(t))
_PREFECTURES: tuple[str, ...] = tuple(p for p in JaAddress.prefectures if _encodable(p))
_CITIES: tuple[str, ...] = tuple(c for c in JaAddress.cities if _encodable(c))

# Real 外字 (outside JIS X 0208, so ``iso2022_jp`` fails): the variant forms
# people insist on for their own family name, with the everyday reading.
GAIJI_SURNAMES: tuple[tuple[str, str], ...] = (
    ("𠮷田", "よしだ"),  # 𠮷 (つちよし), U+20BB7, outside the BMP
    ("𠮷川", "よしかわ"),
    ("髙橋", "たかはし"),  # 髙 (はしごだか), IBM extension
    ("髙木", "たかぎ"),
    ("山﨑", "やまさき"),  # 﨑 (たつさき), IBM extension
    ("宮﨑", "みやざき"),
    ("德永", "とくなが"),  # 德, JIS X 0212 only
    ("濵田", "はまだ"),  # 濵, JIS X 0212 only
)

# Foreign residents (外国人住民): nationality, family and given names in カタカナ,
# and a plausible 在留資格 with its 在留期間.
_FOREIGN: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    ("中国", ("ワン", "リ", "チャン", "リュウ", "チェン"), ("ウェイ", "ジン", "レイ"),
     ("ファン", "メイ", "リン")),
    ("ベトナム", ("グエン", "チャン", "レ", "ファム"), ("ヴァン", "ミン", "トゥアン"),
     ("ラン", "フォン", "ハー")),
    ("韓国", ("キム", "イ", "パク", "チェ"), ("ミンジュン", "ジフン"), ("ソヨン", "ジウ")),
    ("フィリピン", ("サントス", "レイエス", "クルス"), ("ホセ", "マーク"),
     ("マリア", "アン")),
    ("ネパール", ("グルン", "タパ", "ライ"), ("ラジュ", "スレシュ"), ("スニタ", "ギタ")),
    ("アメリカ合衆国", ("スミス", "ジョンソン", "ブラウン"), ("ジョン", "マイケル"),
     ("エミリー", "サラ")),
    ("ブラジル", ("シルバ", "サントス", "オリベイラ"), ("ルーカス", "マテウス"),
     ("アナ", "ジュリア")),
)
_STATUSES: tuple[tuple[str, str], ...] = (
    ("永住者", "無期限"),
    ("技術・人文知識・国際業務", "5年"),
    ("技術・人文知識・国際業務", "3年"),
    ("留学", "2年3月"),
    ("家族滞在", "3年"),
    ("特定技能1号", "1年"),
    ("日本人の配偶者等", "3年"),
)


def resident_code(index: int) -> str:
    """The synthetic 住民票コード of generated resident number ``index``."""
    if not 0 <= index <= MAX_INDEX:
        raise ValueError("synthetic resident index out of range")
    return f"{CODE_PREFIX}{index:0{CODE_DIGITS}d}"


def index_of(code: str) -> int | None:
    """The generated resident number behind a synthetic code; None for any other code."""
    if len(code) == CODE_DIGITS + 1 and code.startswith(CODE_PREFIX) and code.isdigit():
        return int(code[1:])
    return None


def member_id(index: int) -> str:
    """The id a kiosk sees for household selection (unique, unlike a persona's hash)."""
    return f"m-syn-{index:0{CODE_DIGITS}d}"


def household_id(first_index: int) -> str:
    """A household is named after its first member's number."""
    return f"hs-{first_index:0{CODE_DIGITS}d}"


def card_key(index: int) -> str:
    """The wallet key (and label prefix) of a generated resident's card."""
    return f"synth-{index:06d}"


@dataclass(frozen=True)
class Municipality:
    """Where the synthetic residents live: the profile's 都道府県 and 市区町村名."""

    code: str
    prefecture: str
    name: str

    @property
    def prefix(self) -> str:
        return f"{self.prefecture}{self.name}"


@dataclass(frozen=True)
class SealPlan:
    """A 印鑑登録 to make; the image (a 印影 of the surname) is drawn at the edge."""

    resident_code: str
    surname: str
    registered_on: date
    abolished_on: date | None = None


def _notification(address_set_on: date, index: int, today: date) -> dict[str, date]:
    """住所を定めた年月日 and the 届出日 of that move or birth: filed within the 14 days the
    law allows, on a day that depends on the resident only (the random stream of the
    generator stays as it was), and never after today."""
    notified = min(address_set_on + timedelta(days=index * 7919 % 14), today)
    return {"address_set_on": address_set_on, "notified_on": max(notified, address_set_on)}


@dataclass(frozen=True)
class SyntheticHousehold:
    household: Household
    members: tuple[Resident, ...]
    seals: tuple[SealPlan, ...]
    tax_records: tuple[TaxRecord, ...]
    first_index: int  # members are numbered first_index, first_index + 1, …


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _birth(rng: random.Random, today: date, age: int) -> date:
    """A birth date at which the person is ``age`` on ``today``."""
    return _years_before(today, age) - timedelta(days=rng.randrange(365))


def _between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _age(birth: date, today: date) -> int:
    years = today.year - birth.year
    return years - ((today.month, today.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class _Person:
    """A member before numbering: (given name, kana, sex, age, 続柄)."""

    given: str
    given_kana: str
    sex: str
    age: int
    relationship: str


class _Generator:
    def __init__(self, municipality: Municipality, today: date,
                 fiscal_years: tuple[int, ...], rng: random.Random) -> None:
        self.m = municipality
        self.today = today
        self.fiscal_years = fiscal_years
        self.rng = rng

    # -- names and places -------------------------------------------------------
    def surname(self) -> tuple[str, str]:
        rng = self.rng
        return _SURNAMES[bisect(_SURNAME_CUM, rng.random() * _SURNAME_CUM[-1])]

    def given(self, sex: str) -> tuple[str, str]:
        return self.rng.choice(_MALE if sex == "男" else _FEMALE)

    def address(self) -> str:
        rng = self.rng
        return (f"{self.m.prefix}{rng.choice(_TOWNS)}{rng.randint(1, 6)}丁目"
                f"{rng.randint(1, 30)}番{rng.randint(1, 20)}号")

    def elsewhere(self) -> str:
        """A previous address in another municipality (faker's 都道府県・市区町村・町名)."""
        rng = self.rng
        while True:
            prefecture, city = rng.choice(_PREFECTURES), rng.choice(_CITIES)
            if f"{prefecture}{city}" != self.m.prefix:
                break
        return (f"{prefecture}{city}{rng.choice(_TOWNS)}{rng.randint(1, 6)}丁目"
                f"{rng.randint(1, 30)}番{rng.randint(1, 20)}号")

    def domicile(self) -> str:
        """本籍: here for some families, elsewhere for the rest (written with 番地)."""
        rng = self.rng
        place = self.m.prefix if rng.random() < 0.4 else (
            f"{rng.choice(_PREFECTURES)}{rng.choice(_CITIES)}")
        return f"{place}{rng.choice(_TOWNS)}{rng.randint(1, 6)}丁目{rng.randint(1, 40)}番地"

    # -- household shapes -----------------------------------------------------------
    def person(self, sex: str, age: int, relationship: str) -> _Person:
        given, kana = self.given(sex)
        return _Person(given, kana, sex, max(0, age), relationship)

    def composition(self) -> list[_Person]:
        rng = self.rng
        shape = COMPOSITIONS[bisect(_COMPOSITION_CUM, rng.random() * _COMPOSITION_CUM[-1])][0]
        head_sex = "男" if rng.random() < 0.72 else "女"
        spouse_sex = "女" if head_sex == "男" else "男"
        spouse_rel = "妻" if head_sex == "男" else "夫"
        if shape == "single":
            age = rng.choice((rng.randint(18, 39), rng.randint(18, 64), rng.randint(40, 95)))
            return [self.person(rng.choice("男女"), age, "世帯主")]
        if shape in ("couple", "elderly-couple"):
            age = rng.randint(24, 64) if shape == "couple" else rng.randint(65, 92)
            return [self.person(head_sex, age, "世帯主"),
                    self.person(spouse_sex, age + rng.randint(-6, 4), spouse_rel)]
        if shape == "single-parent":
            age = rng.randint(26, 55)
            head = self.person("女" if rng.random() < 0.85 else "男", age, "世帯主")
            return [head, *self.children(age, 1 if rng.random() < 0.6 else 2)]
        age = rng.randint(30, 62)
        members = [self.person(head_sex, age, "世帯主"),
                   self.person(spouse_sex, age + rng.randint(-5, 3), spouse_rel),
                   *self.children(age, rng.choice((1, 1, 1, 2, 2, 3)))]
        if shape == "three-generations":
            parent_sex = "女" if rng.random() < 0.7 else "男"
            members.append(self.person(parent_sex, age + rng.randint(24, 34),
                                       "母" if parent_sex == "女" else "父"))
        return members

    def children(self, parent_age: int, count: int) -> list[_Person]:
        rng = self.rng
        oldest = min(parent_age - 22, 32)
        # Siblings are born within some years of each other, after the parent's twenties.
        youngest = max(0, oldest - 12)
        ages = sorted((rng.randint(youngest, max(0, oldest)) for _ in range(count)),
                      reverse=True)
        return [self.person(rng.choice("男女"), age, "子") for age in ages]

    def foreign(self, people: list[_Person]) -> tuple[str, list[tuple[str, str, _Person]]]:
        """Replace the names with a foreign family's カタカナ names."""
        rng = self.rng
        nationality, surnames, male, female = rng.choice(_FOREIGN)
        surname = rng.choice(surnames)
        named = [(surname, rng.choice(male if p.sex == "男" else female), p) for p in people]
        return nationality, named

    # -- one household --------------------------------------------------------------
    def household(self, first_index: int, size_limit: int) -> SyntheticHousehold:
        rng, today = self.rng, self.today
        people = self.composition()[:size_limit]
        hid = household_id(first_index)
        address = self.address()
        moved_in_today = rng.random() < P_MOVED_IN_TODAY
        support = rng.random() < P_SUPPORT_MEASURE
        foreign = rng.random() < P_FOREIGN
        head_age = people[0].age
        if moved_in_today:
            moved_in = today
        else:
            # Living here since some day after the head turned 18, within 40 years.
            yesterday = today - timedelta(days=1)
            moved_in = _between(rng, min(yesterday, max(_years_before(today, head_age - 18),
                                                         _years_before(today, 40))), yesterday)
        previous = self.elsewhere()
        nationality: str | None = None
        if foreign:
            nationality, named = self.foreign(people)
            names = [(f"{s} {g}", f"{_hiragana(s)} {_hiragana(g)}", p) for s, g, p in named]
            surname_for_seal = named[0][0]
            domicile = domicile_head = None
            residence_status, period = rng.choice(_STATUSES)
            expires = today + timedelta(days=rng.randint(60, 5 * 365))
            foreign_status: ForeignStatus | None = ForeignStatus(
                residence_status, period, expires,
                "特別永住者" if residence_status == "永住者" and nationality == "韓国"
                and rng.random() < 0.5 else "中長期在留者")
            previous = rng.choice(("中国", "ベトナム", "大韓民国", "アメリカ合衆国", previous))
        else:
            gaiji = rng.random() < P_GAIJI
            surname, surname_kana = rng.choice(GAIJI_SURNAMES) if gaiji else self.surname()
            names = [(f"{surname} {p.given}", f"{surname_kana} {p.given_kana}", p)
                     for p in people]
            surname_for_seal = surname
            domicile = self.domicile()
            domicile_head = names[0][0]
            foreign_status = None
        members: list[Resident] = []
        for order, (name, kana, p) in enumerate(names):
            index = first_index + order
            birth = _birth(rng, today, p.age)
            born_here = p.relationship == "子" and birth > moved_in
            status, status_on = self.status(p, order, len(names), moved_in)
            members.append(Resident(
                resident_code(index), member_id(index), hid, name, kana, birth, p.sex,
                p.relationship, status, birth if born_here else moved_in,
                "出生" if born_here else "転入", None if born_here else previous,
                support_measure=support, nationality=nationality, household_order=order,
                domicile=domicile, domicile_head=domicile_head,
                foreign=foreign_status if nationality else None, status_on=status_on,
                **_notification(birth if born_here else moved_in, index, today)))
        return SyntheticHousehold(Household(hid, address), tuple(members),
                                  self.seals(members, surname_for_seal),
                                  self.taxes(members, names, address), first_index)

    def status(self, p: _Person, order: int, size: int, moved_in: date
               ) -> tuple[str, date | None]:
        """転出・転出予定・死亡 for members whose leaving keeps the household whole:
        the head of a one-person household, or anyone but the head."""
        rng, today = self.rng, self.today
        if (order == 0 and size > 1) or moved_in == today or p.age < 15:
            return RESIDENT, None
        roll = rng.random()
        if p.age >= 65 and roll < P_DECEASED_ELDERLY:
            return DECEASED, _between(rng, max(moved_in, today - timedelta(days=300)),
                                      today - timedelta(days=1))
        roll = rng.random()
        if roll < P_MOVED_OUT:
            return MOVED_OUT, _between(rng, max(moved_in, today - timedelta(days=300)),
                                       today - timedelta(days=1))
        if roll < P_MOVED_OUT + P_MOVING_OUT:
            return MOVING_OUT, today + timedelta(days=rng.randint(1, 14))
        return RESIDENT, None

    def seals(self, members: list[Resident], surname: str) -> tuple[SealPlan, ...]:
        rng, today = self.rng, self.today
        plans = []
        for r in members:
            age = _age(r.birth_date, today)
            chance = P_SEAL_ADULT if age >= 20 else P_SEAL_TEEN if age >= 15 else 0.0
            if rng.random() >= chance:
                continue
            first = max(r.moved_in_on, _years_before(r.birth_date, -15))
            registered = _between(rng, first, today - timedelta(days=1)) if first < today \
                else today
            abolished = None
            if registered < today - timedelta(days=1) and rng.random() < P_SEAL_ABOLISHED:
                abolished = _between(rng, registered + timedelta(days=1),
                                     today - timedelta(days=1))
            plans.append(SealPlan(r.resident_code, surname, registered, abolished))
        return tuple(plans)

    def taxes(self, members: list[Resident], names: list[tuple[str, str, _Person]],
              address: str) -> tuple[TaxRecord, ...]:
        """課税台帳: the salaried adults, for the offered 年度 in which they lived
        here on 1 January (賦課期日), the day that decides who levies the tax."""
        rng = self.rng
        earners: list[tuple[Resident, int]] = []
        for r in members:
            age = _age(r.birth_date, self.today)
            chance = (0.85 if r.relationship == "世帯主" else 0.5) if 20 <= age < 70 else (
                0.3 if 18 <= age < 20 or 70 <= age < 75 else 0.0)
            if rng.random() < chance:
                # Salaries roughly as in Japan: median about 4 million yen.
                gross = int(rng.lognormvariate(15.2, 0.55)) // 1000 * 1000
                earners.append((r, min(gross, 30_000_000)))
        if not earners:
            return ()
        salary = dict((r.resident_code, g) for r, g in earners)
        records = []
        for r, gross in earners:
            spouse = next((m for m in members if r.relationship == "世帯主"
                           and m.relationship in ("妻", "夫")), None)
            spouse_dependent = spouse is not None and salary.get(spouse.resident_code, 0) \
                <= 1_030_000
            dependents = 0
            if r.relationship == "世帯主":
                dependents = sum(1 for m in members if m.relationship in ("子", "母", "父")
                                 and m.resident_code not in salary
                                 and _age(m.birth_date, self.today) >= 16)
            for year in self.fiscal_years:
                if r.moved_in_on < date(year, 1, 1):
                    records.append(assess(r.resident_code, year, address, gross_salary=gross,
                                          spouse=spouse_dependent, dependents=dependents))
        return tuple(records)


def generate(municipality: Municipality, today: date, fiscal_years: tuple[int, ...],
             residents: int, *, seed: int = 1, start: int = 0) -> Iterator[SyntheticHousehold]:
    """Households holding exactly ``residents`` people, numbered from ``start``.

    The same arguments give the same households; ``start`` continues a register
    that already holds synthetic residents 0 … start-1."""
    if residents < 0 or start < 0 or start + residents - 1 > MAX_INDEX:
        raise ValueError("residents and start must fit the synthetic code space")
    rng = random.Random(f"konbini-synthetic:{seed}:{start}:{municipality.code}")
    gen = _Generator(municipality, today, fiscal_years, rng)
    index, end = start, start + residents
    while index < end:
        household = gen.household(index, end - index)
        index += len(household.members)
        yield household
