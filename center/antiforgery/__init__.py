"""Anti-forgery information (偽造防止情報) the center adds to every certificate.

``finish_certificate`` is what the order flow calls (in a worker thread): the
municipality's front page, untouched, followed by the center's back page.
"""

from __future__ import annotations

import io

import pikepdf

from .back_page import render_back_page

__all__ = ["finish_certificate", "render_back_page"]


def finish_certificate(front_pdf: bytes, *, token: str, certificate_number: str,
                       municipality_name: str, cert_label: str) -> bytes:
    """The two-page PDF the kiosk prints: page 1 the municipality's front, page 2 the back.

    Thread-safe; raises ``ValueError`` if ``front_pdf`` is not a one-page PDF."""
    back_pdf = render_back_page(token=token, certificate_number=certificate_number,
                                municipality_name=municipality_name, cert_label=cert_label)
    try:
        front = pikepdf.open(io.BytesIO(front_pdf))
    except pikepdf.PdfError as exc:
        raise ValueError("the municipality's front is not a readable PDF") from exc
    with front, pikepdf.open(io.BytesIO(back_pdf)) as back:
        if len(front.pages) != 1:
            raise ValueError(f"the municipality's front has {len(front.pages)} pages, not 1")
        # The front document is the base, so its page, resources and metadata (the
        # municipality's title and author) carry over as they were signed off.
        front.pages.append(back.pages[0])
        out = io.BytesIO()
        # Streams are copied as they are, never decoded or (re)compressed: the front keeps
        # the municipality's bytes, and saving takes 1 ms instead of 20. deterministic_id:
        # the file id is a hash of the content, so equal input gives equal bytes.
        front.save(out, deterministic_id=True, compress_streams=False,
                   stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()
