"""Plain values a certificate is rendered from.

By design there is no field for the 個人番号 (マイナンバー) or the 住民票コード:
コンビニ交付 certificates never print them, and what is not passed in cannot
leak onto the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Municipality:
    """The issuing 市区町村 and its head (市区町村長), e.g. 千代田区 / 千代田区長."""

    code: str  # 全国地方公共団体コード, e.g. "131016"
    name: str  # "千代田区"
    prefecture: str  # "東京都"
    mayor_title: str  # "千代田区長"; the 職印 reads f"{mayor_title}之印"
    mayor_name: str  # "樋口 高顕"


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
