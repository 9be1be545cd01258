"""Every certificate type renders the right person's items on one A4 page, and no more."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from municipal_server import samples
from municipal_server.render.fuhyo import render_fuhyo
from municipal_server.render.inputs import (
    FuhyoAddress,
    FuhyoInput,
    JuminhyoKisaiInput,
    KosekiEvent,
    Municipality,
    RisaiInput,
)
from municipal_server.render.juminhyo import render_juminhyo
from municipal_server.render.juminhyo_kisai import render_juminhyo_kisai
from municipal_server.render.koseki import render_koseki
from municipal_server.render.risai import render_risai
from municipal_server.render.tax import local_tax_names, render_tax
from tests.support import A4_POINTS, embedded_font_files, pdf_page_sizes, pdf_pages_text

CHIYODA = samples.CHIYODA
YOKOHAMA = Municipality("141003", "横浜市", "神奈川県", "横浜市長", "架空 浜子")


def one_page_text(pdf: bytes) -> str:
    """The page's text, after checking it is exactly one portrait A4 page with its font."""
    sizes = pdf_page_sizes(pdf)
    assert len(sizes) == 1
    assert sizes[0] == pytest.approx(A4_POINTS, abs=1)
    assert embedded_font_files(pdf) == 1
    [text] = pdf_pages_text(pdf)
    return text


def flat(text: str) -> str:
    """Spread labels (均等割り) extract with spaces between their characters."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    return samples.sample_pdfs()


def test_every_type_is_one_a4_page_with_the_furniture(pdfs: dict[str, bytes]) -> None:
    assert set(pdfs) == {f"{name}.pdf" for name in samples.TITLES}
    for name, pdf in pdfs.items():
        text = flat(one_page_text(pdf))
        assert "以下余白" in text, name
        assert "令和8年11月24日" in text, name  # 交付日
        assert "千代田区長架空一郎" in text, name
        assert "証明書番号131016-2026-" in text, name
        # The front stays well inside the center's 400 KB budget for the finished certificate.
        assert len(pdf) < 100_000, name


def test_no_individual_number_or_resident_code_anywhere(pdfs: dict[str, bytes]) -> None:
    for pdf in pdfs.values():
        text = flat(one_page_text(pdf))
        for forbidden in ("個人番号", "マイナンバー", "住民票コード"):
            assert forbidden not in text


def test_juminhyo_with_domicile(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["juminhyo.pdf"]))
    assert "本籍東京都千代田区霞が関二丁目1番筆頭者霞太郎" in text
    assert text.count("本籍") == 3  # one row per member
    assert "国籍" not in text and "在留資格" not in text


def test_juminhyo_domicile_only_when_given() -> None:
    household = samples._household()
    plain = replace(household, members=tuple(
        replace(m, family_register=None) for m in household.members))
    text = flat(one_page_text(render_juminhyo(plain)))
    assert "本籍" not in text and "筆頭者" not in text


def test_foreign_resident_juminhyo_has_the_items_in_western_dates(
    pdfs: dict[str, bytes],
) -> None:
    text = flat(one_page_text(pdfs["juminhyo_foreign.pdf"]))
    for item in ("国籍・地域アメリカ合衆国", "在留資格技術・人文知識・国際業務", "在留期間3年",
                 "在留期間の満了の日2028年3月31日", "中長期在留者", "外国人住民となった年月日",
                 "1988年8月8日", "2023年4月3日"):
        assert item in text
    assert "法第30条の45" in text
    assert "昭和" not in text and "平成" not in text
    assert "本籍" not in text


def test_juminhyo_with_all_rows_runs_over_pages_when_it_does_not_fit() -> None:
    household = samples._household()
    foreign = samples._foreign_resident().members[0]
    many = tuple(replace(foreign, name=f"スミス {i}") for i in range(7))
    # Issue 14: no overflow error any more; every member, over several pages.
    pages = [flat(t) for t in pdf_pages_text(render_juminhyo(replace(household,
                                                                     members=many)))]
    assert len(pages) >= 2
    assert all(f"スミス{i}" in "".join(pages) for i in range(7))
    assert all(f"{len(pages)}枚中{m}枚目" in page for m, page in enumerate(pages, start=1))
    # Four such members do fit, shrunk.
    text = flat(one_page_text(render_juminhyo(replace(household, members=many[:4]))))
    assert "スミス3" in text


def test_kisai(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["juminhyo_kisai.pdf"]))
    assert "住民票記載事項証明書" in text
    for item in ("氏名かすみたろう霞太郎", "生年月日昭和55年4月1日", "性別男",
                 "住所東京都千代田区霞が関2丁目1番2号", "住民となった年月日平成27年4月1日",
                 "上記の事項は、住民票に記載されていることを証明する。"):
        assert item in text
    assert "霞花子" not in text  # the cardholder only


def test_kisai_western_dates() -> None:
    inp = JuminhyoKisaiInput(CHIYODA, "n", date(2026, 11, 24), "スミス ジョン", "すみす じょん",
                             date(1988, 8, 8), "男", "東京都千代田区永田町1丁目7番1号",
                             date(2023, 4, 3), use_western_dates=True)
    text = flat(one_page_text(render_juminhyo_kisai(inp)))
    assert "1988年8月8日" in text and "2023年4月3日" in text
    assert "令和8年11月24日" in text  # the municipality dates its certification in 和暦


def test_inkan_shows_impression_and_particulars(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["inkan.pdf"]))
    for item in ("印鑑登録証明書", "印影", "氏名かすみたろう霞太郎",
                 "生年月日昭和55年4月1日", "住所東京都千代田区霞が関2丁目1番2号"):
        assert item in text


def test_income_and_assessment_certificate(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["tax_income_assessment.pdf"]))
    for item in ("所得課税証明書", "令和8年度", "令和7年中の所得", "霞太郎", "昭和55年4月1日",
                 "給与収入金額5,000,000円", "給与所得3,560,000円", "合計所得金額3,560,000円",
                 "社会保険料控除750,000円", "基礎控除430,000円", "所得控除合計1,510,000円",
                 "課税標準額2,050,000円", "扶養人数2人", "特別区民税123,000円3,000円126,000円",
                 "都民税82,000円1,000円83,000円", "年税額205,000円4,000円209,000円",
                 "上記のとおり相違ないことを証明します。"):
        assert item in text, item


def test_income_certificate_has_no_tax_amounts(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["tax_income.pdf"]))
    assert "所得証明書" in text and "給与所得3,560,000円" in text and "扶養人数2人" in text
    for absent in ("所得割", "均等割", "年税額", "特別区民税", "課税標準額"):
        assert absent not in text


def test_assessment_certificate_has_no_income_breakdown(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["tax_assessment.pdf"]))
    assert "課税証明書" in text and "合計所得金額3,560,000円" in text
    assert "年税額205,000円4,000円209,000円" in text
    for absent in ("給与所得", "給与収入", "社会保険料控除", "所得の内訳"):
        assert absent not in text


def test_local_tax_names_follow_the_municipality() -> None:
    assert local_tax_names(CHIYODA) == ("特別区民税", "都民税")
    assert local_tax_names(YOKOHAMA) == ("市民税", "県民税")
    hachioji = replace(CHIYODA, name="八王子市")
    assert local_tax_names(hachioji) == ("市民税", "都民税")
    text = flat(one_page_text(render_tax(replace(samples._tax("assessment", 1),
                                                 municipality=YOKOHAMA))))
    assert "市民税" in text and "県民税" in text and "特別区民税" not in text


def test_tax_unknown_kind_and_too_many_rows_are_refused() -> None:
    with pytest.raises(ValueError):
        render_tax(replace(samples._tax("income", 1), kind="residence"))
    many = tuple((f"控除{i}", 1_000) for i in range(40))
    with pytest.raises(ValueError):
        render_tax(replace(samples._tax("income_assessment", 1), deductions=many))


def test_koseki_zenbu_shows_everyone(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["koseki_zenbu.pdf"]))
    for item in ("戸籍全部事項証明書", "本籍東京都千代田区霞が関二丁目1番", "氏名霞太郎",
                 "戸籍編製【編製日】平成20年4月1日", "【名】太郎", "【名】花子", "【名】次郎",
                 "【生年月日】昭和55年4月1日【配偶者区分】夫", "【父】霞一郎", "【母】霞和子",
                 "【続柄】長男", "出生【出生日】昭和55年4月1日", "【出生地】東京都千代田区",
                 "婚姻【婚姻日】平成20年4月1日", "【配偶者氏名】霞花子", "【従前戸籍】",
                 "これは、戸籍に記録されている事項の全部を証明した書面である。"):
        assert item in text, item
    assert text.count("戸籍に記録されている者") == 3


def test_koseki_kojin_shows_one_person(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["koseki_kojin.pdf"]))
    assert "戸籍個人事項証明書" in text and "【名】太郎" in text
    assert "【名】花子" not in text and "【名】次郎" not in text
    assert text.count("戸籍に記録されている者") == 1
    assert "これは、戸籍中の一部の者について記録されている事項の全部を証明した書面である。" in text
    with pytest.raises(ValueError):  # 個人事項 is of exactly one person
        render_koseki(replace(samples._koseki("zenbu", 1), kind="kojin"))


def test_koseki_removed_person_is_marked_in_zenbu() -> None:
    inp = samples._koseki("zenbu", 1)
    removed = replace(inp.persons[2], removed=True)
    text = flat(one_page_text(render_koseki(replace(inp, persons=(*inp.persons[:2], removed)))))
    assert "除籍" in text
    assert "除籍" not in flat(one_page_text(render_koseki(inp)))


def test_koseki_too_many_entries_run_over_pages() -> None:
    inp = samples._koseki("zenbu", 1)
    busy = replace(inp.persons[0], events=inp.persons[0].events * 4)
    # Issue 14: no overflow error any more; the same bands over several pages.
    pages = [flat(t) for t in pdf_pages_text(render_koseki(replace(
        inp, persons=(busy, *inp.persons[1:], busy))))]
    assert len(pages) >= 2
    assert "".join(pages).count("戸籍に記録されている者") == 4
    assert all(f"{len(pages)}枚中{m}枚目" in page for m, page in enumerate(pages, start=1))
    # A little more than the sample still fits, smaller.
    extra = replace(inp.persons[2], events=(*inp.persons[2].events,
                                            KosekiEvent("転籍", (("転籍日", "令和2年1月1日"),))))
    assert "転籍" in flat(one_page_text(render_koseki(replace(
        inp, persons=(*inp.persons[:2], extra)))))


def test_fuhyo(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["koseki_fuhyo.pdf"]))
    for item in ("戸籍の附票の写し", "本籍東京都千代田区霞が関二丁目1番", "筆頭者霞太郎",
                 "【住所】東京都港区芝公園4丁目2番8号", "【住所を定めた年月日】平成20年4月1日",
                 "【住所】東京都千代田区霞が関2丁目1番2号",
                 "【住所を定めた年月日】平成27年4月1日",
                 "この写しは、戸籍の附票の原本と相違ないことを証明する。"):
        assert item in text, item
    # Oldest first, the current address last.
    assert text.index("港区芝公園") < text.index("霞が関2丁目")


def test_fuhyo_too_many_addresses_raise() -> None:
    inp = FuhyoInput(CHIYODA, "n", date(2026, 11, 24), samples.DOMICILE, "霞 太郎", "霞 太郎",
                     samples.TARO_BORN, tuple(FuhyoAddress(f"東京都千代田区{i}番", date(2000, 1, i))
                                              for i in range(1, 31)))
    with pytest.raises(ValueError):
        render_fuhyo(inp)
    assert "東京都千代田区12番" in flat(one_page_text(render_fuhyo(
        replace(inp, addresses=inp.addresses[:12]))))


def test_risai(pdfs: dict[str, bytes]) -> None:
    text = flat(one_page_text(pdfs["risai.pdf"]))
    for item in ("罹災証明書", "災害名令和8年台風第10号", "発生年月日令和8年8月30日",
                 "被災住家の所在地東京都千代田区霞が関2丁目1番2号", "世帯主氏名霞太郎",
                 "住家の被害の程度半壊", "■半壊", "□全壊", "浸水区分床上浸水",
                 "調査日令和8年9月4日",
                 "上記のとおり相違ないことを証明します。"):
        assert item in text, item


def test_risai_without_flooding_and_unknown_level() -> None:
    inp = RisaiInput(CHIYODA, "n", date(2026, 11, 24), "令和8年台風第10号", date(2026, 8, 30),
                     samples.ADDRESS, "霞 太郎", "準半壊に至らない（一部損壊）")
    text = flat(one_page_text(render_risai(inp)))
    assert "■準半壊に至らない（一部損壊）" in text and "浸水区分" not in text
    with pytest.raises(ValueError):
        render_risai(replace(inp, damage_level="大破"))


def test_sample_pngs(tmp_path: Path) -> None:
    from PIL import Image

    written = samples.write_sample_pngs(tmp_path, dpi=40, print_dpi=120)
    assert {p.stem for p in written} == {*samples.TITLES, "back"}
    for path in written:
        assert Image.open(path).size == pytest.approx(
            (A4_POINTS[0] * 40 / 72, A4_POINTS[1] * 40 / 72), abs=1)
