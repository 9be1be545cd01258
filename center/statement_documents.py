"""Statements as documents: the invoice-like PDF in Japanese (reportlab, the
embedded Mincho of every printed page) and CSV. Pure: statement in, bytes out."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from konbini.fonts import RENDER_LOCK, register_mincho

from .model.settlement import ChainStatement, MunicipalStatement

FONT = "CenterMincho"
TITLE = "証明書コンビニ交付手数料請求内訳書"
CHAIN_TITLE = "証明書コンビニ交付手数料収納内訳書"
ISSUER = "証明書交付センター（参考実装）"


def yen(value: int) -> str:
    return f"{value:,}"


def _month_ja(month: str) -> str:
    year, number = month.split("-")
    return f"{int(year)}年{int(number)}月分"


class _Page:
    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=A4, pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setAuthor(ISSUER)
        self.width, self.height = A4
        self.y = self.height - 30 * mm

    def text(self, x: float, value: str, size: float = 10, *, right: bool = False,
             centre: bool = False) -> None:
        self.canvas.setFont(FONT, size)
        if right:
            self.canvas.drawRightString(x, self.y, value)
        elif centre:
            self.canvas.drawCentredString(x, self.y, value)
        else:
            self.canvas.drawString(x, self.y, value)

    def down(self, amount: float) -> None:
        self.y -= amount
        if self.y < 25 * mm:
            self.canvas.showPage()
            self.y = self.height - 25 * mm

    def table(self, columns: Sequence[tuple[str, float, bool]],
              rows: Sequence[Sequence[str]]) -> None:
        """columns: (heading, right edge or left x, right-aligned)."""
        left, right = 18 * mm, self.width - 18 * mm
        self.canvas.setLineWidth(0.6)
        self.canvas.line(left, self.y + 4 * mm, right, self.y + 4 * mm)
        for heading, x, align_right in columns:
            self.text(x, heading, 8.5, right=align_right)
        self.canvas.line(left, self.y - 2 * mm, right, self.y - 2 * mm)
        self.down(7 * mm)
        for row in rows:
            for (_, x, align_right), value in zip(columns, row, strict=True):
                self.text(x, value, 9, right=align_right)
            self.canvas.setLineWidth(0.2)
            self.canvas.line(left, self.y - 2 * mm, right, self.y - 2 * mm)
            self.down(6.5 * mm)

    def sample_mark(self) -> None:
        """A reference implementation's output never passes for a real one."""
        self.canvas.saveState()
        self.canvas.setFillGray(0.85)
        self.canvas.setFont(FONT, 60)
        self.canvas.translate(self.width / 2, self.height / 2)
        self.canvas.rotate(30)
        self.canvas.drawCentredString(0, 0, "見本")
        self.canvas.restoreState()

    def finish(self) -> bytes:
        self.canvas.showPage()
        self.canvas.save()
        return self.buffer.getvalue()


def statement_pdf(statement: MunicipalStatement | ChainStatement) -> bytes:
    register_mincho(FONT)
    with RENDER_LOCK:
        if isinstance(statement, MunicipalStatement):
            return _municipal_pdf(statement)
        return _chain_pdf(statement)


def _municipal_pdf(s: MunicipalStatement) -> bytes:
    page = _Page(TITLE)
    page.sample_mark()
    page.text(page.width / 2, TITLE, 16, centre=True)
    page.down(12 * mm)
    page.text(18 * mm, f"{s.municipality_name}長　様（団体コード {s.municipality_code}）", 11)
    page.text(page.width - 18 * mm, _month_ja(s.month) + f"（{s.fiscal_year}年度）", 10,
              right=True)
    page.down(7 * mm)
    page.text(page.width - 18 * mm, ISSUER, 10, right=True)
    page.down(12 * mm)
    owed = s.net_yen < 0
    page.text(18 * mm, ("ご請求金額" if owed else "お支払金額（センターから貴団体へ）"), 12)
    page.text(page.width - 18 * mm, f"{yen(abs(s.net_yen))} 円", 14, right=True)
    page.down(12 * mm)
    x = page.width - 18 * mm
    columns = [("証明書の種類", 18 * mm, False), ("手数料(円)", 95 * mm, True),
               ("交付通数", 115 * mm, True), ("手数料収納額", 142 * mm, True),
               ("委託手数料", 167 * mm, True), ("返金通数", x, True)]
    page.table(columns, [(line.label, yen(line.fee_yen), yen(line.certificates),
                          yen(line.fees_yen), yen(line.commission_yen),
                          yen(line.refunded_copies)) for line in s.lines]
               or [("（交付なし）", "", "0", "0", "0", "0")])
    page.down(4 * mm)
    for label, value in (
            ("交付通数合計", f"{yen(s.certificates)} 通"),
            ("手数料収納額合計 (A)", f"{yen(s.fees_collected_yen)} 円"),
            ("委託手数料 (B)　センター分 " + yen(s.center_commission_yen) + " 円・店舗分 "
             + yen(s.store_commission_yen) + " 円", f"{yen(s.commission_yen)} 円"),
            (f"運営負担金 (C)　年額 {yen(s.yearly_contribution_yen)} 円の月割",
             f"{yen(s.contribution_yen)} 円"),
            ("差引額 (A)−(B)−(C)", f"{'−' if owed else ''}{yen(abs(s.net_yen))} 円"),
            ("返金（印刷されなかった証明書）", f"{yen(s.refunded_copies)} 通 "
             f"{yen(s.refunded_yen)} 円")):
        page.text(25 * mm, label, 10)
        page.text(x, value, 10, right=True)
        page.down(7 * mm)
    page.down(4 * mm)
    page.text(18 * mm, "差引額が負の場合は貴団体からセンターへのお支払い、正の場合はセンターから"
              "貴団体へのお支払いです。", 8)
    return page.finish()


def _chain_pdf(s: ChainStatement) -> bytes:
    page = _Page(CHAIN_TITLE)
    page.sample_mark()
    page.text(page.width / 2, CHAIN_TITLE, 16, centre=True)
    page.down(12 * mm)
    page.text(18 * mm, f"{s.chain}　御中", 11)
    page.text(page.width - 18 * mm, _month_ja(s.month), 10, right=True)
    page.down(7 * mm)
    page.text(page.width - 18 * mm, ISSUER, 10, right=True)
    page.down(12 * mm)
    x = page.width - 18 * mm
    page.table([("団体コード", 18 * mm, False), ("交付通数", 90 * mm, True),
                ("収納額(円)", 130 * mm, True), ("店舗手数料(円)", x, True)],
               [(r["municipality_code"], yen(r["certificates"]), yen(r["collected_yen"]),
                 yen(r["kept_yen"])) for r in s.by_municipality]
               or [("（交付なし）", "0", "0", "0")])
    page.down(4 * mm)
    for label, value in (("交付通数合計", f"{yen(s.certificates)} 通"),
                         ("収納額合計", f"{yen(s.collected_yen)} 円"),
                         ("店舗手数料（貴社保留分）", f"{yen(s.kept_yen)} 円"),
                         ("センターへの送金額", f"{yen(s.remitted_yen)} 円")):
        page.text(25 * mm, label, 10)
        page.text(x, value, 10, right=True)
        page.down(7 * mm)
    return page.finish()


def statement_csv(statement: MunicipalStatement | ChainStatement) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if isinstance(statement, MunicipalStatement):
        s = statement
        writer.writerow(["month", "municipality_code", "type", "label", "fee_yen",
                         "certificates", "fees_yen", "commission_yen", "refunded_copies",
                         "refunded_yen"])
        for line in s.lines:
            writer.writerow([s.month, s.municipality_code, line.type, line.label, line.fee_yen,
                             line.certificates, line.fees_yen, line.commission_yen,
                             line.refunded_copies, line.refunded_yen])
        writer.writerow([])
        for name in ("certificates", "fees_collected_yen", "center_commission_yen",
                     "store_commission_yen", "commission_yen", "yearly_contribution_yen",
                     "contribution_yen", "net_yen", "refunded_copies", "refunded_yen"):
            writer.writerow(["total", name, getattr(s, name)])
    else:
        c = statement
        writer.writerow(["month", "chain", "municipality_code", "certificates",
                         "collected_yen", "kept_yen"])
        for row in c.by_municipality:
            writer.writerow([c.month, c.chain, row["municipality_code"], row["certificates"],
                             row["collected_yen"], row["kept_yen"]])
        writer.writerow([])
        for name in ("certificates", "collected_yen", "kept_yen", "remitted_yen",
                     "refunded_copies", "refunded_yen"):
            writer.writerow(["total", name, getattr(c, name)])
    return out.getvalue()
