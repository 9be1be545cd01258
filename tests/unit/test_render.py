"""The rendering layer: plain values in, one-page A4 PDFs with an embedded Mincho font out."""

from __future__ import annotations

import io
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date

import pikepdf
import pytest

from konbini.pdfium import pdf_document
from municipal_server.render.inkan import render_inkan
from municipal_server.render.inputs import InkanInput, JuminhyoInput, Municipality, Person
from municipal_server.render.juminhyo import render_juminhyo
from municipal_server.render.seal import official_seal_png, personal_seal_png

CHIYODA = Municipality("131016", "千代田区", "東京都", "千代田区長", "架空 一郎")
ADDRESS = "東京都千代田区霞が関2丁目1番2号"
TARO = Person(
    name="霞 太郎",
    name_kana="かすみ たろう",
    birth_date=date(1975, 4, 12),
    sex="男",
    relationship="世帯主",
    became_resident_on=date(2015, 4, 1),
    became_resident_reason="転入",
    previous_address="神奈川県横浜市中区本町1丁目2番地3",
)
HANAKO = replace(
    TARO,
    name="霞 花子",
    name_kana="かすみ はなこ",
    birth_date=date(1978, 9, 3),
    sex="女",
    relationship="妻",
)
JIRO = replace(
    TARO,
    name="霞 次郎",
    name_kana="かすみ じろう",
    birth_date=date(2019, 5, 1),
    relationship="子",
    became_resident_on=date(2019, 5, 1),
    became_resident_reason="出生",
    previous_address=None,
)
HOUSEHOLD = JuminhyoInput(
    municipality=CHIYODA,
    certificate_number="第2026-000123号",
    issued_on=date(2026, 11, 23),
    address=ADDRESS,
    head_of_household="霞 太郎",
    members=(TARO, HANAKO, JIRO),
    show_relationship=True,
    whole_household=True,
)
INKAN = InkanInput(
    municipality=CHIYODA,
    certificate_number="第2026-000124号",
    issued_on=date(2026, 11, 23),
    name="霞 太郎",
    name_kana="かすみ たろう",
    birth_date=date(1975, 4, 12),
    sex="男",
    address=ADDRESS,
    seal_image_png=personal_seal_png("霞"),
)


def page_text(pdf: bytes) -> str:
    """The text a reader would extract, after checking the page is a single portrait A4."""
    with pdf_document(pdf) as doc:
        assert len(doc) == 1
        page = doc[0]
        width, height = page.get_size()
        assert width == pytest.approx(595, abs=1)
        assert height == pytest.approx(842, abs=1)
        return page.get_textpage().get_text_range()


def embedded_font_files(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return sum(
            1 for obj in doc.objects if isinstance(obj, pikepdf.Dictionary) and "/FontFile2" in obj
        )


def test_juminhyo_whole_household() -> None:
    pdf = render_juminhyo(HOUSEHOLD)
    text = page_text(pdf)
    assert "住民票の写し" in text
    for name in ("霞 太郎", "霞 花子", "霞 次郎"):
        assert name in text
    assert "昭和50年4月12日" in text
    assert "令和元年5月1日" in text
    assert ADDRESS in text
    assert "架空 一郎" in text
    assert "第2026-000123号" in text
    assert "この写しは、世帯全員の住民票の原本と相違ないことを証明する。" in text
    assert "令和8年11月23日" in text
    assert "世帯主" in text and "妻" in text
    assert embedded_font_files(pdf) >= 1


def test_juminhyo_some_members_without_relationship() -> None:
    inp = replace(
        HOUSEHOLD,
        members=(replace(TARO, relationship=None),),
        show_relationship=False,
        whole_household=False,
    )
    text = page_text(render_juminhyo(inp))
    assert "この写しは、住民票の原本と相違ないことを証明する。" in text
    assert "世帯全員" not in text


def test_juminhyo_relationship_only_when_requested() -> None:
    # 世帯主・続柄 are printed together or not at all; labels may extract letter-spaced.
    shown = page_text(render_juminhyo(HOUSEHOLD)).replace(" ", "")
    hidden = page_text(render_juminhyo(replace(HOUSEHOLD, show_relationship=False)))
    hidden = hidden.replace(" ", "")
    for word in ("世帯主", "続柄", "妻"):
        assert word in shown
        assert word not in hidden
    assert "霞太郎" in hidden  # the members themselves are all still there


def test_juminhyo_six_members_fit_on_one_page() -> None:
    children = tuple(replace(JIRO, name=f"霞 {n}郎", relationship="子") for n in ("三", "四", "五"))
    inp = replace(HOUSEHOLD, members=(TARO, HANAKO, JIRO, *children))
    text = page_text(render_juminhyo(inp))
    for person in inp.members:
        assert person.name in text


def test_juminhyo_western_dates_for_foreign_residents() -> None:
    alice = replace(TARO, name="SMITH ALICE", use_western_dates=True)
    text = page_text(render_juminhyo(replace(HOUSEHOLD, members=(alice,))))
    assert "1975年4月12日" in text
    assert "昭和50年" not in text
    assert "令和8年11月23日" in text  # the municipality still dates its certification in 和暦


def test_inkan() -> None:
    pdf = render_inkan(INKAN)
    text = page_text(pdf)
    assert "印鑑登録証明書" in text
    assert "霞 太郎" in text
    assert "昭和50年4月12日" in text
    assert ADDRESS in text
    assert "この写しは、登録されている印影と相違ないことを証明する。" in text
    assert "架空 一郎" in text
    assert "第2026-000124号" in text
    assert embedded_font_files(pdf) >= 1


def test_renders_on_several_threads_at_once() -> None:
    # The server renders off the event loop, so renders share the cached font and seal images.
    jobs = [replace(HOUSEHOLD, certificate_number=f"第{i}号") for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        pdfs = list(pool.map(render_juminhyo, jobs))
        inkans = list(pool.map(render_inkan, [INKAN] * 8))
    for job, pdf in zip(jobs, pdfs, strict=True):
        assert job.certificate_number in page_text(pdf)
    for pdf in inkans:
        assert "霞 太郎" in page_text(pdf)


def test_seals_are_deterministic_transparent_pngs() -> None:
    from PIL import Image

    for png in (official_seal_png("千代田区長之印"), personal_seal_png("佐々木")):
        image = Image.open(io.BytesIO(png))
        assert image.mode == "RGBA"
        assert image.getpixel((image.width // 2, 2))[3] > 0  # the frame is inked
        assert image.getextrema()[3][0] == 0  # and the paper shows through elsewhere
    assert official_seal_png("港区長之印") == official_seal_png("港区長之印")
    assert personal_seal_png("霞") == personal_seal_png("霞")


def test_one_person_juminhyo_render_time() -> None:
    inp = replace(HOUSEHOLD, members=(TARO,), whole_household=False)
    render_juminhyo(inp)  # the first render pays for the font and the seal
    times = []
    for _ in range(50):
        start = time.perf_counter()
        render_juminhyo(inp)
        times.append(time.perf_counter() - start)
    print(f"one-person 住民票の写し: median {statistics.median(times) * 1000:.1f} ms")


def test_every_municipal_profile_names_a_fictional_mayor() -> None:
    """Demo certificates must not pass for real ones: no real mayor's name beside a 職印."""
    from municipal_server.profile import PROFILE_DIR, load_profile

    real = {"樋口 高顕", "山中 竹春", "清山 知憲"}
    paths = sorted(PROFILE_DIR.glob("*.json"))
    assert len(paths) >= 3
    for profile in map(load_profile, map(str, paths)):
        assert profile.mayor_name not in real
        assert profile.mayor_name.startswith("架空"), profile.mayor_name  # 架空 = fictional


def test_every_member_shows_the_day_the_address_was_set_and_the_day_it_was_notified() -> None:
    """A real 住民票の写し prints 住所を定めた年月日 and 届出日 for each person."""
    from municipal_server.samples import sample_pdfs

    text = page_text(sample_pdfs()["juminhyo.pdf"]).replace(" ", "")
    assert text.count("住所を定めた年月日") == 3 and text.count("届出日") == 3
    assert "平成27年4月8日" in text  # 霞 太郎 and 花子: 転入届 a week after moving in
    assert "平成24年6月25日" in text  # 霞 次郎: 出生届 ten days after birth
    foreign = page_text(sample_pdfs()["juminhyo_foreign.pdf"]).replace(" ", "")
    assert "2023年4月5日" in foreign  # Western dates for a foreign resident who chose them
