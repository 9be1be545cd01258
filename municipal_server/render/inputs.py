"""Plain values a certificate is rendered from.

By design there is no field for the 個人番号 (マイナンバー) or the 住民票コード:
コンビニ交付 certificates never print them, and what is not passed in cannot
leak onto the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class SubjectBinding:
    """Whose the certificate is, as the center checks it (``konbini.subject_binding``):
    keyed digests of the subjects' 住民票コード, never the codes, written invisibly
    into every page as it is rendered."""

    cert_type: str  # the wire type, e.g. "juminhyo"
    subjects: tuple[str, ...]  # subject_tag()s of the persons this input was made from


@dataclass(frozen=True, slots=True)
class Municipality:
    """The issuing 市区町村 and its head (市区町村長), e.g. 千代田区 / 千代田区長."""

    code: str  # 全国地方公共団体コード, e.g. "131016"
    name: str  # "千代田区"
    prefecture: str  # "東京都"
    mayor_title: str  # "千代田区長"; the 職印 reads f"{mayor_title}之印"
    mayor_name: str  # "架空 一郎"


@dataclass(frozen=True, slots=True)
class FamilyRegisterRef:
    """本籍・筆頭者 as printed on a Japanese national's 住民票の写し when asked for."""

    domicile: str  # 本籍, e.g. "東京都千代田区霞が関二丁目1番"
    head: str  # 筆頭者, e.g. "番号 太郎"


@dataclass(frozen=True, slots=True)
class ForeignResidentItems:
    """国籍・在留資格等 on a foreign resident's (外国人住民) 住民票の写し, when asked for."""

    nationality: str  # 国籍・地域
    residence_status: str  # 在留資格, e.g. "技術・人文知識・国際業務"
    period_of_stay: str  # 在留期間, e.g. "3年"
    period_expires_on: date  # 在留期間の満了の日
    category: str = "中長期在留者"  # 住民基本台帳法第30条の45に規定する区分
    # 外国人住民となった年月日; None prints the member's 住民となった年月日 (the same day for
    # anyone who moved in from abroad).
    became_foreign_resident_on: date | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """One member (世帯員) printed on a 住民票の写し."""

    name: str  # 氏名
    name_kana: str  # ふりがな
    birth_date: date  # 生年月日
    sex: str  # 性別: "男" | "女"
    relationship: str | None  # 続柄 e.g. "世帯主", "妻", "子"; None when not requested
    became_resident_on: date  # 住民となった年月日
    became_resident_reason: str  # e.g. "転入", "出生"
    previous_address: str | None  # 前住所; None when there is none (e.g. 出生)
    use_western_dates: bool = False  # 外国人住民 who chose 西暦
    # 住所を定めた年月日 and 届出日 (of the 転入・転居届 or 出生届), printed for every member;
    # None prints 住民となった年月日 in their place.
    address_set_on: date | None = None
    notified_on: date | None = None
    # The optional items: the issuer passes them only when they were asked for and apply,
    # and a member's rows for them are printed exactly when they are not None.
    family_register: FamilyRegisterRef | None = None  # 本籍・筆頭者
    foreign: ForeignResidentItems | None = None  # 国籍・地域, 在留資格 …


@dataclass(frozen=True, slots=True)
class JuminhyoInput:
    """A 住民票の写し: one household (世帯), all or some of its members."""

    municipality: Municipality
    certificate_number: str  # 証明書番号
    issued_on: date  # 交付日
    address: str  # 住所
    head_of_household: str  # 世帯主 氏名
    members: tuple[Person, ...]
    show_relationship: bool  # print 続柄
    copy_index: int = 1  # this is copy (通) number copy_index of copies
    copies: int = 1
    whole_household: bool = False  # 世帯全員: changes the 認証文
    binding: SubjectBinding | None = None  # issue 14: see SubjectBinding


@dataclass(frozen=True, slots=True)
class InkanInput:
    """An 印鑑登録証明書 for one registered person."""

    municipality: Municipality
    certificate_number: str  # 証明書番号
    issued_on: date  # 交付日
    name: str  # 氏名
    name_kana: str  # ふりがな
    birth_date: date  # 生年月日
    sex: str  # 性別: "男" | "女"
    address: str  # 住所
    seal_image_png: bytes  # the registered 印影, PNG (transparent background preferred)
    use_western_dates: bool = False  # 外国人住民 who chose 西暦
    binding: SubjectBinding | None = None  # issue 14: see SubjectBinding


@dataclass(frozen=True, slots=True)
class JuminhyoKisaiInput:
    """A 住民票記載事項証明書 for the cardholder only."""

    municipality: Municipality
    certificate_number: str  # 証明書番号
    issued_on: date  # 交付日
    name: str  # 氏名
    name_kana: str  # ふりがな
    birth_date: date  # 生年月日
    sex: str  # 性別
    address: str  # 住所
    became_resident_on: date  # 住民となった年月日
    use_western_dates: bool = False  # 外国人住民 who chose 西暦
    binding: SubjectBinding | None = None  # issue 14: see SubjectBinding


@dataclass(frozen=True, slots=True)
class TaxInput:
    """A 所得証明書 / 課税証明書 / 所得課税証明書 for one taxpayer and one 年度.

    Amounts are whole yen. The income year (所得年) is ``fiscal_year - 1``."""

    kind: str  # "income" (所得) | "assessment" (課税) | "income_assessment" (所得課税)
    municipality: Municipality
    certificate_number: str  # 証明書番号
    issued_on: date  # 交付日
    fiscal_year: int  # 年度 (Western), e.g. 2026 for 令和8年度
    name: str  # 氏名
    address: str  # 住所 on 1 January of the fiscal year (賦課期日)
    birth_date: date  # 生年月日
    income_items: tuple[tuple[str, int], ...]  # (所得の種類, 所得金額), e.g. ("給与", 3_560_000)
    gross_salary: int  # 給与収入金額 (0 if none)
    total_income: int  # 合計所得金額
    deductions: tuple[tuple[str, int], ...]  # (所得控除, 金額), e.g. ("基礎控除", 430_000)
    total_deductions: int  # 所得控除合計
    taxable_income: int  # 課税標準額
    municipal_income_levy: int  # 区民税/市民税 所得割額
    municipal_per_capita: int  # 区民税/市民税 均等割額
    prefectural_income_levy: int  # 都民税/県民税 所得割額
    prefectural_per_capita: int  # 都民税/県民税 均等割額
    dependents: int  # 扶養人数
    use_western_dates: bool = False  # 外国人住民 who chose 西暦
    binding: SubjectBinding | None = None  # issue 14: see SubjectBinding


@dataclass(frozen=True, slots=True)
class KosekiEvent:
    """One 身分事項 entry, e.g. 出生 with 【出生日】【出生地】【届出日】【届出人】."""

    kind: str  # "出生" | "婚姻" | "死亡" | "転籍" | "養子縁組" …
    details: tuple[tuple[str, str], ...]  # ordered 【label】value pairs, values already formatted


@dataclass(frozen=True, slots=True)
class KosekiPerson:
    """One 戸籍に記録されている者."""

    name: str  # 氏名 (full name); the 【名】 line prints given_name
    given_name: str  # 名
    birth_date: date  # 生年月日
    father: str | None  # 父 (full name)
    mother: str | None  # 母
    relationship: str  # 続柄 to the parents: "長男", "長女", "二男" …
    spouse_role: str | None  # 配偶者区分: "夫" | "妻" | None
    events: tuple[KosekiEvent, ...]  # 身分事項
    removed: bool = False  # 除籍: marked as such in a 全部事項証明書


@dataclass(frozen=True, slots=True)
class KosekiInput:
    """A 戸籍全部事項証明書 (``kind="zenbu"``, every person) or 戸籍個人事項証明書 (``"kojin"``)."""

    kind: str  # "zenbu" | "kojin"
    municipality: Municipality
    certificate_number: str  # 証明書番号
    issued_on: date  # 交付日
    domicile: str  # 本籍
    head_name: str  # 筆頭者 氏名
    compiled_on: date  # 戸籍編製日
    persons: tuple[KosekiPerson, ...]  # 個人事項: exactly one
    binding: SubjectBinding | None = None  # issue 14: see SubjectBinding


@dataclass(frozen=True, slots=True)
class FuhyoAddress:
    """One address of a 戸籍の附票."""

    address: str  # 住所
    since: date  # 住所を定めた年月日


@dataclass(frozen=True, slots=True)
class FuhyoInput:
    """A 戸籍の附票の写し: the cardholder's part of the 附票 of their 戸籍."""

    municipality: Municipality
    certificate_number: str  # 証明書番号
    issued_on: date  # 交付日
    domicile: str  # 本籍
    head_name: str  # 筆頭者
    name: str  # 氏名 of the person recorded in the 附票
    birth_date: date  # 生年月日
    addresses: tuple[FuhyoAddress, ...]  # oldest first; the last is the current one
    binding: SubjectBinding | None = None  # issue 14: see SubjectBinding


@dataclass(frozen=True, slots=True)
class RisaiInput:
    """A 罹災証明書 for a household's dwelling (住家)."""

    municipality: Municipality
    certificate_number: str  # 証明書番号
    issued_on: date  # 交付日
    disaster_name: str  # 災害名, e.g. "令和8年台風第10号"
    occurred_on: date  # 発生年月日
    property_address: str  # 被災住家の所在地
    head_of_household: str  # 世帯主氏名
    damage_level: str  # 住家の被害の程度: 全壊 … 準半壊に至らない（一部損壊）
    flooding: str | None = None  # 浸水区分, e.g. "床上浸水"
    surveyed_on: date | None = None  # 調査日
    binding: SubjectBinding | None = None  # issue 14: see SubjectBinding
