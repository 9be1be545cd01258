"""Drawing helpers shared by the certificate forms (証明書の様式).

Everything is drawn on one portrait A4 page with reportlab's canvas, in the
embedded Mincho font, in points with the origin at the bottom left. The page
itself is never filled: the center later lays a faint tint (地紋) under it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

from PIL import Image
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from konbini.page import Box
from konbini.subject_binding import PageMark
from municipal_server.era import wareki, western
from municipal_server.render.fonts import MINCHO, ensure_fonts
from municipal_server.render.images import draw_image
from municipal_server.render.inputs import Municipality, SubjectBinding
from municipal_server.render.seal import official_seal_png

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
LEFT, RIGHT = MARGIN, PAGE_W - MARGIN
TOP, BOTTOM = PAGE_H - MARGIN, MARGIN
CONTENT_W = RIGHT - LEFT

RULE = 0.5  # inner ruling of tables
FRAME = 1.2  # outer border of a table
# The 職印 is printed at about its real size, 22 mm square; 260 px is 300 dpi at that size,
# and fewer pixels keep the per-render image encoding cheap.
OFFICIAL_SEAL = 22 * mm
OFFICIAL_SEAL_PX = 260
# A CJK glyph sits roughly between -0.12 em and 0.88 em around the baseline; this is the
# offset from the baseline to the visual middle, used to centre text in cells.
GLYPH_MIDDLE = 0.38
FURNITURE_H = 16  # the page-foot line with the issuing municipality
# wrap() keeps runs of these together (番地 numbers, 201号).
_UNBREAKABLE = frozenset(
    "0123456789０１２３４５６７８９-－ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

# Write binary streams rather than ASCII85-armoured ones: both are valid PDF, but without
# reportlab's optional C extension (rl_accel) the armour is pure Python and costs about a
# third of a render, plus 25% in size. This is process-wide reportlab configuration.
rl_config.useA85 = 0


Align = Literal["left", "center", "right"]


class Document:
    """A4 pages being drawn; ``finish()`` gives the PDF bytes.

    With a ``binding`` (issue 14), every page gets its invisible subject mark (see
    ``konbini.subject_binding``) from the very input it was drawn from; ``pages`` is
    how many the form will have (``new_page()`` between them)."""

    def __init__(self, title: str, municipality: Municipality,
                 binding: SubjectBinding | None = None, certificate_number: str = "",
                 pages: int = 1) -> None:
        ensure_fonts()
        self.binding = binding
        self.certificate_number = certificate_number
        self.pages = pages
        self.page = 1
        self._out = io.BytesIO()
        self.canvas = Canvas(
            self._out,
            pagesize=A4,
            pageCompression=1,
            initialFontName=MINCHO,
            initialFontSize=10,
            lang="ja",
        )
        self.canvas.setTitle(title)
        self.canvas.setAuthor(f"{municipality.prefecture}{municipality.name}")
        self.canvas.setCreator("konbini-issuance municipal_server")
        self.canvas.setSubject(title)

    def _subject_mark(self) -> None:
        if self.binding is not None:
            self.canvas.addLiteral(PageMark(
                self.certificate_number, self.binding.cert_type, self.page, self.pages,
                self.binding.subjects).operators())

    def new_page(self) -> None:
        """End this page and begin the next of a form of several pages."""
        if self.page >= self.pages:
            raise ValueError(f"the form was laid out on {self.pages} page(s)")
        self._subject_mark()
        self.canvas.showPage()
        self.page += 1

    def finish(self) -> bytes:
        if self.page != self.pages:
            raise ValueError(f"page {self.page} of {self.pages} ends the form")
        self._subject_mark()
        self.canvas.showPage()
        self.canvas.save()
        return self._out.getvalue()


def sheet_note(page: int, pages: int) -> str:
    """「2枚中1枚目」 at the foot of each page of a certificate of several pages."""
    return f"{pages}枚中{page}枚目"


def paginate(heights: Sequence[float], first_room: float, next_room: float,
             closing: float) -> list[list[int]]:
    """Indexes of ``heights`` per page, in order: the first page holds ``first_room``,
    the others ``next_room``, and the last must also keep ``closing`` free (the 認証文).
    ValueError if one item is taller than a page."""
    if any(h > min(first_room, next_room) for h in heights):
        raise ValueError("an entry is taller than a page")
    pages: list[list[int]] = [[]]
    used, room = 0.0, first_room
    for index, height in enumerate(heights):
        if pages[-1] and used + height > room:
            pages.append([])
            used, room = 0.0, next_room
        pages[-1].append(index)
        used += height
    if used + closing > room:
        # The certification goes to a page of its own, with the last entry if it fits.
        last = pages[-1][-1]
        if len(pages[-1]) > 1 and heights[last] + closing <= next_room:
            pages[-1].pop()
            pages.append([last])
        else:
            pages.append([])
    return pages


def date_text(d: date, use_western: bool = False) -> str:
    """和暦, or 西暦 for a foreign resident (外国人住民) who chose it."""
    return western(d) if use_western else wareki(d)


def yen(amount: int) -> str:
    """An amount as printed on a 税証明: 「3,560,000円」."""
    return f"{amount:,}円"


def text_width(text: str, size: float) -> float:
    return stringWidth(text, MINCHO, size)


def fit_size(text: str, size: float, width: float, min_size: float) -> float:
    """The largest size up to ``size`` (but not below ``min_size``) at which ``text`` fits."""
    natural = text_width(text, size)
    if natural <= width:
        return size
    return max(min_size, size * width / natural)


def wrap(text: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines of at most ``width``; Japanese breaks between any two chars."""
    lines: list[str] = []
    line = ""
    for char in text:
        if line and text_width(line + char, size) > width:
            # Keep a number with what follows it (1203号, 15階) and Latin words whole, by moving
            # the run ending the line onto the next one, if that run is not the whole line.
            run = _trailing_run(line)
            if not char.isspace() and 0 < run < len(line):
                lines.append(line[:-run])
                line = line[-run:] + char
            else:
                lines.append(line)
                line = char.lstrip()
        else:
            line += char
    if line:
        lines.append(line)
    return lines


def _trailing_run(line: str) -> int:
    """How many characters at the end of ``line`` belong to an unbreakable run."""
    run = 0
    while run < len(line) and line[-1 - run] in _UNBREAKABLE:
        run += 1
    return run


def draw_text(
    c: Canvas,
    x: float,
    y: float,
    text: str,
    size: float,
    align: Align = "left",
    char_space: float = 0.0,
) -> None:
    """Draw one line with its baseline at ``y``; ``align`` is left, center or right of ``x``."""
    c.setFont(MINCHO, size)
    width = text_width(text, size) + char_space * max(len(text) - 1, 0)
    if align == "center":
        x -= width / 2
    elif align == "right":
        x -= width
    c.drawString(x, y, text, charSpace=char_space)


def baseline_for_middle(middle: float, size: float) -> float:
    """The baseline that puts the visual middle of CJK text at ``middle``."""
    return middle - size * GLYPH_MIDDLE


def rule_box(c: Canvas, box: Box, width: float = RULE) -> None:
    c.setLineWidth(width)
    c.rect(box.x, box.y, box.w, box.h, stroke=1, fill=0)


def cell(
    c: Canvas,
    box: Box,
    text: str,
    size: float,
    align: Align = "left",
    *,
    min_size: float | None = None,
    pad: float = 4.0,
) -> None:
    """A ruled table cell with ``text`` centred vertically; see fitted_text()."""
    rule_box(c, box)
    fitted_text(c, box, text, size, align, min_size=min_size, pad=pad)


def fitted_text(
    c: Canvas,
    box: Box,
    text: str,
    size: float,
    align: Align = "left",
    *,
    min_size: float | None = None,
    pad: float = 4.0,
) -> None:
    """``text`` centred vertically in ``box``, never cut off.

    Too-long text first shrinks (down to ``min_size``), then wraps onto as many lines as
    the box height allows, shrinking further if even that is not enough."""
    if not text:
        return
    room = box.w - 2 * pad
    min_size = min_size if min_size is not None else size * 0.75
    # A "\n" in ``text`` forces a line break (e.g. between groups of check boxes).
    paragraphs = text.split("\n")
    size = min(fit_size(p, size, room, min_size) for p in paragraphs)
    lines = _wrap_paragraphs(paragraphs, size, room)
    leading = size * 1.15
    # Still too many lines for the cell height: shrink until they fit.
    while len(lines) > 1 and len(lines) * leading > box.h - 2 and size > 4:
        size *= 0.9
        leading = size * 1.15
        lines = _wrap_paragraphs(paragraphs, size, room)
    middle = box.y + box.h / 2 + (len(lines) - 1) * leading / 2
    x = {"left": box.x + pad, "center": box.x + box.w / 2, "right": box.right - pad}[align]
    for i, line in enumerate(lines):
        draw_text(c, x, baseline_for_middle(middle - i * leading, size), line, size, align)


def _wrap_paragraphs(paragraphs: list[str], size: float, width: float) -> list[str]:
    return [
        line
        for p in paragraphs
        for line in ([p] if text_width(p, size) <= width else wrap(p, size, width))
    ]


def label_cell(c: Canvas, box: Box, label: str, size: float) -> None:
    """A 項目名 cell; short labels are spread across the cell (均等割り) like on printed forms."""
    rule_box(c, box)
    chars = len(label)
    baseline = baseline_for_middle(box.y + box.h / 2, size)
    if 1 < chars <= 4:
        spread_w = min(box.w - 2 * size, size * chars * 1.9)
        space = (spread_w - text_width(label, size)) / (chars - 1)
        draw_text(c, box.x + box.w / 2, baseline, label, size, "center", char_space=space)
    else:
        # Long labels (法第30条の45に規定する区分) shrink a little, then take two balanced lines.
        room = box.w - 6
        size = fit_size(label, size, room, size * 0.9)
        if text_width(label, size) <= room:
            draw_text(c, box.x + box.w / 2, baseline, label, size, "center")
            return
        size = min(size, (box.h - 2) / 2.3)
        lines = wrap(label, size, text_width(label, size) / 2 + size)
        size = min(size, *(size * room / text_width(line, size) for line in lines))
        middle = box.y + box.h / 2 + size * 1.15 / 2
        for i, line in enumerate(lines):
            y = baseline_for_middle(middle - i * size * 1.15, size)
            draw_text(c, box.x + box.w / 2, y, line, size, "center")


def name_cell(c: Canvas, box: Box, name: str, kana: str, size: float) -> None:
    """氏名 with its ふりがな printed small above it."""
    rule_box(c, box)
    pad = 5.0
    kana_size = size * 0.55
    kana_size = fit_size(kana, kana_size, box.w - 2 * pad, kana_size * 0.7)
    kana_band = kana_size + 3.5
    draw_text(c, box.x + pad, box.top - kana_band + 1, kana, kana_size)
    # A long (often foreign) name shrinks, then takes two lines, below the ふりがな.
    name_box = Box(box.x, box.y, box.w, box.h - kana_band)
    fitted_text(c, name_box, name, size, min_size=size * 0.6, pad=pad)


def header(c: Canvas, title: str, certificate_number: str) -> float:
    """The コンビニ交付 mark, 証明書番号 and the form's title; returns the y below them."""
    mark = "コンビニ交付"
    mark_size = 8.0
    mark_w = text_width(mark, mark_size) + 10
    rule_box(c, Box(LEFT, TOP - 14, mark_w, 14), 0.6)
    draw_text(
        c, LEFT + mark_w / 2, baseline_for_middle(TOP - 7, mark_size), mark, mark_size, "center"
    )
    number_size = 9.0
    number = f"証明書番号　{certificate_number}"
    draw_text(c, RIGHT, baseline_for_middle(TOP - 7, number_size), number, number_size, "right")

    title_size = 22.0
    # Titles are set letter-spaced, as on printed forms; the text still extracts as one word.
    draw_text(c, PAGE_W / 2, TOP - 52, title, title_size, "center", char_space=title_size * 0.4)
    return HEADER_BOTTOM


def page_furniture(c: Canvas, municipality: Municipality, right_note: str = "") -> None:
    """The foot of the page: who issued it and how, above a thin rule."""
    y = BOTTOM + FURNITURE_H
    c.setLineWidth(0.4)
    c.line(LEFT, y, RIGHT, y)
    size = 7.5
    base = y - 10
    draw_text(
        c,
        LEFT,
        base,
        f"{municipality.prefecture}{municipality.name}（{municipality.code}）"
        "　この証明書はコンビニエンスストア等の多機能端末で交付したものです。",
        size,
    )
    if right_note:
        draw_text(c, RIGHT, base, right_note, size, "right")


def end_of_entries(c: Canvas, y_top: float) -> float:
    """「以下余白」 under the last entry, so nothing can be added after it; returns the y below."""
    size = 9.0
    draw_text(c, RIGHT, y_top - size - 3, "以下余白", size, "right")
    return y_top - size - 6


# Height of certification(): the 認証文, the date and the mayor's line with the 職印.
CERTIFICATION_H = 118.0
# The top of the certification block when it sits at the foot of the page, and the lowest
# a form's entries may reach so that 「以下余白」 still fits above it.
CERTIFICATION_TOP = BOTTOM + FURNITURE_H + 8 + CERTIFICATION_H
ENTRIES_BOTTOM = CERTIFICATION_TOP + 22
# Forms of several pages: the y below header() on every page, and the lowest entries may
# reach on a page without the certification (room for 「（次葉に続く）」 above the foot).
HEADER_BOTTOM = TOP - 70
PAGE_ENTRIES_BOTTOM = BOTTOM + FURNITURE_H + 24


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a two-column 項目名 | 記載事項 table (see row_table())."""

    label: str
    value: str
    height: float = 26.0
    kana: str | None = None  # ふりがな printed small above the value (氏名 rows)
    align: Align = "left"


def row_table(
    c: Canvas,
    y_top: float,
    rows: Sequence[Row],
    label_w: float,
    *,
    x: float = LEFT,
    width: float = CONTENT_W,
    size: float = 12.0,
    label_size: float = 9.5,
) -> float:
    """A framed table of label | value rows, from ``y_top`` down; returns its bottom."""
    y = y_top
    for row in rows:
        y -= row.height
        label_cell(c, Box(x, y, label_w, row.height), row.label, label_size)
        value_box = Box(x + label_w, y, width - label_w, row.height)
        if row.kana is not None:
            name_cell(c, value_box, row.value, row.kana, size * 4 / 3)
        else:
            cell(c, value_box, row.value, size, row.align, pad=8, min_size=size * 0.75)
    rule_box(c, Box(x, y, width, y_top - y), FRAME)
    return y


@dataclass(frozen=True, slots=True)
class Entry:
    """Lines under one heading of a section, e.g. 出生 with its 【出生日】… lines."""

    heading: str  # "" for none
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A ruled band of a 戸籍-style form: a label on the left, entries on the right."""

    label: str  # e.g. "身分事項"
    entries: tuple[Entry, ...]
    mark: str = ""  # a boxed note under the label, e.g. 「除籍」
    starts_group: bool = False  # first band of a person: ruled heavier above


@dataclass(frozen=True, slots=True)
class SectionLayout:
    """Sizes of a section_table() at one scale."""

    label_w: float
    heading_w: float
    size: float

    @property
    def leading(self) -> float:
        return self.size * 1.32

    @property
    def text_w(self) -> float:
        return CONTENT_W - self.label_w - self.heading_w - 8


def section_height(sections: Sequence[Section], layout: SectionLayout) -> float:
    """The height section_table() will take, wrapped lines included."""
    lines = sum(
        max(1, sum(len(wrap(line, layout.size, layout.text_w)) for line in e.lines))
        for s in sections
        for e in s.entries
    )
    return lines * layout.leading + len(sections) * layout.leading * 0.5


def fit_sections(
    sections: Sequence[Section], layout: SectionLayout, room: float, min_scale: float
) -> SectionLayout:
    """The layout scaled down until ``sections`` fit in ``room``; ValueError below min_scale."""
    scale = 1.0
    while True:
        scaled = SectionLayout(layout.label_w, layout.heading_w, layout.size * scale)
        if section_height(sections, scaled) <= room:
            return scaled
        scale -= 0.04
        if scale < min_scale:
            raise ValueError("the entries do not fit legibly on one page")


def section_table(
    c: Canvas, y_top: float, sections: Sequence[Section], layout: SectionLayout
) -> float:
    """Sections as ruled bands, the label column spread like printed forms; returns the bottom.

    Lines too long for the column wrap, keeping numbers together (see wrap())."""
    size, leading = layout.size, layout.leading
    x_heading = LEFT + layout.label_w
    x_text = x_heading + layout.heading_w + 6
    y = y_top
    for section in sections:
        top = y
        y -= leading * 0.25
        for entry in section.entries:
            baseline = y - leading + (leading - size) / 2 + size * 0.12
            if entry.heading:
                draw_text(c, x_heading + size, baseline, entry.heading, size)
            lines = [part for line in entry.lines for part in wrap(line, size, layout.text_w)]
            for line in lines or [""]:
                draw_text(c, x_text, baseline, line, size)
                baseline -= leading
                y -= leading
        y -= leading * 0.25
        c.setLineWidth(FRAME * 0.8 if section.starts_group else RULE)
        c.line(LEFT, top, RIGHT, top)
        # The label reads at the height of the first line, spread like label_cell().
        label_box = Box(LEFT, top - leading * 1.25, layout.label_w, leading)
        below_label = _spread_label(c, label_box, section.label, size * 0.95)
        if section.mark:
            mark_w = text_width(section.mark, size) + size * 2
            mark_box = Box(LEFT + (layout.label_w - mark_w) / 2, below_label - leading * 1.2,
                           mark_w, leading)
            rule_box(c, mark_box, 0.8)
            fitted_text(c, mark_box, section.mark, size, "center", pad=0)
    c.setLineWidth(RULE)
    c.line(x_heading, y_top, x_heading, y)
    rule_box(c, Box(LEFT, y, CONTENT_W, y_top - y), FRAME)
    return y


def _spread_label(c: Canvas, box: Box, label: str, size: float) -> float:
    """A label without its own ruling: short ones spread (均等割り), long ones take as many
    lines as they need, downwards. Returns the y below the label's last line."""
    chars = len(label)
    baseline = baseline_for_middle(box.y + box.h / 2, size)
    if 1 < chars <= 4:
        spread_w = min(box.w - 2 * size, size * chars * 1.9)
        space = (spread_w - text_width(label, size)) / (chars - 1)
        draw_text(c, box.x + box.w / 2, baseline, label, size, "center", char_space=space)
        return baseline - size * 0.3
    size = fit_size(label, size, box.w - 8, size * 0.8)
    for line in wrap(label, size, box.w - 8):
        draw_text(c, box.x + box.w / 2, baseline, line, size, "center")
        baseline -= size * 1.2
    return baseline + size * 0.9


def certification(
    c: Canvas, y_top: float, sentence: str, issued_on: date, municipality: Municipality
) -> float:
    """認証文, 交付日 and 「千代田区長　架空 一郎」 with the 職印 pressed over the end of the name.

    Returns the y below the block (``y_top - CERTIFICATION_H``)."""
    size = 11.5
    sentence_size = fit_size(sentence, size, CONTENT_W - size, size * 0.7)
    # The 認証文 is indented one character, like the first line of a paragraph.
    draw_text(c, LEFT + size, y_top - size - 4, sentence, sentence_size)
    draw_text(c, LEFT + size * 2, y_top - size * 2 - 22, wareki(issued_on), size)

    name_size = 15.0
    name = municipality.mayor_name
    title = municipality.mayor_title
    baseline = y_top - CERTIFICATION_H + OFFICIAL_SEAL / 2 - name_size * GLYPH_MIDDLE
    # The 職印 covers about the last character of the name and overhangs it to the right.
    overhang = OFFICIAL_SEAL / 2 - name_size * 0.9
    name_right = RIGHT - OFFICIAL_SEAL / 2 - overhang
    draw_text(c, name_right, baseline, name, name_size, "right")
    title_right = name_right - text_width(name, name_size) - name_size * 1.5
    draw_text(c, title_right, baseline, title, name_size, "right")

    centre_x = name_right + overhang
    centre_y = baseline + name_size * GLYPH_MIDDLE
    # The same 職印 on every certificate: hashed and compressed once (images.py).
    draw_image(
        c,
        official_seal_reader(f"{title}之印"),
        centre_x - OFFICIAL_SEAL / 2,
        centre_y - OFFICIAL_SEAL / 2,
        OFFICIAL_SEAL,
        OFFICIAL_SEAL,
    )
    return y_top - CERTIFICATION_H


def close_form(
    c: Canvas, bottom: float, sentence: str, issued_on: date, municipality: Municipality
) -> None:
    """「以下余白」 under the entries ending at ``bottom``, then the 認証文 block a little below.

    ValueError if the entries reach into the room the certification needs: one page only."""
    if bottom < ENTRIES_BOTTOM - 0.01:
        raise ValueError("the entries do not fit on one page")
    y = end_of_entries(c, bottom)
    certification(c, max(CERTIFICATION_TOP, y - 24), sentence, issued_on, municipality)


@lru_cache(maxsize=64)
def official_seal_reader(text: str) -> ImageReader:
    """The 職印 image, drawn once per seal text per process."""
    return png_reader(official_seal_png(text, OFFICIAL_SEAL_PX))


# Small: a registered 印影 is only reused across the copies of one request, and every decoded
# image holds its raw pixels.
@lru_cache(maxsize=32)
def png_reader(png: bytes) -> ImageReader:
    """A reportlab image for PNG bytes, decoded once (keyed by the bytes themselves)."""
    image = Image.open(io.BytesIO(png))
    image.load()
    reader = ImageReader(image)
    # Decode now, colour and alpha: the cached reader is shared by renders running on several
    # threads, and reportlab's lazy decoding on first use is not thread-safe.
    reader.getSize()
    reader.getRGBData()
    alpha = getattr(reader, "_dataA", None)
    if alpha is not None:
        alpha.getSize()
        alpha.getRGBData()
    return reader


def draw_image_fit(c: Canvas, png: bytes, box: Box, max_side: float) -> None:
    """Draw a PNG centred in ``box``, as large as fits but no larger than ``max_side``."""
    reader = png_reader(png)
    px_w, px_h = reader.getSize()
    scale = min(box.w / px_w, box.h / px_h, max_side / max(px_w, px_h))
    w, h = px_w * scale, px_h * scale
    c.drawImage(reader, box.x + (box.w - w) / 2, box.y + (box.h - h) / 2, w, h, mask="auto")
