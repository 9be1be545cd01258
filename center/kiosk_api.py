"""Kiosk API (mutual TLS, terminal certificate): sessions, card
authentication, menu, orders, PDF download, print result."""

from __future__ import annotations

import asyncio
import binascii
import functools
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from konbini.b64 import b64url_decode, b64url_encode
from konbini.clock import isoformat
from konbini.http import REQUEST_ID_KEY, json_response, peer
from konbini.jws import sign_es256
from konbini.problems import Problem, invalid_request
from konbini.schemas import B64URL, CERT_TYPE, ID, MUNICIPALITY_CODE, ORDER_OPTIONS, YEN, obj
from konbini.tls import PeerIdentity
from konbini.validation import BodySchema, read_json, require
from konbini.wire import (
    CHALLENGE_SECONDS,
    DOWNLOAD_WINDOW_SECONDS,
    FAMILY_REGISTER_TYPES,
    MAX_COPIES,
    SESSION_IDLE_SECONDS,
    TYPE_OPTIONS,
    CertificateType,
)

from . import incidents, reconciliation, terminals
from .antiforgery import finish_sheets
from .antiforgery.qr import certificate_claims
from .availability import (
    Availability,
    ensure_center_open,
    ensure_municipality_open,
    ensure_type_offered,
    participating,
    read_availability,
)
from .context import CenterContext, context
from .jpki import CARD_REVOKED_JA, CARD_SUSPENDED_JA
from .model.orders import Copy, OrderStatus, ResultError, check_result, is_expired
from .municipalities import Registration, ServiceOffer
from .order_keys import idempotent_order, preassigned_order_id, record_answer
from .qr_keys import NoCurrentKey
from .refusals import note_municipality
from .storage import CenterStore, CertificateRecord, OrderRecord, SessionRecord
from .subject_binding import ensure_subjects

SESSION_CREATE = BodySchema(obj({"credential": {"enum": ["card", "smartphone"]}}))
AUTHENTICATE = BodySchema(obj({"certificate": B64URL, "signature": B64URL},
                              ["certificate", "signature"]))
ORDER_CREATE = BodySchema(obj({
    "type": CERT_TYPE,
    "copies": {"type": "integer", "minimum": 1, "maximum": MAX_COPIES},
    "options": ORDER_OPTIONS,
    "expected_fee_yen": YEN,
    # Addition: a family-register order for the municipality of the 本籍 (after the
    # use registration); absent, the order goes to the holder's own municipality.
    "municipality_code": MUNICIPALITY_CODE,
}, ["type", "copies", "expected_fee_yen"]))
USE_REGISTRATION = BodySchema(obj({"municipality_code": MUNICIPALITY_CODE},
                                  ["municipality_code"]))
# A menu item from the municipal server may carry these for the kiosk's option screens.
RELAYED_ITEM_FIELDS = ("fiscal_years", "disasters", "persons")
PRINT_RESULT = BodySchema(obj({
    "printed": {"type": "array", "items": ID, "maxItems": MAX_COPIES, "uniqueItems": True},
    "failed": {"type": "array", "maxItems": MAX_COPIES, "items": obj(
        {"certificate_id": ID, "reason": {"type": "string", "maxLength": 200}},
        ["certificate_id"])},
}, ["printed"]))

routes = web.RouteTableDef()


def _plausible_key(value: str) -> bool:
    """An id from the path that could be stored: longer ones, or one with a NUL
    (which PostgreSQL's text cannot hold, and which would spoil the request's
    transaction), match nothing."""
    return len(value) <= 64 and "\x00" not in value


# Issue 12: each handler reads what it needs in one transaction, or in the unit
# of work it writes in anyway (``store``): a transaction costs ~0.3-0.7 ms of CPU
# in SQLAlchemy however small. Nothing is kept between requests.
async def _session(ctx: CenterContext, request: web.Request, now: datetime,
                   store: CenterStore | None = None) -> SessionRecord:
    """The caller's own, open, unexpired session."""
    session_id = request.match_info["session_id"]
    record = (await (store or ctx.store).session(session_id) if _plausible_key(session_id)
              else None)
    if record is None or not _same_terminal(request, record) or record.closed:
        raise Problem("session-not-found", "no such session at this terminal")
    if now - record.last_seen_at > timedelta(seconds=SESSION_IDLE_SECONDS):
        raise Problem("session-expired", "the session was idle for more than 10 minutes")
    return record


def _same_terminal(request: web.Request, record: SessionRecord | OrderRecord) -> bool:
    """The very certificate that opened the session or placed the order (a CN
    alone can be copied into another certificate)."""
    kiosk = peer(request)
    return (record.terminal_id == kiosk.terminal_id
            and record.terminal_fingerprint == kiosk.fingerprint)


async def _authenticated(ctx: CenterContext, request: web.Request, now: datetime,
                         store: CenterStore | None = None) -> SessionRecord:
    store = store or ctx.store
    record = await _session(ctx, request, now, store)
    if not record.authenticated or record.resident_code is None:
        raise Problem("not-authenticated", "authenticate the card first")
    await store.touch_session(record.session_id, now)
    return record


@routes.post("/v1/sessions")
async def create_session(request: web.Request) -> web.Response:
    ctx = context(request)
    kiosk = peer(request)
    body = await read_json(request, SESSION_CREATE, optional=True)
    now = ctx.clock.now()
    credential = body.get("credential", "card")
    session_id = secrets.token_urlsafe(24)
    challenge = secrets.token_bytes(32)
    # The checks and the session in one transaction; a refusal writes nothing.
    async with ctx.store.unit_of_work() as uow:
        await ensure_center_open(ctx, now, uow)
        await _check_smartphone_support(uow, kiosk, credential)
        await uow.create_session(session_id, kiosk.terminal_id, kiosk.chain, kiosk.store_id,
                                 credential, challenge, now,
                                 terminal_fingerprint=kiosk.fingerprint)
    return json_response({
        "session_id": session_id,
        "challenge": b64url_encode(challenge),
        "expires_at": isoformat(now + timedelta(seconds=CHALLENGE_SECONDS)),
    }, status=201)


async def _check_smartphone_support(store: CenterStore, kiosk: PeerIdentity,
                                    credential: str) -> None:
    # The terminal registry says which chains read smartphones (center/terminals.py).
    if credential == "smartphone" and not await terminals.reads_smartphones(store,
                                                                            kiosk.chain):
        raise Problem("credential-not-supported",
                      "this store's kiosks do not read smartphone credentials")


@routes.post("/v1/sessions/{session_id}/authenticate")
async def authenticate(request: web.Request) -> web.Response:
    ctx = context(request)
    body = await read_json(request, AUTHENTICATE)
    try:
        certificate_der = b64url_decode(body["certificate"])
        signature = b64url_decode(body["signature"])
    except ValueError as exc:
        raise Problem("invalid-request", "certificate and signature must be base64url",
                      errors=[{"field": "certificate", "message": "not base64url"}]) from exc
    now = ctx.clock.now()
    async with ctx.store.unit_of_work() as uow:
        session = await _session(ctx, request, now, uow)
        if session.authenticated:
            raise Problem("already-authenticated", "this session is already authenticated")
        # Single use: whatever happens next, this challenge cannot be tried again
        # (committed before anything below can refuse).
        if session.challenge is None or not await uow.consume_challenge(session.session_id):
            raise Problem("challenge-expired",
                          "the challenge was already used; start a new session")
    if now - session.challenge_issued_at > timedelta(seconds=CHALLENGE_SECONDS):
        raise Problem("challenge-expired", "the challenge is older than 120 seconds")

    certificate = ctx.jpki.verify_presented(certificate_der, session.challenge, signature,
                                            now=now)
    # The card's checks and the session's authentication in one transaction: every
    # refusal comes before the one write, so a refused card writes nothing.
    async with ctx.store.unit_of_work() as uow:
        card = await uow.card(format(certificate.serial_number, "x"))
        if card is None:
            raise Problem("certificate-untrusted",
                          "the certificate is unknown to the JPKI registry")
        note_municipality(request, card.municipality_code)  # for counting a refusal only
        if card.status == "suspended":
            raise Problem("card-suspended", CARD_SUSPENDED_JA + " (suspended: lost or stolen)",
                          message=CARD_SUSPENDED_JA)
        if card.status == "revoked":
            raise Problem("card-revoked", CARD_REVOKED_JA + " (revoked)",
                          message=CARD_REVOKED_JA)
        if card.credential == "face_auth":
            raise Problem("card-face-auth",
                          "a face-authentication card cannot be used for this service")
        await _check_smartphone_support(uow, peer(request), card.credential)

        registration = await participating(ctx, card.municipality_code, uow)
        await ensure_municipality_open(ctx, registration.code, now, uow)
        await uow.authenticate_session(session.session_id, card.serial, registration.code,
                                       card.resident_code, card.credential, now)
    return json_response({
        "municipality": {"code": registration.code, "name": registration.name},
        "credential": card.credential,
    })


@routes.get("/v1/sessions/{session_id}/menu")
async def menu(request: web.Request) -> web.Response:
    ctx = context(request)
    now = ctx.clock.now()
    # The session (touched), the municipalities and the use registrations in one
    # transaction; the checks run on what it read once it has committed.
    async with ctx.store.unit_of_work() as uow:
        session = await _authenticated(ctx, request, now, uow)
        assert session.municipality_code and session.resident_code and session.serial
        registered_with = [code for code in await uow.use_registrations(session.serial)
                           if code != session.municipality_code]
        seen = await read_availability(uow, now, [session.municipality_code,
                                                  *registered_with])
    registration = seen.participating(session.municipality_code)
    seen.ensure_municipality_open(registration.code)
    registration = seen.with_fees_in_force(registration.code)
    request_id = request[REQUEST_ID_KEY]
    upstream = await ctx.municipal.menu(
        registration.endpoint, {"resident_code": session.resident_code, "at": isoformat(now)},
        request_id)
    items = _menu_items(registration, upstream["items"], now,
                        domiciles=await _domiciles(ctx, upstream["items"]))

    # 本籍地の利用登録: the family-register types of each registered domicile take the
    # place of the residence's own items that only said where to register.
    for domicile_code in registered_with:
        domicile_items = await _domicile_menu_items(ctx, seen, domicile_code,
                                                    session.resident_code, request_id)
        replaced = {item["type"] for item in domicile_items}
        items = [item for item in items if not (
            item["type"] in replaced
            and item.get("reason") in ("use-registration-required", "no-domicile"))]
        items += domicile_items
    return json_response({
        "municipality": {"code": registration.code, "name": registration.name},
        "items": items,
        "household": upstream["household"],
        "max_copies": min(MAX_COPIES, int(upstream.get("max_copies", MAX_COPIES))),
    })


async def _domiciles(ctx: CenterContext, resident_items: list[dict[str, Any]],
                     ) -> dict[str, Registration]:
    """The participating municipalities of the 本籍 the resident's items point to."""
    found: dict[str, Registration] = {}
    codes = {item["domicile_code"] for item in resident_items if "domicile_code" in item}
    if not codes:
        return found
    async with ctx.store.reading() as reading:
        for code in codes:
            registration = await reading.municipality(code)
            if registration is not None:
                found[code] = registration[0]
    return found


def _menu_items(registration: Registration, resident_items: list[dict[str, Any]],
                now: datetime, *, only: frozenset[CertificateType] | None = None,
                domiciles: Mapping[str, Registration] | None = None,
                ) -> list[dict[str, Any]]:
    """The center's registry decides what kiosks are offered and at what fee
    and hours; the municipal server decides what this resident may have.
    ``domiciles``: where a resident may register to have family registers."""
    items = []
    by_type = {item["type"]: item for item in resident_items}
    for offer in registration.services:
        if only is not None and offer.type not in only:
            continue
        item: dict[str, Any] = {"type": offer.type.value, "label": offer.type.label,
                                "fee_yen": offer.fee_yen, "available": True,
                                "municipality": {"code": registration.code,
                                                 "name": registration.name}}
        resident_view = by_type.get(offer.type.value)
        if resident_view is None:
            item.update(available=False, reason="not-offered",
                        message="この証明書は発行できません")
        elif not resident_view["available"]:
            item.update(available=False, reason=resident_view.get("reason", "not-offered"),
                        message=resident_view.get("message", ""))
            domicile = (domiciles or {}).get(resident_view.get("domicile_code", ""))
            if (item["reason"] == "use-registration-required" and domicile is not None
                    and any(o.type is offer.type for o in domicile.services)):
                item["register_with"] = {"code": domicile.code, "name": domicile.name}
        else:
            item.update({k: resident_view[k] for k in RELAYED_ITEM_FIELDS
                         if k in resident_view})
            try:
                ensure_type_offered(offer, now)
            except Problem as problem:
                item.update(available=False, reason="outside-hours", message="取扱時間外です")
                if "opens_at" in problem.extra:
                    item["opens_at"] = problem.extra["opens_at"]
        items.append(item)
    return items


async def _domicile_menu_items(ctx: CenterContext, seen: Availability, code: str,
                               resident_code: str, request_id: str) -> list[dict[str, Any]]:
    """The family-register items of the municipality of the 本籍 (``seen``: read
    with the session)."""
    now = seen.now
    if seen.registrations.get(code) is None:
        return []
    registration = seen.with_fees_in_force(code)
    try:
        seen.ensure_municipality_open(code)
        upstream = await ctx.municipal.menu(
            registration.endpoint, {"resident_code": resident_code, "at": isoformat(now),
                                    "basis": "domicile"}, request_id)
    except Problem as problem:
        # The domicile being down must not take the resident's own menu with it.
        items = _menu_items(registration, [], now, only=FAMILY_REGISTER_TYPES)
        message = problem.extra.get("message") or "本籍地の市区町村は現在ご利用いただけません"
        for item in items:
            item.update(available=False, reason=problem.extra.get("reason", problem.code),
                        message=message)
        return items
    return _menu_items(registration, upstream["items"], now, only=FAMILY_REGISTER_TYPES)


# The order a request is placing, once the municipal server is about to be asked.
ORDER_IN_FLIGHT = web.RequestKey("order_in_flight", tuple)


def _records_failures(handler: Any) -> Any:
    """An order that fails once the municipal server was asked is recorded
    (incident, owed outcome) wherever in the handler it failed."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as problem:
            if ORDER_IN_FLIGHT in request:
                order_id, code, now = request[ORDER_IN_FLIGHT]
                await _upstream_failed(context(request), request, problem, code, order_id, now)
            raise
    return wrapper


@routes.post("/v1/sessions/{session_id}/orders")
@_records_failures
async def create_order(request: web.Request) -> web.Response:
    # A resend with the same Idempotency-Key gets the same order (order_keys.py).
    return await idempotent_order(request, _create_order)


async def _create_order(request: web.Request) -> web.Response:
    ctx = context(request)
    body = await read_json(request, ORDER_CREATE)
    cert_type = CertificateType(body["type"])
    options = body.get("options", {})
    allowed = TYPE_OPTIONS.get(cert_type, frozenset())
    for name in options:
        require(name in allowed, f"options.{name}", f"not an option of {cert_type.value}")

    now = ctx.clock.now()
    requested = body.get("municipality_code")
    kiosk = peer(request)
    order_id = preassigned_order_id(request) or uuid.uuid4().hex  # order_keys.py
    refused: Problem | None = None
    # One transaction: the session (touched), what the checks need, and, for an
    # order to the holder's own municipality, the intent. The session's touch
    # commits even when a check refuses the order, as it always did.
    async with ctx.store.unit_of_work() as uow:
        session = await _authenticated(ctx, request, now, uow)
        assert session.municipality_code and session.resident_code and session.serial
        registered_with: list[str] = []
        if requested not in (None, session.municipality_code) and (
                cert_type in FAMILY_REGISTER_TYPES):
            registered_with = await uow.use_registrations(session.serial)
        seen = await read_availability(uow, now, [session.municipality_code, *(
            [requested] if requested in registered_with else [])], center=True)
        try:
            seen.ensure_center_open()
            residence = seen.participating(session.municipality_code)
            seen.ensure_municipality_open(residence.code)
            registration, basis = _issuing_municipality(
                seen, residence, requested, cert_type, registered_with)
            if basis == "residence":
                registered_offer, offer, fee = _priced(seen, registration, cert_type,
                                                       body["copies"],
                                                       body["expected_fee_yen"])
                await _intend(ctx, uow, request, order_id, registration.code, now)
        except Problem as problem:
            refused = problem
    if refused is not None:
        raise refused
    if basis == "domicile":
        # The holder must still be eligible where they live (moved out, deceased …).
        await ctx.municipal.menu(residence.endpoint, {"resident_code": session.resident_code,
                                                      "at": isoformat(now)},
                                 request[REQUEST_ID_KEY])
        registered_offer, offer, fee = _priced(seen, registration, cert_type, body["copies"],
                                               body["expected_fee_yen"])
        await _intend(ctx, ctx.store, request, order_id, registration.code, now)
    upstream = await ctx.municipal.certificates(registration.endpoint, {
        "request_id": order_id,
        "resident_code": session.resident_code,
        "type": cert_type.value,
        "copies": body["copies"],
        "options": options,
        "at": isoformat(now),
        "kiosk": {"terminal_id": kiosk.terminal_id, "chain": kiosk.chain,
                  "store_id": kiosk.store_id},
        **({"basis": basis} if basis != "residence" else {}),
    }, request[REQUEST_ID_KEY])
    # The municipal server knows its registered fee; a fee period is the center's.
    if len(upstream["certificates"]) != body["copies"] or upstream["fee_yen"] not in (
            fee, registered_offer.fee_yen * body["copies"]):
        raise Problem("upstream-error", "the municipal server's answer does not match the order")
    fronts = [_decode_pdf(issued) for issued in upstream["certificates"]]
    # Issue 14: the cardholder's, every page of one certificate, or refused here.
    await ensure_subjects(ctx, certificates=upstream["certificates"], fronts=fronts,
                          ordered_type=cert_type.value, municipality_code=registration.code,
                          holder=session.resident_code, order_id=order_id,
                          request_id=request[REQUEST_ID_KEY], terminal_id=kiosk.terminal_id,
                          now=now)

    try:
        kid, key = ctx.qr_keys.current(now)
    except NoCurrentKey:
        # The clock has left every key's validity (a test clock years ahead):
        # make a key for now, as a scheduled rotation would have.
        ctx.qr_keys.rotate(now)
        kid, key = ctx.qr_keys.current(now)
    finished: list[tuple[CertificateRecord, bytes]] = []
    for issued, front in zip(upstream["certificates"], fronts, strict=True):
        certificate_id = uuid.uuid4().hex
        claims = certificate_claims(
            certificate_id=certificate_id, certificate_number=issued["certificate_number"],
            cert_type=cert_type.value, municipality_code=registration.code, issued_at=now,
            front_pdf_sha256=bytes.fromhex(issued["sha256"]))  # checked by _decode_pdf
        # Rendering and merging are CPU work: keep the event loop free for other kiosks.
        # The claims are signed inside, once the finished front's digest (fpd) is known.
        try:
            pdf, _ = await asyncio.to_thread(
                ctx.metrics.timed_antiforgery(finish_sheets), front, claims=claims,
                sign=functools.partial(sign_es256, key=key, kid=kid),
                scramble_secret=ctx.qr_keys.scramble_secret(kid),
                certificate_number=issued["certificate_number"],
                municipality_name=registration.name, cert_label=cert_type.label,
                sample=ctx.qr_keys.is_development(kid), inquiry_url=ctx.config.inquiry_url)
        except ValueError as exc:  # not a PDF we can build on
            raise Problem("upstream-error",
                          "the municipal server's PDF cannot be finished") from exc
        finished.append((CertificateRecord(
            certificate_id, order_id, issued["certificate_number"], cert_type.value,
            registration.code, hashlib.sha256(pdf).hexdigest(), issued["sha256"],
            offer.fee_yen, "issued", now), pdf))

    order = OrderRecord(order_id, session.session_id, kiosk.terminal_id, registration.code,
                        cert_type.value, body["copies"], fee, OrderStatus.ISSUED,
                        now + timedelta(seconds=DOWNLOAD_WINDOW_SECONDS), None, None,
                        kiosk.fingerprint)
    response = json_response({
        "order_id": order_id,
        "type": cert_type.value,
        "copies": body["copies"],
        "fee_yen": fee,
        "certificates": [{
            "certificate_id": cert.certificate_id,
            "certificate_number": cert.certificate_number,
            "pdf_url": f"/v1/orders/{order_id}/certificates/{cert.certificate_id}.pdf",
            "sha256": cert.sha256,
        } for cert, _ in finished],
    }, status=201)
    # The order, its intent's removal from the outbox and the answer kept for its
    # Idempotency-Key commit together.
    async with ctx.store.unit_of_work() as uow:
        await uow.create_order(order, request[REQUEST_ID_KEY], now, finished)
        await reconciliation.drop_intent(uow, order_id)
        await record_answer(uow, request, response)
    return response


def _priced(seen: Availability, registration: Registration, cert_type: CertificateType,
            copies: int, expected_fee_yen: int) -> tuple[ServiceOffer, ServiceOffer, int]:
    """The registered offer, the offer with the fee in force now (a campaign fee
    period, or the registered fee) and the order's fee; refused when the type is
    not offered now or the kiosk expects another fee."""
    registered_offer = ensure_type_offered(registration.offer(cert_type.value), seen.now)
    offer = ensure_type_offered(
        seen.with_fees_in_force(registration.code).offer(cert_type.value), seen.now)
    fee = offer.fee_yen * copies
    if expected_fee_yen != fee:
        raise Problem("fee-mismatch", "the fee has changed; show the new total",
                      fee_yen=fee)
    return registered_offer, offer, fee


async def _intend(ctx: CenterContext, store: CenterStore, request: web.Request,
                  order_id: str, municipality_code: str, now: datetime) -> None:
    """Reconciliation: should the center die before the order is recorded, the
    municipality still learns that this request was never delivered."""
    request[ORDER_IN_FLIGHT] = (order_id, municipality_code, now)
    await reconciliation.intend(
        store, request_id=order_id, municipality_code=municipality_code, now=now,
        grace=timedelta(seconds=ctx.config.municipal_timeout_seconds)
        + reconciliation.INTENT_GRACE)


async def _upstream_failed(ctx: CenterContext, request: web.Request, problem: Problem,
                           municipality_code: str, order_id: str, now: datetime) -> None:
    """An order that failed on the way: an incident when the municipal server
    failed (not when it refused), and the request's outcome owed to it."""
    kinds = {"upstream-error": incidents.IncidentKind.UPSTREAM_ERROR,
             "upstream-timeout": incidents.IncidentKind.UPSTREAM_TIMEOUT}
    # A wrong subject or a foreign page is recorded where it is found
    # (center/subject_binding.py), with its own kind: not twice.
    found_elsewhere = problem.extra.get("reason") in (
        incidents.IncidentKind.SUBJECT_MISMATCH, incidents.IncidentKind.FOREIGN_PAGE)
    if problem.code in kinds and not found_elsewhere:
        await incidents.record_incident(
            ctx.store, kind=kinds[problem.code], municipality_code=municipality_code, now=now,
            order_id=order_id, request_id=request[REQUEST_ID_KEY],
            terminal_id=peer(request).terminal_id,
            detail_code=problem.extra.get("reason") or problem.code)
    await reconciliation.fail_intent(ctx.store, order_id, problem.code, now)
    reconciliation.deliver_soon(ctx.store, ctx.municipal.session, now, order_id)


def _issuing_municipality(seen: Availability, residence: Registration, requested: str | None,
                          cert_type: CertificateType, registered_with: list[str],
                          ) -> tuple[Registration, str]:
    """The municipality an order goes to, and on what basis: the holder's own
    (``residence``), or the 本籍 they registered for family registers (``domicile``;
    the caller then asks the residence whether the holder is still eligible)."""
    if requested is None or requested == residence.code:
        return residence, "residence"
    if cert_type not in FAMILY_REGISTER_TYPES:
        raise Problem("type-unavailable", "only family registers come from the domicile",
                      reason="not-offered", message="この証明書は発行できません")
    if requested not in registered_with:
        raise Problem("type-unavailable", "register this card with the domicile first",
                      reason="use-registration-required",
                      message="本籍地の利用登録が必要です")
    domicile = seen.participating(requested)
    seen.ensure_municipality_open(domicile.code)
    return domicile, "domicile"


def _decode_pdf(issued: dict[str, Any]) -> bytes:
    try:
        # The check of the alphabet in C: b64decode(validate=True) runs a regex
        # over the ~200 KB first (issue 12).
        pdf = binascii.a2b_base64(issued["pdf"], strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise Problem("upstream-error", "the municipal server sent an undecodable PDF") from exc
    if not pdf.startswith(b"%PDF-") or hashlib.sha256(pdf).hexdigest() != issued["sha256"]:
        raise Problem("upstream-error", "the municipal server's PDF does not match its digest")
    return pdf


@routes.post("/v1/sessions/{session_id}/use-registrations")
async def register_use(request: web.Request) -> web.Response:
    """本籍地の利用登録 (addition to API.md): register this card with the
    municipality of the holder's 本籍, so the menu offers its family registers."""
    ctx = context(request)
    body = await read_json(request, USE_REGISTRATION)
    now = ctx.clock.now()
    session = await _authenticated(ctx, request, now)
    assert session.municipality_code and session.resident_code and session.serial
    code = body["municipality_code"]
    require(code != session.municipality_code, "municipality_code",
            "the holder's own municipality needs no use registration")
    residence = await participating(ctx, session.municipality_code)
    await ensure_municipality_open(ctx, residence.code, now)
    request_id = request[REQUEST_ID_KEY]
    await ctx.municipal.menu(residence.endpoint, {"resident_code": session.resident_code,
                                                  "at": isoformat(now)}, request_id)
    domicile = await participating(ctx, code)
    await ensure_municipality_open(ctx, code, now)
    result = await ctx.municipal.use_registration(domicile.endpoint, {
        "request_id": uuid.uuid4().hex, "resident_code": session.resident_code,
        "residence_code": residence.code, "at": isoformat(now)}, request_id)
    await ctx.store.add_use_registration(session.serial, code, now)
    return json_response({"municipality": {"code": domicile.code, "name": domicile.name},
                          "status": result["status"]}, status=201)


async def _own_order(ctx: CenterContext, request: web.Request,
                     store: CenterStore | None = None) -> OrderRecord:
    order_id = request.match_info["order_id"]
    order = await (store or ctx.store).order(order_id) if _plausible_key(order_id) else None
    if order is None or not _same_terminal(request, order):
        raise Problem("order-not-found", "no such order at this terminal")
    return order


@routes.get("/v1/orders/{order_id}/certificates/{certificate_id}.pdf")
async def download(request: web.Request) -> web.Response:
    ctx = context(request)
    certificate_id = request.match_info["certificate_id"][:64]
    async with ctx.store.reading() as reading:  # the order, the certificate, the PDF
        order = await _own_order(ctx, request, reading)
        certificate = (await reading.certificate(certificate_id)
                       if _plausible_key(certificate_id) else None)
        if certificate is None or certificate.order_id != order.order_id:
            raise Problem("order-not-found", "no such certificate in this order")
        if is_expired(order.status, order.download_until, ctx.clock.now()) or (
                order.status != OrderStatus.ISSUED):
            raise Problem("download-expired", "the PDF is only available until the result "
                          "is reported or 10 minutes")
        pdf = await reading.order_pdf(certificate.certificate_id)
    if pdf is None:
        raise Problem("download-expired", "the PDF is no longer available")
    return web.Response(body=pdf, content_type="application/pdf", headers={
        "Content-Disposition":
            f'attachment; filename="{certificate.certificate_number}.pdf"',
        "Cache-Control": "no-store",
    })


@routes.post("/v1/orders/{order_id}/result")
async def report_result(request: web.Request) -> web.Response:
    ctx = context(request)
    body = await read_json(request, PRINT_RESULT)
    printed = set(body["printed"])
    failed = {f["certificate_id"]: f.get("reason", "") or "print failed"
              for f in body.get("failed", [])}
    now = ctx.clock.now()
    # The order, its certificates, the settlement, its incidents and the outcome
    # owed to the municipality in one transaction: a connection lost between them
    # cannot keep one alone. A result refused as malformed writes nothing.
    async with ctx.store.unit_of_work() as uow:
        order = await _own_order(ctx, request, uow)
        certificates = await uow.order_certificates(order.order_id)
        try:
            check_result([Copy(c.certificate_id, c.fee_yen) for c in certificates],
                         printed, failed)
        except ResultError as exc:
            raise invalid_request([{"field": exc.field, "message": str(exc)}]) from exc
        settled = await uow.settle_order(order.order_id, printed, failed, now,
                                         certificates=certificates)
        if settled is not None:
            await _settled(uow, request, order, failed, now, reconciliation.settled_states(
                [(c.certificate_id, c.certificate_number, c.fee_yen) for c in certificates],
                printed, failed))
        else:
            # Already settled (a retry after a lost answer) or voided after 10
            # minutes: the order as that settlement left it.
            order = await _own_order(ctx, request, uow)
    if settled is not None:
        reconciliation.deliver_soon(ctx.store, ctx.municipal.session, now, order.order_id)
    if settled is None:
        if order.status == OrderStatus.VOIDED:
            raise Problem("download-expired",
                          "the result came after 10 minutes; the order was voided and refunded",
                          charged_yen=0, refunded_yen=order.refunded_yen or 0)
        return json_response({"charged_yen": order.charged_yen or 0,
                              "refunded_yen": order.refunded_yen or 0})
    charged, refunded = settled
    ctx.metrics.settled(order.type, len(printed), len(failed))
    return json_response({"charged_yen": charged, "refunded_yen": refunded})


async def _settled(uow: CenterStore, request: web.Request, order: OrderRecord,
                   failed: dict[str, str], now: datetime,
                   states: list[tuple[str, str, str | None]]) -> None:
    """After the result: an incident per failed copy, the outcome owed to the
    municipality (``states``: the certificates as the settlement left them)."""
    for certificate_id, reason in sorted(failed.items()):
        await incidents.record_incident(
            uow, kind=incidents.IncidentKind.PRINT_FAILED,
            municipality_code=order.municipality_code, now=now, order_id=order.order_id,
            certificate_id=certificate_id, request_id=request[REQUEST_ID_KEY],
            terminal_id=order.terminal_id, detail_code=reason)
    await reconciliation.owe_settlement(uow, order.order_id, order.municipality_code, now,
                                        states=states)


@routes.delete("/v1/sessions/{session_id}")
async def end_session(request: web.Request) -> web.Response:
    """The card was removed from the reader."""
    ctx = context(request)
    session_id = request.match_info["session_id"]
    async with ctx.store.unit_of_work() as uow:
        record = await uow.session(session_id) if _plausible_key(session_id) else None
        if record is None or not _same_terminal(request, record):
            raise Problem("session-not-found", "no such session at this terminal")
        if not record.closed:
            await uow.close_session(session_id, ctx.clock.now())
    return web.Response(status=204)
