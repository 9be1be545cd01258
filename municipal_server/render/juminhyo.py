"""住民票の写し: the household's address, then one ruled block per member (世帯員).

A member's block grows by a 本籍・筆頭者 row when ``Person.family_register`` is given, and by
three rows of 国籍・地域, 在留資格 … when ``Person.foreign`` is: the issuer passes them only
when the option was asked for and applies to that member, so each member shows exactly what
applies to them (a mixed household prints 本籍 for the Japanese members only)."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from municipal_server.render.inputs import JuminhyoInput, Person
from municipal_server.render.pdf import (
    CERTIFICATION_TOP,
    CONTENT_W,
    ENTRIES_BOTTOM,
    FRAME,
    HEADER_BOTTOM,
    LEFT,
    PAGE_ENTRIES_BOTTOM,
    RIGHT,
    Box,
    Document,
    Row,
    cell,
    certification,
    date_text,
    draw_text,
    end_of_entries,
    header,
    label_cell,
    name_cell,
    page_furniture,
    paginate,
    row_table,
    rule_box,
    sheet_note,
)

TITLE = "住民票の写し"
WHOLE_HOUSEHOLD = "この写しは、世帯全員の住民票の原本と相違ないことを証明する。"
SOME_MEMBERS = "この写しは、住民票の原本と相違ないことを証明する。"

# Columns of a member block: number, label, value, label, value (the rest).
NO_W, LABEL_W, VALUE_W = 18.0, 84.0, 146.0
# Rows of a member block at full size: 氏名 (with ふりがな), 性別/続柄, 住民となった年月日/前住所,
# 住所を定めた年月日/届出日.
ROW_HEIGHTS = (34.0, 18.0, 18.0, 18.0)
BLOCK_H = sum(ROW_HEIGHTS)
# Each optional row (本籍・筆頭者, and the three of 国籍・在留資格) adds this much.
EXTRA_ROW_H = 18.0
# Below this, text gets too small to read on paper; a household that needs it is printed
# at full size over several pages (a 6-member household fits one page at full size).
MIN_SCALE = 0.6


def render_juminhyo(inp: JuminhyoInput) -> bytes:
    """A4 住民票の写し as PDF bytes: one page while the household fits legibly (6 members at
    full size, 10 at the smallest legible size), else as many pages as it needs.

    ValueError if there are no members."""
    if not inp.members:
        raise ValueError("a 住民票の写し needs at least one member")
    rows = [_extra_rows(person) for person in inp.members]
    heights = [BLOCK_H + EXTRA_ROW_H * len(extra) for extra in rows]
    # 世帯主 and 続柄 are one option on the request (世帯主・続柄の記載): both or neither.
    head = inp.head_of_household if inp.show_relationship else None
    first_top = HEADER_BOTTOM - (1 + (head is not None)) * Row("", "").height - 10
    if sum(heights) * MIN_SCALE > first_top - ENTRIES_BOTTOM:
        return _several_pages(inp, rows, heights, head, first_top)
    doc = Document(TITLE, inp.municipality, inp.binding, inp.certificate_number)
    c = doc.canvas
    y = header(c, TITLE, inp.certificate_number)
    y = _household(c, y, inp.address, head) - 10

    room = y - ENTRIES_BOTTOM
    scale = min(1.0, room / sum(heights))
    top = y
    for index, (person, extra) in enumerate(zip(inp.members, rows, strict=True), start=1):
        y = _member(c, y, index, person, inp.show_relationship, extra, scale)
    rule_box(c, Box(LEFT, y, CONTENT_W, top - y), FRAME)
    end_of_entries(c, y)

    sentence = WHOLE_HOUSEHOLD if inp.whole_household else SOME_MEMBERS
    certification(c, CERTIFICATION_TOP, sentence, inp.issued_on, inp.municipality)
    page_furniture(c, inp.municipality, f"{inp.copies}通のうち{inp.copy_index}通目")
    return doc.finish()


def _several_pages(inp: JuminhyoInput, rows: list[list[ExtraRow]], heights: list[float],
                   head: str | None, first_top: float) -> bytes:
    """A large household at full size over several pages (issue 14): every page with the
    header (証明書番号) and 「n枚中m枚目」, the members numbered on, the 認証文 on the last."""
    pages = paginate(heights, first_top - PAGE_ENTRIES_BOTTOM,
                     HEADER_BOTTOM - PAGE_ENTRIES_BOTTOM, ENTRIES_BOTTOM - PAGE_ENTRIES_BOTTOM)
    doc = Document(TITLE, inp.municipality, inp.binding, inp.certificate_number,
                   pages=len(pages))
    c = doc.canvas
    for number, indexes in enumerate(pages, start=1):
        if number > 1:
            doc.new_page()
        y = header(c, TITLE, inp.certificate_number)
        if number == 1:
            y = _household(c, y, inp.address, head) - 10
        top = y
        for i in indexes:
            y = _member(c, y, i + 1, inp.members[i], inp.show_relationship, rows[i], 1.0)
        if indexes:
            rule_box(c, Box(LEFT, y, CONTENT_W, top - y), FRAME)
        if number == len(pages):
            end_of_entries(c, y)
            sentence = WHOLE_HOUSEHOLD if inp.whole_household else SOME_MEMBERS
            certification(c, CERTIFICATION_TOP, sentence, inp.issued_on, inp.municipality)
        else:
            draw_text(c, RIGHT, y - 12, "（次葉に続く）", 9.0, "right")
        page_furniture(c, inp.municipality, f"{inp.copies}通のうち{inp.copy_index}通目　"
                                            f"{sheet_note(number, len(pages))}")
    return doc.finish()


def _household(c: Canvas, y_top: float, address: str, head: str | None) -> float:
    """住所 and (unless omitted) 世帯主 rows at the top of the form; returns their bottom."""
    rows = [Row("住所", address)]
    if head is not None:
        rows.append(Row("世帯主", head))
    return row_table(c, y_top, rows, NO_W + LABEL_W)


# (label, value, label, value) of one optional row of a member block.
ExtraRow = tuple[str, str, str, str]


def _extra_rows(p: Person) -> list[ExtraRow]:
    """The optional rows that apply to ``p``: 本籍・筆頭者 and 国籍・在留資格等."""
    rows: list[ExtraRow] = []
    if p.family_register is not None:
        rows.append(("本籍", p.family_register.domicile, "筆頭者", p.family_register.head))
    if p.foreign is not None:
        f, western = p.foreign, p.use_western_dates
        became = f.became_foreign_resident_on or p.became_resident_on
        rows += [
            ("国籍・地域", f.nationality, "法第30条の45に規定する区分", f.category),
            ("在留資格", f.residence_status, "在留期間", f.period_of_stay),
            (
                "在留期間の満了の日",
                date_text(f.period_expires_on, western),
                "外国人住民となった年月日",
                date_text(became, western),
            ),
        ]
    return rows


def _member(
    c: Canvas,
    y_top: float,
    index: int,
    p: Person,
    show_relationship: bool,
    extra: list[ExtraRow],
    scale: float,
) -> float:
    """One 世帯員 block of four ruled rows and its optional ones; returns its bottom."""
    h1, h2, h3, h4 = (h * scale for h in ROW_HEIGHTS)
    hx = EXTRA_ROW_H * scale
    label, value, small = 8.5 * scale, 10.5 * scale, 9.0 * scale
    x_label1 = LEFT + NO_W
    x_value1 = x_label1 + LABEL_W
    x_label2 = x_value1 + VALUE_W
    x_value2 = x_label2 + LABEL_W
    value2_w = LEFT + CONTENT_W - x_value2
    bottom = y_top - h1 - h2 - h3 - h4 - hx * len(extra)

    cell(c, Box(LEFT, bottom, NO_W, y_top - bottom), str(index), value, "center", pad=0)

    y = y_top - h1
    label_cell(c, Box(x_label1, y, LABEL_W, h1), "氏名", label)
    name_cell(c, Box(x_value1, y, VALUE_W, h1), p.name, p.name_kana, 13.5 * scale)
    label_cell(c, Box(x_label2, y, LABEL_W, h1), "生年月日", label)
    cell(c, Box(x_value2, y, value2_w, h1), date_text(p.birth_date, p.use_western_dates), value)

    y -= h2
    label_cell(c, Box(x_label1, y, LABEL_W, h2), "性別", label)
    if show_relationship:
        cell(c, Box(x_value1, y, VALUE_W, h2), p.sex, value)
        label_cell(c, Box(x_label2, y, LABEL_W, h2), "続柄", label)
        cell(c, Box(x_value2, y, value2_w, h2), p.relationship or "", value)
    else:
        # 続柄 was not requested: the row carries no trace of it.
        cell(c, Box(x_value1, y, VALUE_W + LABEL_W + value2_w, h2), p.sex, value)

    y -= h3
    became = f"{date_text(p.became_resident_on, p.use_western_dates)}　{p.became_resident_reason}"
    label_cell(c, Box(x_label1, y, LABEL_W, h3), "住民となった年月日", label)
    cell(c, Box(x_value1, y, VALUE_W, h3), became, value, min_size=small * 0.75)
    label_cell(c, Box(x_label2, y, LABEL_W, h3), "前住所", label)
    cell(c, Box(x_value2, y, value2_w, h3), p.previous_address or "", small, min_size=small * 0.75)

    y -= h4
    western = p.use_western_dates
    label_cell(c, Box(x_label1, y, LABEL_W, h4), "住所を定めた年月日", label)
    cell(c, Box(x_value1, y, VALUE_W, h4),
         date_text(p.address_set_on or p.became_resident_on, western), value,
         min_size=small * 0.75)
    label_cell(c, Box(x_label2, y, LABEL_W, h4), "届出日", label)
    cell(c, Box(x_value2, y, value2_w, h4),
         date_text(p.notified_on or p.became_resident_on, western), value, min_size=small * 0.75)

    for label1, value1, label2, value2 in extra:
        y -= hx
        label_cell(c, Box(x_label1, y, LABEL_W, hx), label1, label)
        cell(c, Box(x_value1, y, VALUE_W, hx), value1, value, min_size=small * 0.75)
        label_cell(c, Box(x_label2, y, LABEL_W, hx), label2, label)
        cell(c, Box(x_value2, y, value2_w, hx), value2, value, min_size=small * 0.75)

    rule_box(c, Box(LEFT, bottom, CONTENT_W, y_top - bottom), FRAME * 0.8)
    return bottom
