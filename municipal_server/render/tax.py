"""税証明: 所得証明書, 課税証明書 and 所得課税証明書 of the 個人住民税 for one 年度.

The 年度 (e.g. 令和8年度) taxes the income of the year before (令和7年分). The local taxes
are named by the municipality: 特別区民税 and 都民税 in a Tokyo ward, 市民税 (町民税, 村民税)
and 県民税 (道民税, 府民税, 都民税) elsewhere. What each kind shows:

- 所得証明書 (``income``): the income breakdown, deductions and 扶養人数, no tax amounts;
- 課税証明書 (``assessment``): the totals only, 課税標準額 and the tax amounts;
- 所得課税証明書 (``income_assessment``): both."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas

from municipal_server.era import fiscal_year_text, income_year_text
from municipal_server.render.inputs import Municipality, TaxInput
from municipal_server.render.pdf import (
    CONTENT_W,
    FRAME,
    LEFT,
    Box,
    Document,
    Row,
    cell,
    close_form,
    date_text,
    header,
    label_cell,
    page_furniture,
    row_table,
    rule_box,
    yen,
)

TITLES = {
    "income": "所得証明書",
    "assessment": "課税証明書",
    "income_assessment": "所得課税証明書",
}
SENTENCE = "上記のとおり相違ないことを証明します。"
LABEL_W = 110.0
ROW_H = 19.0
GAP = 8.0
SIZE = 10.5
LABEL_SIZE = 9.0


def local_tax_names(m: Municipality) -> tuple[str, str]:
    """(市区町村民税, 道府県民税) as this municipality names them, e.g. (特別区民税, 都民税)."""
    if m.prefecture == "東京都" and m.name.endswith("区"):
        municipal = "特別区民税"
    else:
        municipal = f"{m.name[-1]}民税"  # 市民税, 町民税, 村民税
    return municipal, f"{m.prefecture[-1]}民税"  # 都民税, 道民税, 府民税, 県民税


def render_tax(inp: TaxInput) -> bytes:
    """One-page A4 所得証明書 / 課税証明書 / 所得課税証明書 as PDF bytes.

    ValueError for an unknown kind or more income or deduction rows than fit on one page."""
    if inp.kind not in TITLES:
        raise ValueError(f"unknown 税証明 kind {inp.kind!r}")
    title = TITLES[inp.kind]
    western = inp.use_western_dates
    doc = Document(title, inp.municipality, inp.binding, inp.certificate_number)
    c = doc.canvas
    y = header(c, title, inp.certificate_number)
    year = fiscal_year_text(inp.fiscal_year, western)
    rows = (
        Row("年度", f"{year}（{income_year_text(inp.fiscal_year - 1, western)}中の所得）", 24.0),
        # The 賦課期日: the municipality taxes whoever lived there on 1 January of the 年度.
        Row("1月1日現在の住所", inp.address, 32.0),
        Row("氏名", inp.name, 26.0),
        Row("生年月日", date_text(inp.birth_date, western), 24.0),
    )
    y = row_table(c, y, rows, LABEL_W, size=11.0) - GAP

    totals = []
    if inp.kind == "assessment":
        # No breakdown: the totals head the table of the tax base.
        totals += [
            Row("合計所得金額", yen(inp.total_income), ROW_H, align="right"),
            Row("所得控除合計", yen(inp.total_deductions), ROW_H, align="right"),
        ]
    else:
        y = _breakdown(c, y, inp) - GAP
    if inp.kind != "income":
        totals.append(Row("課税標準額", yen(inp.taxable_income), ROW_H, align="right"))
    totals.append(Row("扶養人数", f"{inp.dependents}人", ROW_H, align="right"))
    y = row_table(c, y, totals, LABEL_W, size=SIZE, label_size=LABEL_SIZE)
    if inp.kind != "income":
        y = _taxes(c, y - GAP, inp)
    close_form(c, y, SENTENCE, inp.issued_on, inp.municipality)
    page_furniture(c, inp.municipality)
    return doc.finish()


def _breakdown(c: Canvas, y_top: float, inp: TaxInput) -> float:
    """所得の内訳 on the left, 所得控除の内訳 on the right, each with its total; the bottom."""
    income = [(_income_label(kind), amount) for kind, amount in inp.income_items]
    if inp.gross_salary:
        income.insert(0, ("給与収入金額", inp.gross_salary))
    halves = (
        ("所得の内訳", income, ("合計所得金額", inp.total_income)),
        ("所得控除の内訳", list(inp.deductions), ("所得控除合計", inp.total_deductions)),
    )
    lines = max(len(income), len(inp.deductions), 1)
    half_w = (CONTENT_W - GAP) / 2
    label_w = half_w * 0.56
    bottom = y_top - ROW_H * (lines + 2)
    for i, (heading, items, (total_label, total)) in enumerate(halves):
        x = LEFT + i * (half_w + GAP)
        label_cell(c, Box(x, y_top - ROW_H, half_w, ROW_H), heading, LABEL_SIZE)
        y = y_top - ROW_H
        for n in range(lines):
            y -= ROW_H
            label, amount = items[n] if n < len(items) else ("", None)
            label_cell(c, Box(x, y, label_w, ROW_H), label, LABEL_SIZE)
            text = yen(amount) if amount is not None else ""
            cell(c, Box(x + label_w, y, half_w - label_w, ROW_H), text, SIZE, "right", pad=6)
        label_cell(c, Box(x, bottom, label_w, ROW_H), total_label, LABEL_SIZE)
        cell(c, Box(x + label_w, bottom, half_w - label_w, ROW_H), yen(total), SIZE, "right",
             pad=6)
        c.setLineWidth(FRAME * 0.6)
        c.line(x, bottom + ROW_H, x + half_w, bottom + ROW_H)  # the total is ruled off
        rule_box(c, Box(x, bottom, half_w, y_top - bottom), FRAME)
    return bottom


def _income_label(kind: str) -> str:
    """「給与」 → 「給与所得」; a label already ending in 所得 is kept."""
    return kind if kind.endswith("所得") else f"{kind}所得"


def _taxes(c: Canvas, y_top: float, inp: TaxInput) -> float:
    """The 税額 grid: 所得割額, 均等割額 and their sum per tax, and the 年税額; the bottom."""
    municipal, prefectural = local_tax_names(inp.municipality)
    grid = (
        (municipal, inp.municipal_income_levy, inp.municipal_per_capita),
        (prefectural, inp.prefectural_income_levy, inp.prefectural_per_capita),
        (
            "年税額",
            inp.municipal_income_levy + inp.prefectural_income_levy,
            inp.municipal_per_capita + inp.prefectural_per_capita,
        ),
    )
    col_w = (CONTENT_W - LABEL_W) / 3
    y = y_top - ROW_H
    label_cell(c, Box(LEFT, y, LABEL_W, ROW_H), "税額", LABEL_SIZE)
    for i, heading in enumerate(("所得割額", "均等割額", "合計")):
        label_cell(c, Box(LEFT + LABEL_W + i * col_w, y, col_w, ROW_H), heading, LABEL_SIZE)
    for label, levy, per_capita in grid:
        y -= ROW_H
        label_cell(c, Box(LEFT, y, LABEL_W, ROW_H), label, LABEL_SIZE)
        for i, amount in enumerate((levy, per_capita, levy + per_capita)):
            box = Box(LEFT + LABEL_W + i * col_w, y, col_w, ROW_H)
            cell(c, box, yen(amount), SIZE, "right", pad=6)
    c.setLineWidth(FRAME * 0.6)
    c.line(LEFT, y + ROW_H, LEFT + CONTENT_W, y + ROW_H)  # 年税額 is ruled off
    rule_box(c, Box(LEFT, y, CONTENT_W, y_top - y), FRAME)
    return y
