"""住民票の写し: the household's address, then one ruled block per member (世帯員)."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from municipal_server.render.inputs import JuminhyoInput, Person
from municipal_server.render.pdf import (
    BOTTOM,
    CERTIFICATION_H,
    CONTENT_W,
    FRAME,
    FURNITURE_H,
    LEFT,
    Box,
    Document,
    cell,
    certification,
    date_text,
    end_of_entries,
    header,
    label_cell,
    name_cell,
    page_furniture,
    rule_box,
)

TITLE = "住民票の写し"
WHOLE_HOUSEHOLD = "この写しは、世帯全員の住民票の原本と相違ないことを証明する。"
SOME_MEMBERS = "この写しは、住民票の原本と相違ないことを証明する。"

# Columns of a member block: number, label, value, label, value (the rest).
NO_W, LABEL_W, VALUE_W = 18.0, 84.0, 146.0
# Rows of a member block at full size: 氏名 (with ふりがな), 性別/続柄, 住民となった年月日/前住所.
ROW_HEIGHTS = (34.0, 18.0, 18.0)
BLOCK_H = sum(ROW_HEIGHTS)
# Below this, text gets too small to read on paper; a household that needs it cannot be
# printed on one page (a 6-member household fits at full size).
MIN_SCALE = 0.6


def render_juminhyo(inp: JuminhyoInput) -> bytes:
    """One-page A4 住民票の写し as PDF bytes.

    Rows shrink for large households; ValueError if there are no members or more than fit
    (6 fit at full size, 10 at the smallest legible size)."""
    if not inp.members:
        raise ValueError("a 住民票の写し needs at least one member")
    doc = Document(TITLE, inp.municipality)
    c = doc.canvas
    y = header(c, TITLE, inp.certificate_number)

    # 世帯主 and 続柄 are one option on the request (世帯主・続柄の記載): both or neither.
    head = inp.head_of_household if inp.show_relationship else None
    y = _household(c, y, inp.address, head) - 10

    certification_top = BOTTOM + FURNITURE_H + 8 + CERTIFICATION_H
    room = y - certification_top - 22  # keep space for 「以下余白」
    scale = min(1.0, room / (BLOCK_H * len(inp.members)))
    if scale < MIN_SCALE:
        raise ValueError(f"{len(inp.members)} members do not fit on one page")
    top = y
    for index, person in enumerate(inp.members, start=1):
        y = _member(c, y, index, person, inp.show_relationship, scale)
    rule_box(c, Box(LEFT, y, CONTENT_W, top - y), FRAME)
    end_of_entries(c, y)

    sentence = WHOLE_HOUSEHOLD if inp.whole_household else SOME_MEMBERS
    certification(c, certification_top, sentence, inp.issued_on, inp.municipality)
    page_furniture(c, inp.municipality, f"{inp.copies}通のうち{inp.copy_index}通目")
    return doc.finish()


def _household(c: Canvas, y_top: float, address: str, head: str | None) -> float:
    """住所 and (unless omitted) 世帯主 rows at the top of the form; returns their bottom."""
    row_h = 26.0
    label_w = NO_W + LABEL_W
    value_w = CONTENT_W - label_w
    rows = [("住所", address)] if head is None else [("住所", address), ("世帯主", head)]
    top = y_top
    for label, value in rows:
        y_top -= row_h
        label_cell(c, Box(LEFT, y_top, label_w, row_h), label, 9.5)
        cell(c, Box(LEFT + label_w, y_top, value_w, row_h), value, 12.0, pad=8)
    rule_box(c, Box(LEFT, y_top, CONTENT_W, top - y_top), FRAME)
    return y_top


def _member(
    c: Canvas, y_top: float, index: int, p: Person, show_relationship: bool, scale: float
) -> float:
    """One 世帯員 block of three ruled rows; returns its bottom."""
    h1, h2, h3 = (h * scale for h in ROW_HEIGHTS)
    label, value, small = 8.5 * scale, 10.5 * scale, 9.0 * scale
    x_label1 = LEFT + NO_W
    x_value1 = x_label1 + LABEL_W
    x_label2 = x_value1 + VALUE_W
    x_value2 = x_label2 + LABEL_W
    value2_w = LEFT + CONTENT_W - x_value2
    bottom = y_top - h1 - h2 - h3

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

    rule_box(c, Box(LEFT, bottom, CONTENT_W, y_top - bottom), FRAME * 0.8)
    return bottom
