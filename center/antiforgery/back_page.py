"""The back page (裏面) the center adds to every certificate: 偽造防止情報.

It carries the signed QR code, the certificate number (証明書番号), the type and the
issuing municipality, the scrambled front (スクランブル画像) with its registration
marks, and the detection image (偽造防止検出画像), over the copy-deterrent tint. It
never carries personal data in readable form: a lost back page tells a finder
nothing about the resident.

Speed: the words on the page are the same for every certificate of one type from one
municipality, so reportlab draws them once into a small PDF that is cached
(``_text_layer``); per certificate only the number, the QR code and the scrambled
image are new, and they are written with pikepdf straight from numpy arrays. The
number is set in the same embedded Mincho as the rest: the cached layer's font subset
holds the digits and the hyphen, and the number's text is drawn with it.
"""

from __future__ import annotations

import functools
import io
import math
import threading
import zlib
from collections import OrderedDict

import numpy as np
import pikepdf
from pikepdf import Name
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.pdfgen.canvas import Canvas

from konbini.fonts import RENDER_LOCK, register_mincho
from konbini.page import Box

from . import detection, pdfparts, sample_mark
from .layout import (
    DETECTION_BOX,
    MARGIN,
    MARK_CENTRES,
    MARK_QUIET,
    PAGE_H,
    PAGE_W,
    QR_BOX,
    SCRAMBLE_BOX,
    mark_box,
)
from .qr import BORDER_MODULES, qr_matrix

__all__ = ["DETECTION_BOX", "QR_BOX", "SCRAMBLE_BOX", "build_back_page", "fill_scrambled_image",
           "render_back_page"]

# Our own registered name: the municipal renderer's font (another name) is never shared.
FONT_NAME = "KonbiniCenterMincho"
# What a certificate number is made of (``131016-2026-0000001``): these glyphs are in
# every cached text layer's font subset. Any other number is drawn with its layer.
NUMBER_CHARS = "0123456789-"

# The demo center's inquiry site; a center prints its own (``--public-url``).
DEFAULT_INQUIRY_URL = "http://127.0.0.1:8080/verify"

INK = (0.0, 0.0, 0.0)
NOTE_GREY = (0.25, 0.25, 0.25)

HEADING_Y = PAGE_H - 30 * mm
ROW_LABEL_W = 32 * mm
ROW_X = MARGIN + 4 * mm
ROWS_TOP = HEADING_Y - 14 * mm
ROW_STEP = 7.5 * mm
NUMBER_ROW = 2
VALUE_SIZE = 12.0
# One image pixel per module: a 1-bit image without /Interpolate is scaled up by
# replicating pixels (PDFium, printers), so every module prints as a crisp square at
# any resolution; a larger image would be scaled down, smoothing the module edges.
QR_IMAGE_PX = 1

# Resource names on the back page; distinctive so they never meet reportlab's.
SCRAMBLE_XOBJECT = "/KonbiniScramble"
QR_XOBJECT = "/KonbiniQr"
DETECTION_XOBJECT = "/KonbiniDetection"


def _font() -> str:
    return register_mincho(FONT_NAME)


# Characters that may not start a line (行頭禁則): they hang on the line before.
_NO_LINE_START = "、。，．・：；？！）」』】〕ー"


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break Japanese text between any two characters, keeping 禁則 punctuation attached."""
    lines: list[str] = []
    line = ""
    for char in text:
        if line and stringWidth(line + char, font, size) > width and char not in _NO_LINE_START:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest size up to ``size`` at which ``text`` fits on one line of ``width``."""
    natural = stringWidth(text, font, size)
    return size if natural <= width else size * width / natural


def _paragraph(canvas: Canvas, text: str, font: str, size: float, x: float, top: float,
               width: float, leading: float) -> float:
    """Draw wrapped text from ``top`` down; return the baseline of the last line."""
    y = top
    for line in _wrap(text, font, size, width):
        y -= leading
        canvas.drawString(x, y, line)
    return y


def _value_width() -> float:
    return PAGE_W - 2 * MARGIN - ROW_LABEL_W - 8 * mm


def _number_is_plain(number: str) -> bool:
    """A number the cached layer's font subset can print: drawn per certificate."""
    return bool(number) and all(char in NUMBER_CHARS for char in number)


@functools.lru_cache(maxsize=256)
def _cached_text_layer(municipality_name: str, cert_label: str, inquiry_url: str,
                       sample: bool = False) -> tuple[bytes, str]:
    """The layer without a number, and the resource name of its font subset that holds
    :data:`NUMBER_CHARS` (as their ASCII codes)."""
    return _text_layer(municipality_name, cert_label, None, inquiry_url, sample)


def _text_layer(municipality_name: str, cert_label: str, number: str | None,
                inquiry_url: str, sample: bool = False) -> tuple[bytes, str]:
    """The words of the back page as a one-page PDF (reportlab, embedded Mincho subset).

    With ``number`` None the number's place is left for :func:`_number_content`.
    ``sample``: pages 2 and 3 hold the 見本 marks of the front and the back, in the
    same font subset (``sample_mark.SIDES`` order)."""
    font = _font()
    out = io.BytesIO()
    with RENDER_LOCK:
        # invariant: no creation date or random file id, so equal input gives equal bytes.
        canvas = Canvas(out, pagesize=A4, pageCompression=1, invariant=1, lang="ja",
                        initialFontName=font)
        _draw_words(canvas, font, municipality_name=municipality_name,
                    cert_label=cert_label, number=number, inquiry_url=inquiry_url)
        # The number's glyphs join the embedded subset (reportlab's first subset codes
        # ASCII as itself), so the number can be set per certificate in this font.
        typeface = getFont(font)
        encoded = typeface.splitString(NUMBER_CHARS, canvas._doc)
        if encoded != [(0, NUMBER_CHARS.encode("ascii"))]:
            raise RuntimeError("the number's glyphs are not in the font's first subset")
        resource = typeface.getSubsetInternalName(0, canvas._doc)
        canvas.showPage()
        for side in sample_mark.SIDES if sample else ():
            sample_mark.draw_mark(canvas, font, side)
            canvas.showPage()
        canvas.save()
    return pdfparts.flate_only(out.getvalue()), resource


class _OpenLayer:
    """A cached text layer, open, and its 見本 marks as Form XObjects once made."""

    def __init__(self, layer: bytes) -> None:
        self.document = pdfparts.open_in_memory(layer)
        self.marks: dict[str, pikepdf.Object] = {}

    def mark(self, side: str) -> pikepdf.Object:
        form = self.marks.get(side)
        if form is None:
            page = self.document.pages[1 + sample_mark.SIDES.index(side)]
            form = self.marks[side] = page.as_form_xobject()
        return form


class _OpenLayers(threading.local):
    """This thread's cached text layers, open (pikepdf objects are never shared
    between threads): opening one took ~0.3 ms a certificate."""

    def __init__(self) -> None:
        self.layers: OrderedDict[bytes, _OpenLayer] = OrderedDict()


_OPEN_LAYERS = _OpenLayers()
_OPEN_LAYERS_KEPT = 16


def _open_layer(layer: bytes) -> _OpenLayer:
    opened = _OPEN_LAYERS.layers
    entry = opened.get(layer)
    if entry is None:
        entry = opened[layer] = _OpenLayer(layer)
        if len(opened) > _OPEN_LAYERS_KEPT:
            opened.popitem(last=False)[1].document.close()
    else:
        opened.move_to_end(layer)
    return entry


def sample_mark_form(municipality_name: str, cert_label: str, inquiry_url: str,
                     side: str) -> pikepdf.Object:
    """The 見本 mark of ``side`` as a Form XObject of this thread's open text layer of
    the back page (for ``sample_mark.add_sample_mark``): a certificate copies its
    words and both marks from one PDF, so they share one font subset."""
    layer, _ = _cached_text_layer(municipality_name, cert_label, inquiry_url, True)
    return _open_layer(layer).mark(side)


def _append_words(document: pikepdf.Pdf, layer: bytes, cached: bool) -> pikepdf.Page:
    """Append the text layer's page to ``document``; a cached layer is kept open."""
    if not cached:
        with pikepdf.open(io.BytesIO(layer)) as words:
            document.pages.append(words.pages[0])
    else:
        document.pages.append(_open_layer(layer).document.pages[0])
    return document.pages[-1]


def _draw_words(canvas: Canvas, font: str, *, municipality_name: str, cert_label: str,
                number: str | None, inquiry_url: str) -> None:
    width = PAGE_W - 2 * MARGIN
    canvas.setFillColorRGB(*INK)
    canvas.setFont(font, 20)
    canvas.drawCentredString(PAGE_W / 2, HEADING_Y, "偽造防止情報")
    canvas.setStrokeColorRGB(*INK)
    canvas.setLineWidth(0.8)
    canvas.line(MARGIN, HEADING_Y - 5 * mm, PAGE_W - MARGIN, HEADING_Y - 5 * mm)

    rows = (("証明書の種類", cert_label), ("発行市区町村", municipality_name),
            ("証明書番号", number))
    y = ROWS_TOP
    for label, value in rows:
        canvas.setFont(font, 10)
        canvas.drawString(ROW_X, y, label)
        if value is not None:
            size = _fit(value, font, VALUE_SIZE, _value_width())
            canvas.setFont(font, size)
            canvas.drawString(ROW_X + ROW_LABEL_W, y, value)
        y -= ROW_STEP

    canvas.setFont(font, 9)
    canvas.drawString(SCRAMBLE_BOX.x, SCRAMBLE_BOX.top + 2.5 * mm, "スクランブル画像")
    canvas.drawString(DETECTION_BOX.x, DETECTION_BOX.top + 2.5 * mm, "偽造防止検出画像")
    canvas.setFillColorRGB(*NOTE_GREY)
    canvas.setFont(font, 8)
    quiet = QR_BOX.w * BORDER_MODULES / 77
    caption = ("この面を照会サイトで読み取ると、", "この証明書の内容を確認できます。")
    centre = QR_BOX.x + QR_BOX.w / 2
    for n, line in enumerate(caption):
        canvas.drawCentredString(centre, QR_BOX.y - quiet - (n + 1) * 11, line)
    # The site's whole address, so that a bank clerk can type it: on a line of its own,
    # as large as fits in the column beside the scrambled image.
    canvas.setFillColorRGB(*INK)
    column = PAGE_W - MARGIN - (SCRAMBLE_BOX.right + 6 * mm)
    size = _fit(inquiry_url, font, 9, column)
    canvas.setFont(font, size)
    canvas.drawCentredString(min(centre, PAGE_W - MARGIN - stringWidth(
        inquiry_url, font, size) / 2), QR_BOX.y - quiet - 3 * 11 - 2, inquiry_url)

    # What the features are for, in the words a relying party (銀行、公証人) needs.
    canvas.setFillColorRGB(*INK)
    canvas.setFont(font, 10)
    top = SCRAMBLE_BOX.y - 18 * mm
    canvas.drawString(MARGIN, top, "この面について")
    canvas.setFont(font, 9)
    notes = (
        "この証明書は、コンビニエンスストア等のキオスク端末から交付されたものです。",
        "QRコードは証明書交付センターの電子署名です。照会サイトにこの面の画像を送ると、"
        "交付の記録と表面の内容を照会できます。",
        "スクランブル画像は表面を暗号化した画像、偽造防止検出画像は複写すると失われる"
        "潜像を含む画像です。複写すると地紋に「複写」の文字が現れます。",
    )
    y = top - 1.5 * mm
    for note in notes:
        canvas.drawString(MARGIN + 2 * mm, y - 13, "・")
        y = _paragraph(canvas, note, font, 9, MARGIN + 6 * mm, y, width - 6 * mm, 13) - 2


def _number_content(number: str, font_resource: str) -> bytes:
    """The number, in the layer's Mincho subset (``font_resource``), where the layer
    left its place; ``number`` is :func:`_number_is_plain`."""
    size = _fit(number, _font(), VALUE_SIZE, _value_width())
    y = ROWS_TOP - NUMBER_ROW * ROW_STEP
    return (f"BT {font_resource} {size:.2f} Tf 0 g {ROW_X + ROW_LABEL_W:.2f} {y:.2f} Td "
            f"({number}) Tj ET\n").encode("ascii")


def _qr_pixels(token: str) -> tuple[np.ndarray, int]:
    """The QR symbol with its quiet zone as a boolean image (True = dark module),
    a whole number of pixels per module, and the number of modules across."""
    matrix = qr_matrix(token)
    scale = max(1, math.ceil(QR_IMAGE_PX / matrix.shape[0]))
    return np.repeat(np.repeat(matrix, scale, axis=0), scale, axis=1), matrix.shape[0]


def _marks_content() -> bytes:
    """White quiet zones (over the tint) and the four registration marks."""
    parts = ["q 1 g"]
    for centre in MARK_CENTRES:
        quiet = mark_box(centre, MARK_QUIET)
        parts.append(f"{quiet.x:.3f} {quiet.y:.3f} {quiet.w:.3f} {quiet.h:.3f} re f")
    parts.append("0 g")
    for centre in MARK_CENTRES:
        mark = mark_box(centre)
        parts.append(f"{mark.x:.3f} {mark.y:.3f} {mark.w:.3f} {mark.h:.3f} re f")
    parts.append("Q")
    return ("\n".join(parts) + "\n").encode("ascii")


_MARKS = _marks_content()


# The scrambled image of a back page built before its front is rendered: two white
# 4-bit pixels, replaced by fill_scrambled_image.
_UNFILLED = (2, 1, zlib.compress(b"\xff"))


def _draw_image(name: str, box: Box) -> bytes:
    return f"q {box.w:.4f} 0 0 {box.h:.4f} {box.x:.4f} {box.y:.4f} cm {name} Do Q\n".encode()


def build_back_page(document: pikepdf.Pdf, *, token: str, certificate_number: str,
                    municipality_name: str, cert_label: str,
                    scrambled: np.ndarray | None, tint_name: str | None = None,
                    tint: pikepdf.Stream | None = None,
                    inquiry_url: str = DEFAULT_INQUIRY_URL,
                    sample: bool = False) -> pikepdf.Page:
    """Append the back page to ``document`` and return it.

    ``scrambled`` is the scrambled front (uint8 grey), or None for an empty image
    that :func:`fill_scrambled_image` fills before the document is saved; ``tint`` the
    document's tint Form XObject, drawn under everything when given. ``sample``: the
    words come from the layer that holds the 見本 marks too (:func:`sample_mark_form`;
    the caller draws them)."""
    plain = _number_is_plain(certificate_number)
    layer, font_resource = (
        _cached_text_layer(municipality_name, cert_label, inquiry_url, sample) if plain
        else _text_layer(municipality_name, cert_label, certificate_number, inquiry_url))
    page = _append_words(document, layer, plain)

    pixels, modules = _qr_pixels(token)
    border = QR_BOX.w * BORDER_MODULES / (modules - 2 * BORDER_MODULES)
    qr_place = Box(QR_BOX.x - border, QR_BOX.y - border, QR_BOX.w + 2 * border,
                   QR_BOX.h + 2 * border)
    width, height, flate = detection.image_flate()
    packed = _UNFILLED if scrambled is None else pdfparts.grey4_flate(scrambled)
    images = {
        SCRAMBLE_XOBJECT: pdfparts.grey4_stream(document, packed),
        QR_XOBJECT: pdfparts.bilevel_image(document, pixels),
        DETECTION_XOBJECT: pdfparts.image_stream(document, width=width, height=height,
                                                 flate=flate, colour_space="DeviceCMYK"),
    }
    for name, image in images.items():
        page.add_resource(document.make_indirect(image), Name.XObject, name)
    content = (_MARKS + _draw_image(SCRAMBLE_XOBJECT, SCRAMBLE_BOX)
               + _draw_image(QR_XOBJECT, qr_place)
               + _draw_image(DETECTION_XOBJECT, DETECTION_BOX))
    if plain:
        content += _number_content(certificate_number, font_resource)
    page.contents_add(pikepdf.Stream(document, content))
    if tint is not None and tint_name is not None:
        page.add_resource(tint, Name.XObject, tint_name)
        page.contents_add(pikepdf.Stream(document, f"q {tint_name} Do Q\n".encode()),
                          prepend=True)
    return page


def fill_scrambled_image(page: pikepdf.Page, packed: tuple[int, int, bytes]) -> None:
    """Put the scrambled front (``pdfparts.grey4_flate``'s width, height and data) into
    a back page built with ``scrambled=None``: the page is built while the front is
    still being rendered."""
    width, height, flate = packed
    image = page.obj.Resources.XObject[SCRAMBLE_XOBJECT]
    image.write(flate, filter=Name.FlateDecode)
    image.Width = width
    image.Height = height


def render_back_page(*, token: str, certificate_number: str, municipality_name: str,
                     cert_label: str, scrambled: np.ndarray | None = None,
                     inquiry_url: str = DEFAULT_INQUIRY_URL) -> bytes:
    """The back page alone as a one-page PDF (for inspection and tests)."""
    if scrambled is None:
        scrambled = np.full((848, 600), 255, dtype=np.uint8)
    document = pikepdf.new()
    with document:
        build_back_page(document, token=token, certificate_number=certificate_number,
                        municipality_name=municipality_name, cert_label=cert_label,
                        scrambled=scrambled, inquiry_url=inquiry_url)
        out = io.BytesIO()
        document.save(out, deterministic_id=True)
        return out.getvalue()

