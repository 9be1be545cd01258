"""The persona residents of DESIGN.md section 5, as register records.

Data is synthetic; names follow the government's own examples. Ages that
matter (霞 次郎 is 14) are computed from the day the register is seeded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, timedelta

from .era import wareki
from .register import (
    DECEASED,
    MOVED_OUT,
    MOVING_OUT,
    RESIDENT,
    DamageReport,
    Disaster,
    FamilyRegister,
    ForeignStatus,
    Household,
    KosekiEntry,
    Resident,
    TaxRecord,
)
from .render.seal import personal_seal_png
from .tax import assess


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
    resident = replace(base, **changes)  # type: ignore[arg-type]
    # 住所を定めた年月日 is the day they came (or were born); the 転入届 or 出生届 went in
    # within the 14 days the law allows, here a week later (the same day for the persona
    # who moved in today: the server sets that day when it starts).
    if "address_set_on" not in changes:
        resident = replace(resident, address_set_on=resident.moved_in_on)
    if "notified_on" not in changes and "moved_in_on" not in changes:
        resident = replace(resident, notified_on=resident.moved_in_on + timedelta(days=7))
    elif "notified_on" not in changes and resident.moved_in_reason == "出生":
        resident = replace(resident, notified_on=resident.moved_in_on + timedelta(days=10))
    return resident


def _single(code: str, key: str, address: str, name: str, kana: str, birth: date, sex: str,
            **changes: object) -> PersonaHousehold:
    household_id = f"h-{key}"
    return PersonaHousehold(Household(household_id, address),
                            ((key, _adult(code, key, household_id, name, kana, birth, sex,
                                          **changes)),))


CHIYODA, MIYAZAKI, YOKOHAMA = "131016", "452017", "141003"
KASUMI_ADDRESS = "東京都千代田区霞が関2丁目1番2号"
KASUMI_DOMICILE = "東京都千代田区霞が関二丁目1番"
BANGO_DOMICILE = "東京都千代田区千代田1番"
HYUGA_DOMICILE = "宮崎県宮崎市橘通東一丁目9番"
BANGO_ADDRESS = "宮崎県宮崎市橘通西1丁目1番1号"
SASAKI_DOMICILE = "東京都千代田区丸の内一丁目1番"
# Longer than the 60 characters a certificate prints (eligibility.ADDRESS_MAX_CHARS).
LONG_ADDRESS = ("東京都千代田区丸の内2丁目7番2号 丸の内二丁目ビルディング東館"
                "低層部商業棟及び高層部事務所棟連絡通路地下3階南側区画管理事務所内")


OOYA_ADDRESS = "東京都千代田区一番町10番地"
OOYA_DOMICILE = "東京都千代田区一番町十番地"
# 大家 一郎's family (issue 14): 12 persons in one household and one 戸籍, so their 住民票の写し
# and 戸籍全部事項証明書 run over several pages. (key suffix, 名, ふりがな, born, sex, 続柄 in
# the household, 続柄 to the parents)
LARGE_FAMILY = (
    ("", "一郎", "いちろう", date(1968, 5, 1), "男", "世帯主", "長男"),
    ("-yoshiko", "良子", "よしこ", date(1970, 8, 12), "女", "妻", "長女"),
    ("-taro", "太郎", "たろう", date(1993, 4, 2), "男", "子", "長男"),
    ("-hanako", "花子", "はなこ", date(1994, 9, 9), "女", "子", "長女"),
    ("-jiro", "次郎", "じろう", date(1996, 1, 20), "男", "子", "二男"),
    ("-haruko", "春子", "はるこ", date(1997, 3, 21), "女", "子", "二女"),
    ("-saburo", "三郎", "さぶろう", date(1999, 6, 6), "男", "子", "三男"),
    ("-natsuko", "夏子", "なつこ", date(2001, 7, 7), "女", "子", "三女"),
    ("-shiro", "四郎", "しろう", date(2003, 10, 4), "男", "子", "四男"),
    ("-akiko", "秋子", "あきこ", date(2005, 11, 3), "女", "子", "四女"),
    ("-goro", "五郎", "ごろう", date(2007, 2, 5), "男", "子", "五男"),
    ("-fuyuko", "冬子", "ふゆこ", date(2009, 12, 24), "女", "子", "五女"),
)
OOYA_WEDDING = date(1992, 6, 1)


def large_family_household(code: str) -> PersonaHousehold:
    family = {"domicile": OOYA_DOMICILE, "domicile_head": "大家 一郎", "domicile_code": CHIYODA}
    members = []
    for order, (suffix, given, kana, born, sex, relationship, _) in enumerate(LARGE_FAMILY):
        key = "large-family" + suffix
        child = relationship == "子"
        members.append((key if not suffix else "", _adult(
            code, key, "h-ooya", f"大家 {given}", f"おおや {kana}", born, sex, relationship,
            order=order, moved_in_on=born if child else date(1992, 6, 1),
            moved_in_reason="出生" if child else "転入",
            previous_address=None if child else "東京都港区芝公園4丁目2番8号", **family)))
    return PersonaHousehold(Household("h-ooya", OOYA_ADDRESS), tuple(members))


def large_family_register(code: str) -> tuple[FamilyRegister, list[KosekiEntry]]:
    register = FamilyRegister("k-ooya", OOYA_DOMICILE, "大家 一郎", OOYA_WEDDING)
    persons = []
    for position, (suffix, given, _, born, _sex, relationship, to_parents) in enumerate(
            LARGE_FAMILY, start=1):
        key = "large-family" + suffix
        child = relationship == "子"
        events = [_birth(born, "東京都千代田区", "父")]
        if position == 1:
            events.append(_marriage(OOYA_WEDDING, "大家 良子",
                                    "東京都千代田区一番町十番地 大家 太平"))
        elif position == 2:
            events.append(_marriage(OOYA_WEDDING, "大家 一郎", "東京都港区芝公園四丁目2番 佐藤 茂"))
        persons.append(KosekiEntry(
            f"kp-{key}", register.register_id, position, f"大家 {given}", given, born,
            "大家 一郎" if child else ("大家 太平" if position == 1 else "佐藤 茂"),
            "大家 良子" if child else ("大家 ハル" if position == 1 else "佐藤 文"),
            to_parents, {1: "夫", 2: "妻"}.get(position), tuple(events),
            resident_code=resident_code(code, key),
            addresses=((OOYA_ADDRESS, born if child else OOYA_WEDDING),)))
    return register, persons


def _jiro_birth(today: date) -> date:
    """霞 次郎 is 14 on the day the register is seeded (and for most of a year after)."""
    return _years_before(today, 14) - timedelta(days=30)


def persona_households(code: str, today: date) -> list[PersonaHousehold]:
    """The persona households living in municipality ``code``."""
    if code == CHIYODA:
        kasumi = KASUMI_ADDRESS
        chiyoda = "東京都千代田区永田町1丁目7番1号"
        jiro_birth = _jiro_birth(today)
        kasumi_family = {"domicile": KASUMI_DOMICILE, "domicile_head": "霞 太郎",
                         "domicile_code": CHIYODA}
        return [
            PersonaHousehold(
                Household("h-kasumi", kasumi),
                (("kasumi-taro", _adult(code, "kasumi-taro", "h-kasumi", "霞 太郎",
                                        "かすみ たろう", date(1980, 4, 1), "男", order=0,
                                        **kasumi_family)),
                 ("kasumi-hanako", _adult(code, "kasumi-hanako", "h-kasumi", "霞 花子",
                                          "かすみ はなこ", date(1982, 6, 15), "女", "妻",
                                          order=1, **kasumi_family)),
                 ("kasumi-jiro", _adult(code, "kasumi-jiro", "h-kasumi", "霞 次郎",
                                        "かすみ じろう", jiro_birth, "男", "子", order=2,
                                        moved_in_on=jiro_birth, moved_in_reason="出生",
                                        previous_address=None, **kasumi_family))),
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
                    date(1988, 8, 8), "男", nationality="アメリカ合衆国",
                    foreign=ForeignStatus("技術・人文知識・国際業務", "3年", date(2028, 3, 31)),
                    moved_in_reason="転入", previous_address="アメリカ合衆国"),
            _single(code, "moved-in-today", chiyoda, "森 健一", "もり けんいち",
                    date(1991, 2, 14), "男", moved_in_on=today),
            _single(code, "domicile-elsewhere", chiyoda, "日向 陽子", "ひゅうが ようこ",
                    date(1986, 7, 21), "女", domicile=HYUGA_DOMICILE, domicile_head="日向 陽子",
                    domicile_code=MIYAZAKI, previous_address="宮崎県宮崎市橘通東1丁目9番10号"),
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
            # 大橋 由美 is moving out: her husband may have anything but a 住民票の写し.
            PersonaHousehold(
                Household("h-ohashi", "東京都千代田区九段南1丁目2番1号"),
                (("household-moving-out", _adult(
                    code, "household-moving-out", "h-ohashi", "大橋 健", "おおはし けん",
                    date(1977, 9, 9), "男", order=0)),
                 ("", _adult(code, "ohashi-yumi", "h-ohashi", "大橋 由美", "おおはし ゆみ",
                             date(1979, 2, 2), "女", "妻", order=1, status=MOVING_OUT,
                             status_on=today + timedelta(days=10))))),
            # A 婚姻届 filed against his 戸籍 is not yet entered: no 戸籍証明書 until it is.
            _single(code, "koseki-pending", chiyoda, "佐々木 亮", "ささき りょう",
                    date(1990, 10, 1), "男", domicile=SASAKI_DOMICILE, domicile_head="佐々木 亮",
                    domicile_code=CHIYODA),
            _single(code, "pin-reset", chiyoda, "松本 恵", "まつもと めぐみ",
                    date(1993, 5, 18), "女"),
            _single(code, "long-address", LONG_ADDRESS, "長尾 千尋", "ながお ちひろ",
                    date(1984, 12, 12), "女"),
            large_family_household(code),
        ]
    if code == MIYAZAKI:
        return [_single(code, "bango-hanako", BANGO_ADDRESS, "番号 花子",
                        "ばんごう はなこ", date(1989, 3, 31), "女", domicile=BANGO_DOMICILE,
                        domicile_head="番号 一郎", domicile_code=CHIYODA,
                        previous_address="東京都千代田区千代田1番1号")]
    if code == YOKOHAMA:
        return [_single(code, "yokohama", "神奈川県横浜市中区本町6丁目50番地の10", "港 一郎",
                        "みなと いちろう", date(1981, 8, 1), "男")]
    return []


def _birth(day: date, place: str, reported_by: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("出生", (("出生日", wareki(day)), ("出生地", place),
                     ("届出日", wareki(day + timedelta(days=7))), ("届出人", reported_by)))


def _marriage(day: date, spouse: str, previous: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("婚姻", (("婚姻日", wareki(day)), ("配偶者氏名", spouse),
                     ("従前戸籍", previous)))


def persona_family_registers(code: str, today: date
                             ) -> list[tuple[FamilyRegister, list[KosekiEntry]]]:
    """The 戸籍 kept by municipality ``code`` (本籍 here), with their 附票.

    A 附票 carries the person's 住民票コード, which is how a family register
    finds its people wherever they live."""
    if code == CHIYODA:
        jiro_birth = _jiro_birth(today)
        kasumi = FamilyRegister("k-kasumi", KASUMI_DOMICILE, "霞 太郎", date(2008, 4, 1))
        wed = date(2008, 4, 1)
        bango = FamilyRegister("k-bango", BANGO_DOMICILE, "番号 一郎", date(1987, 10, 1))
        sasaki = FamilyRegister("k-sasaki", SASAKI_DOMICILE, "佐々木 亮", date(2015, 6, 1))
        return [
            (sasaki, [
                KosekiEntry("kp-sasaki-ryo", sasaki.register_id, 1, "佐々木 亮", "亮",
                            date(1990, 10, 1), "佐々木 誠", "佐々木 恵", "長男", None,
                            (_birth(date(1990, 10, 1), "東京都千代田区", "父"),
                             ("分籍", (("分籍日", wareki(date(2015, 6, 1))),
                                       ("従前戸籍", "東京都千代田区丸の内一丁目1番 佐々木 誠")))),
                            resident_code=resident_code(code, "koseki-pending"),
                            addresses=(("東京都千代田区永田町1丁目7番1号",
                                        date(2015, 6, 1)),)),
            ]),
            (kasumi, [
                KosekiEntry("kp-kasumi-taro", kasumi.register_id, 1, "霞 太郎", "太郎",
                            date(1980, 4, 1), "霞 一郎", "霞 和子", "長男", "夫",
                            (_birth(date(1980, 4, 1), "東京都千代田区", "父"),
                             _marriage(wed, "霞 花子", "東京都千代田区霞が関二丁目1番 霞 一郎")),
                            resident_code=resident_code(code, "kasumi-taro"),
                            addresses=(("東京都港区芝公園4丁目2番8号", wed),
                                       (KASUMI_ADDRESS, date(2015, 4, 1)))),
                KosekiEntry("kp-kasumi-hanako", kasumi.register_id, 2, "霞 花子", "花子",
                            date(1982, 6, 15), "山田 次郎", "山田 良子", "長女", "妻",
                            (_birth(date(1982, 6, 15), "神奈川県横浜市", "父"),
                             _marriage(wed, "霞 太郎", "神奈川県横浜市中区本町六丁目50番地 "
                                                       "山田 次郎")),
                            resident_code=resident_code(code, "kasumi-hanako"),
                            addresses=(("東京都港区芝公園4丁目2番8号", wed),
                                       (KASUMI_ADDRESS, date(2015, 4, 1)))),
                KosekiEntry("kp-kasumi-jiro", kasumi.register_id, 3, "霞 次郎", "次郎",
                            jiro_birth, "霞 太郎", "霞 花子", "長男", None,
                            (_birth(jiro_birth, "東京都千代田区", "父"),),
                            resident_code=resident_code(code, "kasumi-jiro"),
                            addresses=((KASUMI_ADDRESS, jiro_birth),)),
            ]),
            (bango, [
                KosekiEntry("kp-bango-ichiro", bango.register_id, 1, "番号 一郎", "一郎",
                            date(1958, 11, 3), "番号 太平", "番号 ハル", "長男", "夫",
                            (_birth(date(1958, 11, 3), "東京都千代田区", "父"),
                             _marriage(date(1987, 10, 1), "番号 和子",
                                       "東京都千代田区千代田1番 番号 太平"))),
                KosekiEntry("kp-bango-kazuko", bango.register_id, 2, "番号 和子", "和子",
                            date(1961, 5, 20), "佐藤 茂", "佐藤 文", "二女", "妻",
                            (_birth(date(1961, 5, 20), "宮崎県宮崎市", "父"),
                             _marriage(date(1987, 10, 1), "番号 一郎",
                                       "宮崎県宮崎市橘通東一丁目9番 佐藤 茂"))),
                KosekiEntry("kp-bango-hanako", bango.register_id, 3, "番号 花子", "花子",
                            date(1989, 3, 31), "番号 一郎", "番号 和子", "長女", None,
                            (_birth(date(1989, 3, 31), "東京都千代田区", "父"),),
                            resident_code=resident_code(MIYAZAKI, "bango-hanako"),
                            addresses=(("東京都千代田区千代田1番1号", date(1989, 3, 31)),
                                       (BANGO_ADDRESS, date(2015, 4, 1)))),
            ]),
            large_family_register(code),
        ]
    if code == MIYAZAKI:
        hyuga = FamilyRegister("k-hyuga", HYUGA_DOMICILE, "日向 陽子", date(2010, 8, 1))
        return [(hyuga, [
            KosekiEntry("kp-hyuga-yoko", hyuga.register_id, 1, "日向 陽子", "陽子",
                        date(1986, 7, 21), "日向 誠", "日向 恵", "長女", None,
                        (_birth(date(1986, 7, 21), "宮崎県宮崎市", "父"),
                         ("分籍", (("分籍日", wareki(date(2010, 8, 1))),
                                   ("従前戸籍", "宮崎県宮崎市橘通東一丁目9番 日向 誠")))),
                        resident_code=resident_code(CHIYODA, "domicile-elsewhere"),
                        addresses=(("宮崎県宮崎市橘通東1丁目9番10号", date(2010, 8, 1)),
                                   ("東京都千代田区永田町1丁目7番1号", date(2015, 4, 1)))),
        ])]
    return []


def persona_pending_notifications(code: str, today: date) -> list[tuple[str, str, date]]:
    """届出 filed against a persona 戸籍 and not yet entered: (register_id, kind, filed_on)."""
    if code == CHIYODA:
        return [("k-sasaki", "婚姻届", today - timedelta(days=1))]
    return []


def persona_tax_records(code: str, today: date) -> list[TaxRecord]:
    """Assessments for the personas who earn, for the fiscal years a kiosk offers."""
    def years(key: str, address: str, count: int = 2, **income: object
              ) -> list[TaxRecord]:
        latest = today.year if today.month >= 6 else today.year - 1
        return [assess(resident_code(code, key), latest - n, address, **income)  # type: ignore[arg-type]
                for n in range(count)]
    if code == CHIYODA:
        return [*years("kasumi-taro", KASUMI_ADDRESS, gross_salary=6_200_000, spouse=True,
                       dependents=0),
                *years("kasumi-hanako", KASUMI_ADDRESS, count=1, gross_salary=1_000_000),
                *years("no-seal", "東京都千代田区永田町1丁目7番1号", gross_salary=4_800_000),
                *years("foreign-resident", "東京都千代田区永田町1丁目7番1号", count=1,
                       gross_salary=5_400_000)]
    if code == MIYAZAKI:
        return years("bango-hanako", BANGO_ADDRESS, gross_salary=3_900_000)
    return []


def persona_damage_reports(code: str) -> list[DamageReport]:
    """罹災: the typhoon that flooded the 霞 household's ground floor."""
    if code != CHIYODA:
        return []
    typhoon = Disaster("r8-typhoon-10", "令和8年台風第10号", date(2026, 8, 30))
    return [DamageReport(typhoon, "h-kasumi", KASUMI_ADDRESS, "半壊", "床上浸水",
                         date(2026, 9, 4))]


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
