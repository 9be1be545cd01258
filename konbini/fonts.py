"""The 明朝体 (Mincho) font every printed page uses, for both the municipal
front and the center's back page.

Certificates embed their font so they print the same everywhere, so we need
a TrueType-outline Mincho that reportlab can subset. IPA明朝 from the Debian
package ``fonts-ipafont-mincho`` is the reference; ``KONBINI_FONT`` points
at another file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_ENV = "KONBINI_FONT"
CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-mincho.ttf"),
    Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"),
    Path("/usr/share/fonts/truetype/ipaexfont-mincho/ipaexm.ttf"),
)

# reportlab's TrueType font object is shared by every document in the process
# and keeps per-document subset state; saving moves a read cursor on it. Two
# renders in two threads could corrupt each other's embedded font, so every
# render takes this lock. Drawing is pure Python under the GIL: it costs no
# throughput.
RENDER_LOCK = threading.Lock()

_register_lock = threading.Lock()
_registered: set[str] = set()


class FontNotFound(RuntimeError):
    """No Mincho font file was found to print with."""


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
        f"(looked in: {', '.join(str(p) for p in CANDIDATES)})")


def register_mincho(name: str) -> str:
    """Register the Mincho font with reportlab under ``name`` (once per process)."""
    if name in _registered:
        return name
    with _register_lock:
        # Parsing the font takes tens of milliseconds; only the first caller pays.
        if name not in _registered:
            pdfmetrics.registerFont(TTFont(name, str(font_path())))
            _registered.add(name)
    return name
