"""戸籍全部事項証明書 and 戸籍個人事項証明書 (戸籍謄本・抄本), in the computerised format.

Bands from the top: 本籍, 氏名 (the 筆頭者), 戸籍事項 (戸籍編製【編製日】), then per person
戸籍に記録されている者 (【名】【生年月日】【配偶者区分】【父】【母】【続柄】) and 身分事項 (出生,
婚姻 … each with its 【label】value lines). 全部事項 lists every person, 除籍 ones marked;
個人事項 lists one."""

from __future__ import annotations

from municipal_server.era import wareki
from municipal_server.render.fonts import ensure_fonts
from municipal_server.render.inputs import KosekiInput, KosekiPerson
from municipal_server.render.pdf import (
    ENTRIES_BOTTOM,
    HEADER_BOTTOM,
    PAGE_ENTRIES_BOTTOM,
    RIGHT,
    Document,
    Entry,
    Section,
    SectionLayout,
    close_form,
    draw_text,
    fit_sections,
    header,
    page_furniture,
    paginate,
    section_height,
    section_table,
    sheet_note,
)

TITLES = {"zenbu": "戸籍全部事項証明書", "kojin": "戸籍個人事項証明書"}
SENTENCES = {
    "zenbu": "これは、戸籍に記録されている事項の全部を証明した書面である。",
    "kojin": "これは、戸籍中の一部の者について記録されている事項の全部を証明した書面である。",
}
LAYOUT = SectionLayout(label_w=104.0, heading_w=62.0, size=10.5)
# Below about 7.5 pt a 戸籍 is no longer comfortable to read; a register that would need it
# does not fit on the one page a kiosk prints.
MIN_SCALE = 0.7


def render_koseki(inp: KosekiInput) -> bytes:
    """A4 戸籍全部事項証明書 / 戸籍個人事項証明書 as PDF bytes: one page while the entries fit
    legibly, else as many pages as they need.

    ValueError for an unknown kind or a 個人事項 of other than one person."""
    if inp.kind not in TITLES:
        raise ValueError(f"unknown 戸籍証明書 kind {inp.kind!r}")
    if not inp.persons:
        raise ValueError("a 戸籍証明書 needs at least one person")
    if inp.kind == "kojin" and len(inp.persons) != 1:
        raise ValueError("a 戸籍個人事項証明書 is for exactly one person")
    sections = [
        Section("本籍", (Entry("", (inp.domicile,)),)),
        Section("氏名", (Entry("", (inp.head_name,)),)),
        Section("戸籍事項", (Entry("戸籍編製", (f"【編製日】{wareki(inp.compiled_on)}",)),)),
    ]
    for person in inp.persons:
        sections += _person(person, mark_removed=inp.kind == "zenbu")
    title = TITLES[inp.kind]
    ensure_fonts()  # the measuring below needs the font's widths
    smallest = SectionLayout(LAYOUT.label_w, LAYOUT.heading_w, LAYOUT.size * MIN_SCALE)
    if section_height(sections, smallest) > HEADER_BOTTOM - ENTRIES_BOTTOM:
        # Clearly more than a page: skip trying every scale (wrapping is the costly part).
        return _several_pages(inp, title, sections)
    try:
        return _one_page(inp, title, sections)
    except ValueError:
        # A large family (12 persons, say): the same bands at full size over several
        # pages rather than an overflow error (issue 14).
        return _several_pages(inp, title, sections)


def _one_page(inp: KosekiInput, title: str, sections: list[Section]) -> bytes:
    doc = Document(title, inp.municipality, inp.binding, inp.certificate_number)
    c = doc.canvas
    y = header(c, title, inp.certificate_number)
    layout = fit_sections(sections, LAYOUT, y - ENTRIES_BOTTOM, MIN_SCALE)
    bottom = section_table(c, y, sections, layout)
    close_form(c, bottom, SENTENCES[inp.kind], inp.issued_on, inp.municipality)
    page_furniture(c, inp.municipality)
    return doc.finish()


def _several_pages(inp: KosekiInput, title: str, sections: list[Section]) -> bytes:
    """Every page with the header (証明書番号) and 「n枚中m枚目」; the 認証文 on the last."""
    top = HEADER_BOTTOM
    room = top - PAGE_ENTRIES_BOTTOM
    heights = [section_height([s], LAYOUT) for s in sections]
    pages = paginate(heights, room, room, ENTRIES_BOTTOM - PAGE_ENTRIES_BOTTOM)
    doc = Document(title, inp.municipality, inp.binding, inp.certificate_number,
                   pages=len(pages))
    c = doc.canvas
    for number, indexes in enumerate(pages, start=1):
        if number > 1:
            doc.new_page()
        y = header(c, title, inp.certificate_number)
        bottom = y
        if indexes:
            bottom = section_table(c, y, [sections[i] for i in indexes], LAYOUT)
        if number == len(pages):
            close_form(c, bottom, SENTENCES[inp.kind], inp.issued_on, inp.municipality)
        else:
            draw_text(c, RIGHT, bottom - 12, "（次葉に続く）", 9.0, "right")
        page_furniture(c, inp.municipality, sheet_note(number, len(pages)))
    return doc.finish()


def _person(p: KosekiPerson, mark_removed: bool) -> list[Section]:
    """The 戸籍に記録されている者 and 身分事項 bands of one person."""
    born = f"【生年月日】{wareki(p.birth_date)}"
    if p.spouse_role:
        born += f"　　【配偶者区分】{p.spouse_role}"
    lines = [f"【名】{p.given_name}", born]
    if p.father:
        lines.append(f"【父】{p.father}")
    if p.mother:
        lines.append(f"【母】{p.mother}")
    lines.append(f"【続柄】{p.relationship}")
    recorded = Section(
        "戸籍に記録されている者",
        (Entry("", tuple(lines)),),
        mark="除籍" if p.removed and mark_removed else "",
        starts_group=True,
    )
    events = tuple(
        Entry(e.kind, tuple(f"【{label}】{value}" for label, value in e.details))
        for e in p.events
    )
    return [recorded, Section("身分事項", events)] if events else [recorded]
