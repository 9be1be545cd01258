"""The inquiry site (照会サイト) on the center's public listener: routes only.

``GET /verify`` the page; ``POST /v1/verify`` the check (``center.inquiry`` does the
work, in a worker thread); ``GET /v1/verify/fronts/{front_id}.png`` the recovered
front. The recovered front is kept only in memory, in :class:`FrontCache`: bounded
in entries and bytes, each entry expiring after ``FRONT_TTL_SECONDS``, under an
unguessable id. The upload itself is never kept, and nothing of it is logged.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, TypeVar

import numpy as np
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from PIL import Image

from konbini.clock import isoformat
from konbini.http import json_response
from konbini.problems import Problem, invalid_request
from konbini.wire import CertificateType

from . import inquiry
from .context import CenterContext, context
from .incidents import void_message
from .rate_limit import UPLOAD, RateLimited

FRONT_TTL_SECONDS = 600.0
FRONT_CACHE_ENTRIES = 64
FRONT_CACHE_BYTES = 32 * 1024 * 1024
# Reading an upload takes up to a second of CPU and up to ~40 MB (an image is
# decoded at 300 dpi a strip at a time): two images at a time per process, and
# apart from them two PDFs, so that the certificate's own PDF (read in a tenth of
# a second) never queues behind large scans. These bound this process's memory,
# so they belong to the process; the per-address budget is in the database.
CONCURRENT_IMAGE_READS = 2
CONCURRENT_PDF_READS = 2
FRONT_PATH = "/v1/verify/fronts/{front_id}.png"
EDITED_MESSAGE = "PDFの表面が、市区町村が交付したものと一致しません（編集されています）。"

routes = web.RouteTableDef()
T = TypeVar("T")


class FrontCache:
    """Recovered fronts as PNG, in memory only, for ``front_image_url``."""

    def __init__(self, ttl: float = FRONT_TTL_SECONDS, entries: int = FRONT_CACHE_ENTRIES,
                 max_bytes: int = FRONT_CACHE_BYTES, clock: Any = time.monotonic) -> None:
        self._ttl, self._entries, self._max_bytes, self._clock = ttl, entries, max_bytes, clock
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, png: bytes) -> str:
        front_id = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._items[front_id] = (self._clock() + self._ttl, png)
            self._bytes += len(png)
            while self._items and (len(self._items) > self._entries
                                   or self._bytes > self._max_bytes):
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= len(dropped)
        return front_id

    def get(self, front_id: str) -> bytes | None:
        with self._lock:
            self._expire()
            item = self._items.get(front_id)
            return None if item is None else item[1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _expire(self) -> None:
        now = self._clock()
        while self._items:
            front_id, (expires, png) = next(iter(self._items.items()))
            if expires > now:
                break
            del self._items[front_id]
            self._bytes -= len(png)


class Lane:
    """At most ``size`` uploads read at once, on threads of their own: glibc gives
    each thread that allocates large buffers an arena of its own and keeps it, so
    reading on the shared default executor (six threads here) left the center
    ~150 MB larger than two threads of its own do (benchmarks/inquiry_uploads.py)."""

    def __init__(self, name: str, size: int) -> None:
        self.slots = asyncio.Semaphore(size)
        self.executor = ThreadPoolExecutor(size, thread_name_prefix=f"inquiry-{name}")

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)


class InquiryState:
    def __init__(self) -> None:
        self.fronts = FrontCache()
        self.images = Lane("image", CONCURRENT_IMAGE_READS)
        self.pdfs = Lane("pdf", CONCURRENT_PDF_READS)

    def close(self) -> None:
        for lane in (self.images, self.pdfs):
            lane.executor.shutdown(wait=True, cancel_futures=True)


INQUIRY = web.AppKey("inquiry", InquiryState)


def setup(app: web.Application) -> None:
    """Add the inquiry routes and their in-memory state to the public app."""
    app[INQUIRY] = InquiryState()
    app.add_routes(routes)

    async def close(app: web.Application) -> None:
        await asyncio.to_thread(app[INQUIRY].close)
    app.on_cleanup.append(close)


@routes.get("/verify")
async def page(request: web.Request) -> web.Response:
    html = resources.files("center").joinpath("static/verify.html").read_bytes()
    return web.Response(body=html, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store",
                                 "Content-Security-Policy":
                                     "default-src 'self'; img-src 'self' blob:; "
                                     "object-src blob:; style-src 'self' 'unsafe-inline'; "
                                     "script-src 'self' 'unsafe-inline'"})


async def _upload(request: web.Request) -> bytes:
    """The ``file`` field of a multipart body, read with a cap (never whole into
    memory first: the app-wide 1 MiB body limit does not apply to multipart)."""
    limit = inquiry.MAX_UPLOAD_BYTES
    if request.content_length is not None and request.content_length > limit + 65536:
        raise Problem("request-too-large", f"the upload is over {limit // (1024 * 1024)} MiB")
    if request.content_type != "multipart/form-data":
        raise Problem("unsupported-media-type",
                      "send multipart/form-data with the certificate in the field 'file'")
    try:
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name != "file":
                await part.release()
                continue
            data = bytearray()
            while chunk := await part.read_chunk(65536):
                data += chunk
                if len(data) > limit:
                    raise Problem("request-too-large",
                                  f"the upload is over {limit // (1024 * 1024)} MiB")
            return bytes(data)
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError) as exc:
        # HttpProcessingError: a part's header aiohttp cannot parse (a name that
        # is not UTF-8, say), which a fuzzer sends before the file part.
        raise invalid_request([{"field": "file", "message": "malformed multipart body"}]) \
            from exc
    raise invalid_request([{"field": "file", "message": "required: the PDF or a scan"}])


def client_network(remote: str | None) -> str:
    """Whose budget an upload draws from: the IPv4 address, or the IPv6 /64 (one
    subscriber's prefix: its 2^64 addresses are one client)."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if address.version == 6 else str(address)


def _png(front: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(front).save(out, format="PNG", compress_level=3)
    return out.getvalue()


async def _record(ctx: CenterContext, certificate_id: str) -> inquiry.Record | None:
    found = await ctx.store.certificate_with_void_reason(certificate_id[:64])
    if found is None:
        return None
    cert, reason = found
    return inquiry.Record(cert.certificate_number, cert.type, cert.municipality_code,
                          cert.status, reason)


def _type_label(value: str) -> str | None:
    try:
        return CertificateType(value).label
    except ValueError:
        return None


def _development_key(ctx: CenterContext, token_check: inquiry.TokenCheck | None) -> bool | None:
    """Whether the key that signed the token is a development key; None when no key of
    the trust list signed it."""
    if token_check is None or not token_check.valid or token_check.kid is None:
        return None
    try:
        return ctx.qr_keys.is_development(token_check.kid)
    except KeyError:
        return None


@routes.post("/v1/verify")
async def verify(request: web.Request) -> web.Response:
    ctx = context(request)
    state = request.app[INQUIRY]
    try:  # before the body is read: a refused upload costs nothing
        await ctx.limiter.check(UPLOAD, client_network(request.remote),
                                "too many uploads from this address")
    except RateLimited as limited:
        return limited.response()
    data = await _upload(request)
    try:
        kind = inquiry.sniff(data)
    except inquiry.UploadRefused as refused:
        raise Problem(refused.code, refused.detail) from None
    lane = state.pdfs if kind == "pdf" else state.images
    async with lane.slots:
        try:
            reading = await lane.run(inquiry.read_upload, data)
        except inquiry.UploadRefused as refused:
            raise Problem(refused.code, refused.detail) from None
        del data
        if reading.sheets:  # a certificate of several sheets, verified whole
            return json_response(await _verify_sheets(ctx, state, lane, reading.sheets))
        token_check = None
        if reading.token is not None:
            token_check = inquiry.check_token(
                reading.token, inquiry.trusted_keys(ctx.qr_keys.trust_list()))
        claims = token_check.claims if token_check and token_check.valid else None
        front = None
        if claims is not None and token_check is not None and token_check.kid is not None:
            # The key that signed it names the secret its image was scrambled with.
            front = await lane.run(inquiry.recover_front, reading, claims,
                                   ctx.qr_keys.scramble_secret(token_check.kid))
    record = await _record(ctx, claims["cid"]) if claims else None
    front_result = inquiry.front_check(reading, claims) if claims else "not-checked"
    status, record_check = inquiry.assess(token_check, record, front_result)
    body: dict[str, Any] = {
        "status": status,
        "certificate": None,
        "signature_valid": bool(token_check and token_check.valid),
        "front_image_url": None,
        "source": reading.source,
        "checks": {
            "signature": token_check.outcome if token_check else "no-qr-code",
            "record": record_check,
            "front": front_result,
            "front_image": ("recovered" if front is not None
                            else "unreadable" if claims else "not-attempted"),
        },
        "kid": token_check.kid if token_check else None,
        "message": inquiry.MESSAGES[status],
    }
    if front_result == "edited":
        body["message"] = EDITED_MESSAGE
    # A development key's certificates are samples (見本): say so whatever else is found.
    body["development_key"] = _development_key(ctx, token_check)
    if body["development_key"]:
        body["message"] += "\n" + inquiry.DEVELOPMENT_KEY_MESSAGE
    if claims is not None:
        body["certificate"] = await _certificate(ctx, claims)
        if record is not None and record.status == "void":
            body["void_reason"] = record.void_reason
            body["message"] = void_message(record.void_reason) or body["message"]
    if front is not None:
        png = await lane.run(_png, front)
        front_id = state.fronts.put(png)
        body["front_image_url"] = FRONT_PATH.format(front_id=front_id)
    _one_sheet(body, token_check, front_result)
    return json_response(body)


@routes.get(FRONT_PATH)
async def front_image(request: web.Request) -> web.Response:
    png = request.app[INQUIRY].fronts.get(request.match_info["front_id"][:64])
    if png is None:
        raise Problem("not-found", "no such front, or it has expired (fronts are kept "
                                   f"{int(FRONT_TTL_SECONDS // 60)} minutes, in memory only)")
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store"})


# -- certificates of several sheets (issue 14) -------------------------------------------------

async def _certificate(ctx: CenterContext, claims: dict[str, Any]) -> dict[str, Any]:
    """The answer's ``certificate``, from the claims of a valid signature."""
    registration = await ctx.store.municipality(claims["mun"])
    return {
        "certificate_id": claims["cid"],
        "certificate_number": claims["num"],
        "type": claims["typ"],
        "type_label": _type_label(claims["typ"]),
        "municipality": {"code": claims["mun"],
                         "name": registration[0].name if registration else None},
        "issued_at": isoformat(inquiry.issued_at(claims)),
        "sheets": inquiry.sheet_position(claims)[1],  # how many sheets the certificate has
    }


def _sheet_entry(position: int, token_check: inquiry.TokenCheck | None, front: str,
                 front_url: str | None) -> dict[str, Any]:
    """One sheet of an upload, as the answer's ``sheets`` lists it."""
    claims = token_check.claims if token_check is not None and token_check.valid else None
    m, n = inquiry.sheet_position(claims) if claims else (None, None)
    return {"sheet": position,
            "pg": [m, n] if claims else None,
            "certificate_id": claims["cid"] if claims else None,
            "certificate_number": claims["num"] if claims else None,
            "signature": token_check.outcome if token_check else "no-qr-code",
            "front": front, "front_image_url": front_url}


def _one_sheet(body: dict[str, Any], token_check: inquiry.TokenCheck | None,
               front: str) -> None:
    """The ``sheets`` of an upload of one sheet (its PDF or a scan of its back): a
    sheet of a certificate of several verifies on its own, ``checks.sheets`` says
    it is one of them."""
    claims = token_check.claims if token_check is not None and token_check.valid else None
    body["checks"]["sheets"] = inquiry.sheets_check([claims])
    body["sheets"] = [_sheet_entry(1, token_check, front, body["front_image_url"])]


async def _verify_sheets(ctx: CenterContext, state: InquiryState, lane: Lane,
                         sheets: list[inquiry.Reading]) -> dict[str, Any]:
    """Every sheet's signature, front and scrambled image, and the sheets together
    (inquiry.assess_sheets)."""
    keys = inquiry.trusted_keys(ctx.qr_keys.trust_list())
    checks: list[inquiry.TokenCheck | None] = []
    fronts: list[str] = []
    urls: list[str | None] = []
    for sheet in sheets:
        token_check = inquiry.check_token(sheet.token, keys) if sheet.token else None
        claims = token_check.claims if token_check is not None and token_check.valid else None
        checks.append(token_check)
        fronts.append(inquiry.front_check(sheet, claims) if claims else "not-checked")
        url = None
        if claims is not None and token_check is not None and token_check.kid is not None:
            front = await lane.run(inquiry.recover_front, sheet, claims,
                                   ctx.qr_keys.scramble_secret(token_check.kid))
            if front is not None:
                url = FRONT_PATH.format(front_id=state.fronts.put(
                    await lane.run(_png, front)))
        urls.append(url)
    first = next((c.claims for c in checks if c is not None and c.valid and c.claims), None)
    record = await _record(ctx, first["cid"]) if first else None
    status, record_check, sheets_check = inquiry.assess_sheets(checks, record, fronts)
    failing = next((c for c in checks if c is None or not c.valid), None)
    combined_front = inquiry.combined_front(fronts)
    body: dict[str, Any] = {
        "status": status,
        "certificate": None,
        "signature_valid": failing is None and None not in checks,
        "front_image_url": urls[0],
        "source": "pdf",
        "checks": {
            "signature": ("no-qr-code" if None in checks else failing.outcome
                          if failing is not None else "valid"),
            "record": record_check,
            "front": combined_front,
            "front_image": ("recovered" if all(urls) else "unreadable" if first
                            else "not-attempted"),
            "sheets": sheets_check,
        },
        "kid": checks[0].kid if checks[0] is not None else None,
        "message": inquiry.MESSAGES[status],
        "sheets": [_sheet_entry(i, c, f, u)
                   for i, (c, f, u) in enumerate(zip(checks, fronts, urls, strict=True), 1)],
    }
    if combined_front == "edited":
        body["message"] = EDITED_MESSAGE
    if sheets_check in inquiry.SHEET_MESSAGES:
        body["message"] = inquiry.SHEET_MESSAGES[sheets_check]
    # A sample (見本) if any sheet was signed with a development key.
    development = [_development_key(ctx, c) for c in checks]
    body["development_key"] = (True if any(development) else
                               None if None in development else False)
    if body["development_key"]:
        body["message"] += "\n" + inquiry.DEVELOPMENT_KEY_MESSAGE
    if first is not None:
        body["certificate"] = await _certificate(ctx, first)
        if record is not None and record.status == "void" and sheets_check == "complete":
            body["void_reason"] = record.void_reason
            body["message"] = void_message(record.void_reason) or body["message"]
    return body
