"""戸籍の附票の写し: the addresses (住所の履歴) of one person recorded in a 戸籍.

Laid out like the computerised 附票: 本籍 and 筆頭者 bands, the person (附票に記録されている者),
then one 住所 band per address, oldest first, each with 【住所】 and 【住所を定めた年月日】."""

from __future__ import annotations

from municipal_server.era import wareki
from municipal_server.render.inputs import FuhyoInput
from municipal_server.render.pdf import (
    ENTRIES_BOTTOM,
    Document,
    Entry,
    Section,
    SectionLayout,
    close_form,
    fit_sections,
    header,
    page_furniture,
    section_table,
)

TITLE = "戸籍の附票の写し"
SENTENCE = "この写しは、戸籍の附票の原本と相違ないことを証明する。"
LAYOUT = SectionLayout(label_w=112.0, heading_w=0.0, size=11.0)
# A long history shrinks down to this scale; beyond it ValueError (one page only).
MIN_SCALE = 0.7


def render_fuhyo(inp: FuhyoInput) -> bytes:
    """One-page A4 戸籍の附票の写し as PDF bytes; ValueError if the addresses do not fit."""
    if not inp.addresses:
        raise ValueError("a 戸籍の附票 records at least one address")
    sections = [
        Section("本籍", (Entry("", (inp.domicile,)),)),
        Section("筆頭者", (Entry("", (inp.head_name,)),)),
        Section(
            "附票に記録されている者",
            (Entry("", (f"【氏名】{inp.name}", f"【生年月日】{wareki(inp.birth_date)}")),),
            starts_group=True,
        ),
    ]
    sections += [
        Section(
            "住所",
            (Entry("", (f"【住所】{a.address}", f"【住所を定めた年月日】{wareki(a.since)}")),),
        )
        for a in inp.addresses
    ]
    doc = Document(TITLE, inp.municipality, inp.binding, inp.certificate_number)
    c = doc.canvas
    y = header(c, TITLE, inp.certificate_number)
    layout = fit_sections(sections, LAYOUT, y - ENTRIES_BOTTOM, MIN_SCALE)
    bottom = section_table(c, y, sections, layout)
    close_form(c, bottom, SENTENCE, inp.issued_on, inp.municipality)
    page_furniture(c, inp.municipality)
    return doc.finish()
