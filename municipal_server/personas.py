"""The persona residents of DESIGN.md section 5, as register records.

Data is synthetic; names follow the government's own examples. Ages that
matter (霞 次郎 is 14) are computed from the day the register is seeded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, timedelta

from .register import DECEASED, MOVED_OUT, MOVING_OUT, RESIDENT, Household, Resident
from .render.seal import personal_seal_png


@dataclass(frozen=True)
class PersonaHousehold:
    household: Household
    members: tuple[tuple[str, Resident], ...]  # (persona key or "", resident)
    seals: tuple[str, ...] = ()  # persona keys with an active seal
    abolished_seals: tuple[str, ...] = ()


def resident_code(municipality_code: str, key: str) -> str:
    """A stable 11-digit 住民票コード per persona (synthetic)."""
    digest = hashlib.sha256(f"{municipality_code}:{key}".encode()).hexdigest()
    return str(int(digest, 16))[:11]


def member_id(municipality_code: str, key: str) -> str:
    return "m-" + hashlib.sha256(f"member:{municipality_code}:{key}".encode()).hexdigest()[:16]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _adult(code: str, key: str, household_id: str, name: str, kana: str, birth: date,
           sex: str, relationship: str = "世帯主", order: int = 0, **changes: object) -> Resident:
    base = Resident(resident_code(code, key), member_id(code, key), household_id, name, kana,
                    birth, sex, relationship, RESIDENT, date(2015, 4, 1), "転入",
                    "東京都港区芝公園4丁目2番8号", household_order=order)
    return replace(base, **changes)  # type: ignore[arg-type]


def _single(code: str, key: str, address: str, name: str, kana: str, birth: date, sex: str,
            **changes: object) -> PersonaHousehold:
    household_id = f"h-{key}"
    return PersonaHousehold(Household(household_id, address),
                            ((key, _adult(code, key, household_id, name, kana, birth, sex,
                                          **changes)),))


def persona_households(code: str, today: date) -> list[PersonaHousehold]:
    """The persona households living in municipality ``code``."""
    if code == "131016":
        kasumi = "東京都千代田区霞が関2丁目1番2号"
        chiyoda = "東京都千代田区永田町1丁目7番1号"
        jiro_birth = _years_before(today, 14) - timedelta(days=30)
        return [
            PersonaHousehold(
                Household("h-kasumi", kasumi),
                (("kasumi-taro", _adult(code, "kasumi-taro", "h-kasumi", "霞 太郎",
                                        "かすみ たろう", date(1980, 4, 1), "男", order=0)),
                 ("kasumi-hanako", _adult(code, "kasumi-hanako", "h-kasumi", "霞 花子",
                                          "かすみ はなこ", date(1982, 6, 15), "女", "妻",
                                          order=1)),
                 ("kasumi-jiro", _adult(code, "kasumi-jiro", "h-kasumi", "霞 次郎",
                                        "かすみ じろう", jiro_birth, "男", "子", order=2,
                                        moved_in_on=jiro_birth, moved_in_reason="出生",
                                        previous_address=None))),
                seals=("kasumi-taro",)),
            _single(code, "no-seal", chiyoda, "鈴木 一郎", "すずき いちろう",
                    date(1975, 9, 10), "男"),
            replace(_single(code, "seal-abolished", chiyoda, "高橋 恵子", "たかはし けいこ",
                            date(1968, 2, 20), "女"), abolished_seals=("seal-abolished",)),
            _single(code, "moved-out", chiyoda, "田中 実", "たなか みのる", date(1970, 7, 7),
                    "男", status=MOVED_OUT),
            _single(code, "moving-out", chiyoda, "伊藤 真由美", "いとう まゆみ",
                    date(1985, 11, 3), "女", status=MOVING_OUT),
            _single(code, "deceased", chiyoda, "渡辺 博", "わたなべ ひろし", date(1940, 1, 15),
                    "男", status=DECEASED),
            _single(code, "support-measure", chiyoda, "山本 さくら", "やまもと さくら",
                    date(1990, 3, 3), "女", support_measure=True),
            _single(code, "gaiji", chiyoda, "𠮷田 一郎", "よしだ いちろう", date(1978, 5, 5),
                    "男"),
            _single(code, "foreign-resident", chiyoda, "スミス ジョン", "すみす じょん",
                    date(1988, 8, 8), "男", nationality="アメリカ合衆国"),
            _single(code, "face-auth", chiyoda, "中村 健太", "なかむら けんた",
                    date(1983, 10, 10), "男"),
            _single(code, "lost-card", chiyoda, "小林 直樹", "こばやし なおき",
                    date(1979, 12, 1), "男"),
            _single(code, "expired-card", chiyoda, "加藤 美咲", "かとう みさき",
                    date(1992, 4, 25), "女"),
            _single(code, "locked", chiyoda, "吉田 翔太", "よしだ しょうた", date(1995, 6, 30),
                    "男"),
            _single(code, "smartphone", chiyoda, "山田 花子", "やまだ はなこ",
                    date(1987, 1, 20), "女"),
        ]
    if code == "452017":
        return [_single(code, "bango-hanako", "宮崎県宮崎市橘通西1丁目1番1号", "番号 花子",
                        "ばんごう はなこ", date(1989, 3, 31), "女")]
    if code == "141003":
        return [_single(code, "yokohama", "神奈川県横浜市中区本町6丁目50番地の10", "港 一郎",
                        "みなと いちろう", date(1981, 8, 1), "男")]
    return []


def seal_for(name: str) -> bytes:
    """The resident's own seal impression (印影): their surname."""
    return personal_seal_png(name.split()[0])


SYNTHETIC_SURNAMES = ("青木", "石川", "上田", "江口", "大野", "川村", "北村",
                      "久保", "小山", "坂本", "柴田", "杉山", "関口", "高田",
                      "千葉", "土屋", "中川", "西田", "野口", "橋本")
SYNTHETIC_GIVEN = ("明", "彩", "学", "恵", "治", "純", "誠", "智子", "直子", "浩二")


def synthetic_key(index: int) -> str:
    return f"synthetic-{index:04d}"


def synthetic_household(code: str, address_prefix: str, index: int) -> PersonaHousehold:
    """A one-person household with a distinct name, for load and concurrency tests."""
    name = (f"{SYNTHETIC_SURNAMES[index % len(SYNTHETIC_SURNAMES)]} "
            f"{SYNTHETIC_GIVEN[(index // len(SYNTHETIC_SURNAMES)) % len(SYNTHETIC_GIVEN)]}")
    if index >= len(SYNTHETIC_SURNAMES) * len(SYNTHETIC_GIVEN):
        name += str(index)  # beyond 200 names the digit keeps them distinct
    key = synthetic_key(index)
    return _single(code, key, f"{address_prefix}{index % 9 + 1}丁目{index + 1}番地", name,
                   "しけん たろう", date(1960 + index % 40, index % 12 + 1, index % 28 + 1),
                   "男" if index % 2 else "女")
