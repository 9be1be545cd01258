"""印鑑登録証明書: the registered 印影 on the left, the registrant's particulars on the right."""

from __future__ import annotations

from reportlab.lib.units import mm

from municipal_server.render.inputs import InkanInput
from municipal_server.render.pdf import (
    CONTENT_W,
    FRAME,
    LEFT,
    Box,
    Document,
    cell,
    certification,
    date_text,
    draw_image_fit,
    end_of_entries,
    header,
    label_cell,
    name_cell,
    page_furniture,
    rule_box,
)

TITLE = "印鑑登録証明書"
SENTENCE = "この写しは、登録されている印影と相違ないことを証明する。"

SEAL_COLUMN_W = 150.0
SEAL_LABEL_H = 20.0
# The registered seal is shown at no more than real seal size (登録できる印鑑は25 mm 以内).
SEAL_MAX = 25 * mm
LABEL_W = 72.0
# 氏名 (with ふりがな), 生年月日, 性別, 住所 (room for two lines).
ROW_HEIGHTS = (46.0, 30.0, 30.0, 46.0)


def render_inkan(inp: InkanInput) -> bytes:
    """One-page A4 印鑑登録証明書 as PDF bytes."""
    doc = Document(TITLE, inp.municipality, inp.binding, inp.certificate_number)
    c = doc.canvas
    y_top = header(c, TITLE, inp.certificate_number)
    table_h = sum(ROW_HEIGHTS)
    bottom = y_top - table_h

    seal_column = Box(LEFT, bottom, SEAL_COLUMN_W, table_h)
    label_cell(c, Box(LEFT, y_top - SEAL_LABEL_H, SEAL_COLUMN_W, SEAL_LABEL_H), "印影", 9.5)
    impression = Box(LEFT, bottom, SEAL_COLUMN_W, table_h - SEAL_LABEL_H)
    rule_box(c, impression)
    draw_image_fit(c, inp.seal_image_png, _inset(impression, 10), SEAL_MAX)

    x_label = seal_column.right
    x_value = x_label + LABEL_W
    value_w = LEFT + CONTENT_W - x_value
    heights = iter(ROW_HEIGHTS)
    y = y_top - next(heights)
    label_cell(c, Box(x_label, y, LABEL_W, ROW_HEIGHTS[0]), "氏名", 9.5)
    name_cell(c, Box(x_value, y, value_w, ROW_HEIGHTS[0]), inp.name, inp.name_kana, 16.0)
    rows = (
        ("生年月日", date_text(inp.birth_date, inp.use_western_dates)),
        ("性別", inp.sex),
        ("住所", inp.address),
    )
    for (label, value), h in zip(rows, heights, strict=True):
        y -= h
        label_cell(c, Box(x_label, y, LABEL_W, h), label, 9.5)
        cell(c, Box(x_value, y, value_w, h), value, 12.0, pad=8, min_size=9.0)
    rule_box(c, Box(LEFT, bottom, CONTENT_W, table_h), FRAME)

    y = end_of_entries(c, bottom)
    certification(c, y - 24, SENTENCE, inp.issued_on, inp.municipality)
    page_furniture(c, inp.municipality)
    return doc.finish()


def _inset(box: Box, by: float) -> Box:
    return Box(box.x + by, box.y + by, box.w - 2 * by, box.h - 2 * by)
