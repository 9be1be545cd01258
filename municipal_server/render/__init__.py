"""The certificate forms (証明書の様式): plain inputs (``inputs``) in, one-page A4 PDF bytes out."""

from municipal_server.render.fuhyo import render_fuhyo
from municipal_server.render.inkan import render_inkan
from municipal_server.render.juminhyo import render_juminhyo
from municipal_server.render.juminhyo_kisai import render_juminhyo_kisai
from municipal_server.render.koseki import render_koseki
from municipal_server.render.risai import render_risai
from municipal_server.render.tax import render_tax

__all__ = [
    "render_fuhyo",
    "render_inkan",
    "render_juminhyo",
    "render_juminhyo_kisai",
    "render_koseki",
    "render_risai",
    "render_tax",
]
