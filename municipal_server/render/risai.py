"""罹災証明書: the damage to a household's dwelling (住家) found by the municipality's survey.

The 住家の被害の程度 is one of the six levels of the Cabinet Office's 災害に係る住家の被害認定
基準; the form prints all of them with the found one ticked, as municipal forms do."""

from __future__ import annotations

from municipal_server.render.inputs import RisaiInput
from municipal_server.render.pdf import (
    Document,
    Row,
    close_form,
    date_text,
    header,
    page_furniture,
    row_table,
)

TITLE = "罹災証明書"
SENTENCE = "上記のとおり相違ないことを証明します。"
DAMAGE_LEVELS = (
    "全壊",
    "大規模半壊",
    "中規模半壊",
    "半壊",
    "準半壊",
    "準半壊に至らない（一部損壊）",
)
LABEL_W = 120.0


def render_risai(inp: RisaiInput) -> bytes:
    """One-page A4 罹災証明書 as PDF bytes; ValueError for an unknown 被害の程度."""
    if inp.damage_level not in DAMAGE_LEVELS:
        raise ValueError(f"unknown 住家の被害の程度 {inp.damage_level!r}")
    doc = Document(TITLE, inp.municipality, inp.binding, inp.certificate_number)
    c = doc.canvas
    y = header(c, TITLE, inp.certificate_number)
    boxes = [f"{'■' if level == inp.damage_level else '□'}{level}" for level in DAMAGE_LEVELS]
    ticked = "　".join(boxes[:4]) + "\n" + "　".join(boxes[4:])
    rows = [
        Row("災害名", inp.disaster_name, 30.0),
        Row("発生年月日", date_text(inp.occurred_on), 30.0),
        Row("被災住家の所在地", inp.property_address, 40.0),
        Row("世帯主氏名", inp.head_of_household, 30.0),
        Row("住家の被害の程度", inp.damage_level, 30.0),
        Row("被害の程度の区分", ticked, 40.0),
    ]
    if inp.flooding:
        rows.append(Row("浸水区分", inp.flooding, 30.0))
    if inp.surveyed_on is not None:
        rows.append(Row("調査日", date_text(inp.surveyed_on), 30.0))
    bottom = row_table(c, y, rows, LABEL_W)
    close_form(c, bottom, SENTENCE, inp.issued_on, inp.municipality)
    page_furniture(c, inp.municipality)
    return doc.finish()
