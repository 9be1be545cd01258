"""Sample certificates (見本) of every type, for the documentation and for eyeballing layouts.

``python -m municipal_server samples --out docs/formats`` writes one PNG per type. The data
is synthetic and fixed (the demo household of 霞 太郎 in 千代田区, a foreign resident for the
nationality items), so the images only change when a layout does."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from municipal_server.era import wareki
from municipal_server.render.fuhyo import render_fuhyo
from municipal_server.render.inkan import render_inkan
from municipal_server.render.inputs import (
    FamilyRegisterRef,
    ForeignResidentItems,
    FuhyoAddress,
    FuhyoInput,
    InkanInput,
    JuminhyoInput,
    JuminhyoKisaiInput,
    KosekiEvent,
    KosekiInput,
    KosekiPerson,
    Municipality,
    Person,
    RisaiInput,
    TaxInput,
)
from municipal_server.render.juminhyo import render_juminhyo
from municipal_server.render.juminhyo_kisai import render_juminhyo_kisai
from municipal_server.render.koseki import render_koseki
from municipal_server.render.risai import render_risai
from municipal_server.render.seal import personal_seal_png
from municipal_server.render.tax import render_tax

CHIYODA = Municipality("131016", "千代田区", "東京都", "千代田区長", "架空 一郎")
ISSUED = date(2026, 11, 24)
ADDRESS = "東京都千代田区霞が関2丁目1番2号"
DOMICILE = "東京都千代田区霞が関二丁目1番"
PREVIOUS_ADDRESS = "東京都港区芝公園4丁目2番8号"
WEDDING = date(2008, 4, 1)
TARO_BORN = date(1980, 4, 1)  # 昭和55年
HANAKO_BORN = date(1982, 9, 3)
JIRO_BORN = date(2012, 6, 15)  # 14 on the day of issue
FAMILY_REGISTER = FamilyRegisterRef(DOMICILE, "霞 太郎")

# The file names (without extension) and Japanese titles, in the order of API.md.
TITLES: dict[str, str] = {
    "juminhyo": "住民票の写し（世帯全員・全項目）",
    "juminhyo_foreign": "住民票の写し（外国人住民・国籍等）",
    "juminhyo_kisai": "住民票記載事項証明書",
    "inkan": "印鑑登録証明書",
    "tax_income": "所得証明書",
    "tax_assessment": "課税証明書",
    "tax_income_assessment": "所得課税証明書",
    "koseki_zenbu": "戸籍全部事項証明書",
    "koseki_kojin": "戸籍個人事項証明書",
    "koseki_fuhyo": "戸籍の附票の写し",
    "risai": "罹災証明書",
}


def _number(serial: int) -> str:
    return f"{CHIYODA.code}-{ISSUED.year}-{serial:07d}"


def _household() -> JuminhyoInput:
    moved_in, notified = date(2015, 4, 1), date(2015, 4, 8)  # 転入届 within 14 days
    taro = Person("霞 太郎", "かすみ たろう", TARO_BORN, "男", "世帯主", moved_in, "転入",
                  PREVIOUS_ADDRESS, family_register=FAMILY_REGISTER, address_set_on=moved_in,
                  notified_on=notified)
    hanako = Person("霞 花子", "かすみ はなこ", HANAKO_BORN, "女", "妻", moved_in, "転入",
                    PREVIOUS_ADDRESS, family_register=FAMILY_REGISTER,
                    address_set_on=moved_in, notified_on=notified)
    jiro = Person("霞 次郎", "かすみ じろう", JIRO_BORN, "男", "子", JIRO_BORN, "出生", None,
                  family_register=FAMILY_REGISTER, address_set_on=JIRO_BORN,
                  notified_on=JIRO_BORN + timedelta(days=10))
    return JuminhyoInput(CHIYODA, _number(101), ISSUED, ADDRESS, "霞 太郎", (taro, hanako, jiro),
                         show_relationship=True, whole_household=True)


def _foreign_resident() -> JuminhyoInput:
    items = ForeignResidentItems("アメリカ合衆国", "技術・人文知識・国際業務", "3年",
                                 date(2028, 3, 31))
    john = Person("スミス ジョン", "すみす じょん", date(1988, 8, 8), "男", "世帯主",
                  date(2023, 4, 3), "転入", "アメリカ合衆国", use_western_dates=True,
                  foreign=items, address_set_on=date(2023, 4, 3), notified_on=date(2023, 4, 5))
    return JuminhyoInput(CHIYODA, _number(102), ISSUED, "東京都千代田区永田町1丁目7番1号",
                         "スミス ジョン", (john,), show_relationship=True, whole_household=True)


def _tax(kind: str, serial: int) -> TaxInput:
    # 給与収入 5,000,000 → 給与所得 3,560,000; 住民税 rates: 特別区民税 6%, 都民税 4%.
    deductions = (("社会保険料控除", 750_000), ("配偶者控除", 330_000), ("基礎控除", 430_000))
    total_deductions = sum(amount for _, amount in deductions)
    taxable = 3_560_000 - total_deductions
    return TaxInput(
        kind=kind, municipality=CHIYODA, certificate_number=_number(serial), issued_on=ISSUED,
        fiscal_year=2026, name="霞 太郎", address=ADDRESS, birth_date=TARO_BORN,
        income_items=(("給与", 3_560_000),), gross_salary=5_000_000, total_income=3_560_000,
        deductions=deductions, total_deductions=total_deductions, taxable_income=taxable,
        municipal_income_levy=taxable * 6 // 100, municipal_per_capita=3_000,
        prefectural_income_levy=taxable * 4 // 100, prefectural_per_capita=1_000, dependents=2)


def _birth(day: date, place: str) -> KosekiEvent:
    return KosekiEvent("出生", (("出生日", wareki(day)), ("出生地", place),
                                ("届出日", wareki(day + timedelta(days=7))), ("届出人", "父")))


def _marriage(spouse: str, previous: str) -> KosekiEvent:
    return KosekiEvent("婚姻", (("婚姻日", wareki(WEDDING)), ("配偶者氏名", spouse),
                                ("従前戸籍", previous)))


def _koseki(kind: str, serial: int) -> KosekiInput:
    taro = KosekiPerson("霞 太郎", "太郎", TARO_BORN, "霞 一郎", "霞 和子", "長男", "夫",
                        (_birth(TARO_BORN, "東京都千代田区"),
                         _marriage("霞 花子", f"{DOMICILE}　霞 一郎")))
    hanako = KosekiPerson("霞 花子", "花子", HANAKO_BORN, "山田 次郎", "山田 幸子", "長女", "妻",
                          (_birth(HANAKO_BORN, "神奈川県横浜市中区"),
                           _marriage("霞 太郎", "神奈川県横浜市中区本町六丁目50番地　山田 次郎")))
    jiro = KosekiPerson("霞 次郎", "次郎", JIRO_BORN, "霞 太郎", "霞 花子", "長男", None,
                        (_birth(JIRO_BORN, "東京都千代田区"),))
    persons = (taro, hanako, jiro) if kind == "zenbu" else (taro,)
    return KosekiInput(kind, CHIYODA, _number(serial), ISSUED, DOMICILE, "霞 太郎", WEDDING,
                       persons)


def sample_pdfs() -> dict[str, bytes]:
    """One sample certificate of every type, ``{"juminhyo.pdf": pdf_bytes, …}``."""
    pdfs = {
        "juminhyo": render_juminhyo(_household()),
        "juminhyo_foreign": render_juminhyo(_foreign_resident()),
        "juminhyo_kisai": render_juminhyo_kisai(JuminhyoKisaiInput(
            CHIYODA, _number(103), ISSUED, "霞 太郎", "かすみ たろう", TARO_BORN, "男", ADDRESS,
            date(2015, 4, 1))),
        "inkan": render_inkan(InkanInput(
            CHIYODA, _number(104), ISSUED, "霞 太郎", "かすみ たろう", TARO_BORN, "男", ADDRESS,
            personal_seal_png("霞"))),
        "tax_income": render_tax(_tax("income", 105)),
        "tax_assessment": render_tax(_tax("assessment", 106)),
        "tax_income_assessment": render_tax(_tax("income_assessment", 107)),
        "koseki_zenbu": render_koseki(_koseki("zenbu", 108)),
        "koseki_kojin": render_koseki(_koseki("kojin", 109)),
        "koseki_fuhyo": render_fuhyo(FuhyoInput(
            CHIYODA, _number(110), ISSUED, DOMICILE, "霞 太郎", "霞 太郎", TARO_BORN,
            (FuhyoAddress(PREVIOUS_ADDRESS, WEDDING), FuhyoAddress(ADDRESS, date(2015, 4, 1))))),
        "risai": render_risai(RisaiInput(
            CHIYODA, _number(111), ISSUED, "令和8年台風第10号", date(2026, 8, 30), ADDRESS,
            "霞 太郎", "半壊", flooding="床上浸水", surveyed_on=date(2026, 9, 4))),
    }
    return {f"{name}.pdf": pdf for name, pdf in pdfs.items()}


def write_sample_pngs(out: Path, dpi: float = 100, print_dpi: int = 600) -> list[Path]:
    """Each sample as the resident receives it, ``out/<type>.png`` (the front) and
    ``out/back.png`` (the back of the first): finished by the center's anti-forgery stage
    with a throwaway development key, so each says 見本 (SAMPLE) on both pages, and
    rendered as the kiosk's preview renders paper (``kiosk_sim.printer``: the tint's
    dots averaged as the eye averages them). Returns the files written."""
    # Dev tooling only: the docs command borrows the center's finishing and the kiosk's
    # printer, so the gallery shows the paper, not the municipal PDF alone.
    import functools
    import hashlib
    import tempfile

    from center.antiforgery import finish_certificate
    from center.antiforgery.qr import certificate_claims
    from center.qr_keys import QrKeyring
    from kiosk_sim.printer import render_pages
    from konbini.clock import parse_instant
    from konbini.jws import sign_es256

    now = parse_instant(f"{ISSUED.isoformat()}T10:00:00+09:00")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as keys:
        ring = QrKeyring.load_or_create(Path(keys), now)  # a development key
        kid, key = ring.current(now)
        for serial, (name, pdf) in enumerate(sample_pdfs().items(), start=1):
            stem = Path(name).stem
            cert_type = stem if stem != "juminhyo_foreign" else "juminhyo"
            claims = certificate_claims(
                certificate_id=f"{serial:032x}", certificate_number=_number(100 + serial),
                cert_type=cert_type, municipality_code=CHIYODA.code, issued_at=now,
                front_pdf_sha256=hashlib.sha256(pdf).digest())
            finished, _ = finish_certificate(
                pdf, claims=claims, sign=functools.partial(sign_es256, key=key, kid=kid),
                scramble_secret=ring.scramble_secret(kid),
                certificate_number=claims["num"], municipality_name=CHIYODA.name,
                cert_label=TITLES[stem].split("（")[0], sample=ring.is_development(kid))
            pages = render_pages(finished, round(dpi), print_dpi=print_dpi)
            targets = [(out / f"{stem}.png", pages[0])]
            if serial == 1:
                targets.append((out / "back.png", pages[1]))
            for path, png in targets:
                path.write_bytes(png)
                written.append(path)
    return written
