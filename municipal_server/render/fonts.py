"""The font the municipality's certificates are printed in (see konbini.fonts)."""

from __future__ import annotations

from konbini.fonts import FONT_ENV, RENDER_LOCK, FontNotFound, font_path, register_mincho

MINCHO = "KonbiniMincho"

__all__ = ["FONT_ENV", "MINCHO", "RENDER_LOCK", "FontNotFound", "ensure_fonts", "font_path"]


def ensure_fonts() -> str:
    """Register the Mincho font with reportlab (once per process) and return its name."""
    return register_mincho(MINCHO)
