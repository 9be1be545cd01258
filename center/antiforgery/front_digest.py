"""The digest of the front page as finished (claim ``fpd``).

``dig`` (API.md) is the SHA-256 of the PDF the municipality produced; the finished
PDF cannot reproduce those bytes, because the center prints the tint under the
front's content. ``fpd`` closes the gap: a SHA-256 over a canonical form of page 1
of the finished PDF — the page dictionary and everything it reaches (content
streams, fonts, images, annotations), streams by their decoded data — independent
of object numbers, compression and how the file is laid out. The municipality's
content streams are kept byte for byte, so an edited front (a changed name, an added
annotation, a swapped font or image) gives another digest, while a tool that merely
re-saves or recompresses the file keeps it.
"""

from __future__ import annotations

import hashlib
import re

import pikepdf

from .pdfparts import ExpansionLimit, decoded_within

# The page tree link leads to every other page; the Length is a property of the file.
_SKIPPED = frozenset({"/Parent", "/Length"})
_REFERENCE = re.compile(rb"\d+ \d+ R")
# A certificate's front decodes to about 1 MB; an upload may not make us decode more.
MAX_DECODED = 64 * 1024 * 1024
# How a stream's data is encoded in the file: not part of what the page shows.
_ENCODING = frozenset({"/Filter", "/DecodeParms"})


def page_digest(page: pikepdf.Dictionary | pikepdf.Page, limit: int = MAX_DECODED,
                learn: bool = False) -> bytes:
    """SHA-256 of the canonical form of one page and everything it references.

    Raises :class:`ExpansionLimit` if its streams decode to more than ``limit`` bytes.
    ``learn``: a page the center is signing (never an upload), whose large streams'
    decoded data may be kept for the next (``pdfparts.decoded_within``)."""
    if isinstance(page, pikepdf.Page):
        page = page.obj
    hasher = hashlib.sha256(b"konbini fpd v1\n")
    seen: dict[tuple[int, int], int] = {}
    _feed(page, hasher, seen, _Budget(limit, learn))
    return hasher.digest()


class _Budget:
    def __init__(self, limit: int, learn: bool) -> None:
        self.left = limit
        self.learn = learn

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ExpansionLimit("the page decodes to more than its limit")


def _feed(obj: object, hasher: hashlib._Hash, seen: dict[tuple[int, int], int],
          budget: _Budget) -> None:
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        key = obj.objgen
        if key in seen:  # shared or cyclic: refer to the first visit
            hasher.update(b"@%d;" % seen[key])
            return
        seen[key] = len(seen)
    if isinstance(obj, pikepdf.Stream):
        hasher.update(b"S")
        # The data as decoded from Flate (and ASCII85/hex), so a tool that merely
        # recompresses the file keeps the digest; other encodings count as they are.
        decoded = decoded_within(obj, budget.left, budget.learn)
        if decoded is None:
            data, encoded = obj.read_raw_bytes(), frozenset()
        else:
            data, encoded = decoded, _ENCODING
        budget.spend(len(data))
        _feed_dictionary(obj.stream_dict, hasher, seen, budget, _SKIPPED | encoded)
        hasher.update(b"%d:" % len(data))
        hasher.update(data)
    elif isinstance(obj, pikepdf.Dictionary):
        _feed_dictionary(obj, hasher, seen, budget)
    elif isinstance(obj, pikepdf.Array):
        text = obj.unparse()
        if not _REFERENCE.search(text):  # numbers and names only: one C++ call
            hasher.update(b"a%d:" % len(text))
            hasher.update(text)
            return
        hasher.update(b"[")
        for item in obj:
            _feed(item, hasher, seen, budget)
        hasher.update(b"]")
    elif isinstance(obj, pikepdf.Object):
        text = obj.unparse()
        hasher.update(b"%d:" % len(text))
        hasher.update(text)
    else:  # pikepdf returns Python scalars for some values
        text = str(obj).encode()
        hasher.update(b"p%d:" % len(text))
        hasher.update(text)


def _feed_dictionary(obj: pikepdf.Dictionary, hasher: hashlib._Hash,
                     seen: dict[tuple[int, int], int], budget: _Budget,
                     skipped: frozenset[str] = _SKIPPED) -> None:
    hasher.update(b"{")
    for name in sorted(k for k in obj.keys() if k not in skipped):  # noqa: SIM118
        encoded = name.encode("utf-8", "surrogateescape")
        hasher.update(b"%d:" % len(encoded))
        hasher.update(encoded)
        _feed(obj.get(name), hasher, seen, budget)
    hasher.update(b"}")
