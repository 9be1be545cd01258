"""住民票記載事項証明書: the cardholder's particulars as recorded in the 住民票."""

from __future__ import annotations

from municipal_server.render.inputs import JuminhyoKisaiInput
from municipal_server.render.pdf import (
    Document,
    Row,
    close_form,
    date_text,
    header,
    page_furniture,
    row_table,
)

TITLE = "住民票記載事項証明書"
SENTENCE = "上記の事項は、住民票に記載されていることを証明する。"
LABEL_W = 120.0


def render_juminhyo_kisai(inp: JuminhyoKisaiInput) -> bytes:
    """One-page A4 住民票記載事項証明書 as PDF bytes."""
    doc = Document(TITLE, inp.municipality, inp.binding, inp.certificate_number)
    c = doc.canvas
    y = header(c, TITLE, inp.certificate_number)
    western = inp.use_western_dates
    rows = (
        Row("氏名", inp.name, 46.0, kana=inp.name_kana),
        Row("生年月日", date_text(inp.birth_date, western), 30.0),
        Row("性別", inp.sex, 30.0),
        Row("住所", inp.address, 46.0),
        Row("住民となった年月日", date_text(inp.became_resident_on, western), 30.0),
    )
    bottom = row_table(c, y, rows, LABEL_W)
    close_form(c, bottom, SENTENCE, inp.issued_on, inp.municipality)
    page_furniture(c, inp.municipality)
    return doc.finish()
