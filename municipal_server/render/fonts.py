"""The 明朝体 (Mincho) font every certificate is printed in.

Certificates must embed their font so they print the same everywhere, so we
need a TrueType-outline Mincho that reportlab can subset. IPA明朝 from the
Debian package ``fonts-ipafont-mincho`` is the reference; ``KONBINI_FONT``
points at another file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_ENV = "KONBINI_FONT"
MINCHO = "KonbiniMincho"

CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-mincho.ttf"),
    Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"),
    Path("/usr/share/fonts/truetype/ipaexfont-mincho/ipaexm.ttf"),
)


class FontNotFound(RuntimeError):
    """No Mincho font file was found to print certificates with."""


_lock = threading.Lock()
_registered = False


def font_path() -> Path:
    """The Mincho font file: ``$KONBINI_FONT`` if set, else the first installed candidate."""
    configured = os.environ.get(FONT_ENV, "").strip()
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontNotFound(f"{FONT_ENV}={configured} is not a font file")
        return path
    for path in CANDIDATES:
        if path.is_file():
            return path
    raise FontNotFound(
        "no Mincho font found; install the Debian package fonts-ipafont-mincho "
        f"or set {FONT_ENV} to a TrueType Mincho font file "
        f"(looked in: {', '.join(str(p) for p in CANDIDATES)})"
    )


def ensure_fonts() -> str:
    """Register the Mincho font with reportlab (once per process) and return its name."""
    global _registered
    if _registered:
        return MINCHO
    with _lock:
        # Parsing the font takes tens of milliseconds; only the first caller pays.
        if not _registered:
            pdfmetrics.registerFont(TTFont(MINCHO, str(font_path())))
            _registered = True
    return MINCHO


# reportlab's TrueType font object is shared by every document in the process
# and keeps per-document subset state; saving moves a read cursor on it. Two
# renders in two threads could corrupt each other's embedded font, so renders
# take this lock. Drawing is pure Python under the GIL: it costs no throughput.
RENDER_LOCK = threading.Lock()
