"""Small PDF objects built straight from bytes with pikepdf.

reportlab encodes image data in pure Python; here pixel data is compressed by zlib
(C), or ISA-L for the large scrambled image, or taken precompressed from a
per-process cache, and wrapped in a stream object of the document being assembled.
Nothing from one document is shared with another: each call builds fresh objects
(pikepdf objects are not thread-safe)."""

from __future__ import annotations

import io
import threading
import zlib
from collections import OrderedDict

import numpy as np
import pikepdf
from isal import isal_zlib
from pikepdf import Array, Dictionary, Name


def image_stream(pdf: pikepdf.Pdf, *, width: int, height: int, flate: bytes,
                 colour_space: str, bits: int = 8, decode: list[float] | None = None,
                 stencil: bool = False) -> pikepdf.Stream:
    """An Image XObject whose data is already Flate-compressed."""
    stream = pikepdf.Stream(pdf, b"")
    stream.write(flate, filter=Name.FlateDecode)
    stream.Type = Name.XObject
    stream.Subtype = Name.Image
    stream.Width = width
    stream.Height = height
    stream.BitsPerComponent = 1 if stencil else bits
    if stencil:
        stream.ImageMask = True
    else:
        stream.ColorSpace = Name("/" + colour_space)
    if decode is not None:
        stream.Decode = Array(decode)
    return stream


def grey_image(pdf: pikepdf.Pdf, pixels: np.ndarray, level: int = 1) -> pikepdf.Stream:
    """An 8-bit DeviceGray image from a ``(h, w)`` uint8 array (row 0 at the top)."""
    data = zlib.compress(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes(), level)
    return image_stream(pdf, width=pixels.shape[1], height=pixels.shape[0], flate=data,
                        colour_space="DeviceGray")


def grey4_flate(pixels: np.ndarray, level: int = 1) -> tuple[int, int, bytes]:
    """Width, height and Flate data of a 4-bit grey image (16 levels), from a ``(h, w)``
    uint8 array of even width: half the data of 8 bits, and a print and a scan never
    keep more than 16 levels of a scrambled block anyway. Needs no document, so it can
    run on another thread; :func:`grey4_stream` makes the image of it."""
    return pixels.shape[1], pixels.shape[0], isal_zlib.compress(grey4_packed(pixels), level)


def grey4_packed(pixels: np.ndarray) -> bytes:
    """The image data of a 4-bit grey image, two pixels a byte, before compression."""
    if pixels.shape[1] % 2:
        raise ValueError("a 4-bit image here has an even width")
    # Each pair of pixels as one little-endian 16-bit word: the first pixel's top nibble
    # stays where it is, the second's comes down from the top of the word.
    pairs = np.ascontiguousarray(pixels, dtype=np.uint8).view("<u2")
    return ((pairs & 0xF0) | (pairs >> 12)).astype(np.uint8).tobytes()


def grey4_stream(pdf: pikepdf.Pdf, packed: tuple[int, int, bytes]) -> pikepdf.Stream:
    width, height, flate = packed
    return image_stream(pdf, width=width, height=height, flate=flate,
                        colour_space="DeviceGray", bits=4)


def grey4_pixels(data: bytes, width: int, height: int) -> np.ndarray:
    """The inverse of :func:`grey4_packed`: uint8 grey, 16 levels 0, 17 … 255."""
    packed = np.frombuffer(data, dtype=np.uint8).reshape(height, width // 2)
    pixels = np.empty((height, width), dtype=np.uint8)
    pixels[:, 0::2] = packed >> 4
    pixels[:, 1::2] = packed & 0x0F
    return pixels * np.uint8(17)


def bilevel_image(pdf: pikepdf.Pdf, dark: np.ndarray) -> pikepdf.Stream:
    """A 1-bit DeviceGray image, opaque, from a boolean ``(h, w)`` array (True = black)."""
    packed = np.packbits(~dark, axis=1)  # 1 = white in DeviceGray
    return image_stream(pdf, width=dark.shape[1], height=dark.shape[0],
                        flate=zlib.compress(packed.tobytes(), 6), colour_space="DeviceGray",
                        bits=1)


def form_xobject(pdf: pikepdf.Pdf, content: bytes, bbox: tuple[float, float, float, float],
                 resources: Dictionary) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, content)
    stream.Type = Name.XObject
    stream.Subtype = Name.Form
    stream.BBox = Array(list(bbox))
    stream.Resources = resources
    return stream


class ExpansionLimit(ValueError):
    """A stream decodes to more than the caller allows (a decompression bomb)."""


_LOSSLESS = {"/FlateDecode", "/ASCII85Decode", "/ASCIIHexDecode"}

# Flate data the center itself puts into every certificate (the tint tile, the 見本
# mark's font), by length, with its decoded bytes: the front's digest meets them in
# every certificate it signs and every PDF the inquiry site checks, and inflating the
# tint tile alone (720 KB) took ~0.8 ms. Immutable, filled once per process by the
# code that makes the data; an upload never adds to it.
_KNOWN_FLATE: dict[int, list[tuple[bytes, bytes]]] = {}


def remember_flate(flate: bytes, decoded: bytes) -> None:
    """Record that ``flate`` inflates to ``decoded`` (both our own, constant data)."""
    if zlib.decompress(flate) != decoded:
        raise ValueError("the Flate data does not decode to what it is said to")
    known = _KNOWN_FLATE.setdefault(len(flate), [])
    if all(raw != flate for raw, _ in known):
        known.append((flate, decoded))


def flate_only(pdf: bytes, remember: bool = False) -> bytes:
    """``pdf`` with every stream Flate-compressed alone: reportlab wraps some streams
    in ASCII85 too (a quarter larger, and slower to read). For the center's own cached
    layers, made once. ``remember``: a PDF made once per process whose every stream
    is then remembered (:func:`remember_flate`); never one of many (a layer per
    municipality and type), which would grow the memory without bound."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        out = io.BytesIO()
        document.save(out, deterministic_id=True, compress_streams=True,
                      stream_decode_level=pikepdf.StreamDecodeLevel.generalized)
    data = out.getvalue()
    if not remember:
        return data
    with pikepdf.open(io.BytesIO(data)) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Stream) and _filter_names(obj) == ["/FlateDecode"] \
                    and obj.get("/DecodeParms") is None:
                remember_flate(obj.read_raw_bytes(), obj.read_bytes())
    return data


def open_in_memory(pdf: bytes) -> pikepdf.Pdf:
    """``pdf`` opened with every object read and every stream's data held in memory,
    for a document kept open and copied from (``copy_foreign``, ``pages.append``).

    qpdf copies a foreign stream's data lazily: the copy reads it from the source's
    input (a seek, then a read) when the copy is read or saved, which may happen on
    another thread while the source's own thread copies or reads from it again. Data
    held in memory is shared read-only instead, and the source's input is never read
    after this."""
    document = pikepdf.open(io.BytesIO(pdf))
    for obj in document.objects:
        if isinstance(obj, pikepdf.Stream):
            obj.write(obj.read_raw_bytes(), filter=obj.get("/Filter"),
                      decode_parms=obj.get("/DecodeParms"), type_check=False)
    return document


def _filter_names(stream: pikepdf.Stream) -> list[str] | None:
    filters = stream.get("/Filter")
    return ([] if filters is None else [str(filters)] if isinstance(filters, Name)
            else [str(f) for f in filters] if isinstance(filters, Array) else None)


def _known_flate(data: bytes) -> bytes | None:
    for raw, decoded in _KNOWN_FLATE.get(len(data), ()):
        if raw == data:
            return decoded
    with _LEARNED_LOCK:
        decoded = _LEARNED.get(data)
        if decoded is not None:
            _LEARNED.move_to_end(data)
    return decoded


# Flate data met while signing, by its exact bytes, most recently used last: the
# municipality's 職印 image (270 KB decoded, ~0.35 ms to inflate) is the same on each of
# its certificates. A memo of a pure function, bounded; only the center's own signing
# path adds to it (``learn``), never an upload.
_LEARNED: OrderedDict[bytes, bytes] = OrderedDict()
_LEARNED_LOCK = threading.Lock()
_LEARNED_ENTRIES = 16
_LEARNED_MIN = 64 * 1024  # decoded bytes: smaller streams inflate in a few µs
_LEARNED_MAX = 1024 * 1024


def _learn(raw: bytes, decoded: bytes) -> None:
    if not _LEARNED_MIN <= len(decoded) <= _LEARNED_MAX:
        return
    with _LEARNED_LOCK:
        _LEARNED[raw] = decoded
        _LEARNED.move_to_end(raw)
        while len(_LEARNED) > _LEARNED_ENTRIES:
            _LEARNED.popitem(last=False)


def decoded_within(stream: pikepdf.Stream, limit: int, learn: bool = False) -> bytes | None:
    """A stream's data decoded from Flate / ASCII85 / ASCIIHex, never more than
    ``limit`` bytes (:class:`ExpansionLimit` beyond). None for other encodings (DCT,
    predictors, ...), which the caller treats as opaque bytes.

    pikepdf (qpdf) decodes a whole stream at once, however large it grows; a hostile
    upload's 16 MiB of Flate can expand a thousandfold, so untrusted streams are
    decoded here, step by step, with a ceiling. ``learn``: a stream the center is
    signing, whose decoded data may be remembered for the next certificate."""
    names = _filter_names(stream)
    if names is None or any(name not in _LOSSLESS for name in names):
        return None
    if stream.get("/DecodeParms") is not None:
        return None
    data = raw = stream.read_raw_bytes()
    if names == ["/FlateDecode"] and (known := _known_flate(data)) is not None:
        if len(known) > limit:
            raise ExpansionLimit(f"a stream decodes to more than {limit} bytes")
        return known
    for name in names:
        if name == "/FlateDecode":
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(data, limit + 1)
            except zlib.error:
                return None
            if len(data) > limit or inflater.unconsumed_tail:
                raise ExpansionLimit(f"a stream decodes to more than {limit} bytes")
            if learn and len(names) == 1:
                _learn(raw, data)
        elif name == "/ASCII85Decode":
            import base64
            text = data.strip()
            text = text[2:] if text.startswith(b"<~") else text
            text = text if text.endswith(b"~>") else text + b"~>"
            try:
                data = base64.a85decode(b"<~" + text, adobe=True)
            except ValueError:
                return None
        else:
            hexdigits = bytes(c for c in data.split(b">")[0] if c not in b" \t\r\n\f")
            try:
                data = bytes.fromhex((hexdigits + b"0" * (len(hexdigits) % 2)).decode())
            except ValueError:
                return None
    return data
