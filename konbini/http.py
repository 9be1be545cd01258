"""aiohttp middlewares shared by the services: request ids, problem
documents, client-certificate roles, and a log filter that tags every log
line with the request id (never with personal data)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable

import orjson
from aiohttp import web

from .db import RETRY_AFTER_SECONDS as DATABASE_RETRY_AFTER_SECONDS
from .db import is_invalid_text
from .db import is_unavailable as is_database_unavailable
from .metrics import ServiceMetrics
from .problems import Problem, problem_response
from .tls import PeerIdentity, PeerRole, peer_identity
from .wire import REQUEST_ID_HEADER

log = logging.getLogger("konbini.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request_id", default="-")

REQUEST_ID_KEY = "request_id"
PEER_KEY = "peer"

_STATUS_CODES = {
    400: "invalid-request",
    401: "not-authenticated",
    403: "client-not-allowed",
    404: "not-found",
    405: "method-not-allowed",
    413: "request-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
}


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record so a formatter can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


def configure_logging(service: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s {service} %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def new_request_id() -> str:
    return uuid.uuid4().hex


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Take the caller's ``X-Request-Id`` (or make one) and echo it on the response."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _REQUEST_ID.match(given) else new_request_id()
    request[REQUEST_ID_KEY] = request_id
    token = current_request_id.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        current_request_id.reset(token)
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


access_log = logging.getLogger("konbini.access")


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One line per request: method, route, status, time. Routes, not query
    strings or bodies, so no personal data reaches the log."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if access_log.isEnabledFor(logging.INFO):
            _log_access(request, status, started)


def _log_access(request: web.Request, status: int, started: float) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "-"
    access_log.info("%s %s %d %.1fms", request.method, route, status,
                    (time.perf_counter() - started) * 1000)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as ``application/problem+json``; a defect as a
    logged 500 ``internal-error`` rather than aiohttp's HTML page."""
    try:
        return await handler(request)
    except Exception as exc:
        return _as_problem(request, exc)


def _as_problem(request: web.Request, exc: Exception) -> web.Response:
    """The problem document for what a handler raised (called in its ``except``);
    an HTTP exception below 400 (a redirect) goes on as it is."""
    if isinstance(exc, Problem):
        return problem_response(exc)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        code = _STATUS_CODES.get(exc.status, "invalid-request")
        detail = exc.reason or ""
        if exc.status == 413:
            detail = "request body too large (limit 1 MiB)"
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return problem_response(Problem(code, detail, status=exc.status), headers)
    if is_database_unavailable(exc):
        # PostgreSQL restarting, the network to it down, the pool exhausted: a
        # clear 503 the client may retry, never a 500 (the pool reconnects by itself).
        log.warning("database unavailable on %s %s: %s", request.method,
                    request.rel_url.path, type(exc).__name__)
        return problem_response(
            Problem("database-unavailable", "the database cannot be reached; try again",
                    retry_after_seconds=DATABASE_RETRY_AFTER_SECONDS),
            {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
    if is_invalid_text(exc):  # PostgreSQL holds no NUL character: nothing was written
        return problem_response(Problem("invalid-request", "text with a NUL character",
                                        errors=[{"field": "", "message":
                                                 "a NUL character is not allowed"}]))
    log.exception("unhandled error on %s %s", request.method, request.rel_url.path)
    return problem_response(Problem("internal-error", "internal error"))


def service_middleware(metrics: ServiceMetrics | None = None, listener: str = "") -> Callable:
    """``request_id_middleware``, ``access_log_middleware``, ``metrics.middleware(listener)``
    and ``problem_middleware``, in that order, as one middleware: the same headers, log
    line, metrics and problem documents, with one layer of aiohttp's middleware chain
    instead of four (each layer is a coroutine, a ``partial`` and a ``try``)."""
    recorder = metrics.recorder(listener) if metrics is not None else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.match(given) else new_request_id()
        request[REQUEST_ID_KEY] = request_id
        token = current_request_id.set(request_id)
        status = 500
        try:
            try:
                response = await handler(request)
            except Exception as exc:
                response = _as_problem(request, exc)
            status = response.status
            if recorder is not None:
                await recorder.count(request, response)
            response.headers[REQUEST_ID_HEADER] = request_id
            return response
        except web.HTTPException as exc:  # a redirect
            status = exc.status
            exc.headers[REQUEST_ID_HEADER] = request_id
            raise
        finally:
            if recorder is not None:
                recorder.observe(request, status, time.perf_counter() - started)
            if access_log.isEnabledFor(logging.INFO):
                _log_access(request, status, started)
            current_request_id.reset(token)

    return middleware


def client_role_middleware(rules: Iterable[tuple[str, frozenset[PeerRole]]]) -> Callable:
    """Allow each path prefix only to peers of the given roles.

    The first matching prefix decides; a path with no rule needs any verified
    client certificate (the TLS layer already refused callers without one)."""
    ordered = sorted(rules, key=lambda rule: len(rule[0]), reverse=True)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = peer_identity(request)
        if peer is None:
            raise Problem("client-not-allowed", "a client certificate is required")
        request[PEER_KEY] = peer
        path = request.rel_url.path
        for prefix, roles in ordered:
            if path.startswith(prefix):
                if peer.role not in roles:
                    raise Problem("client-not-allowed",
                                  f"a {peer.role.value} certificate may not use this API")
                break
        return await handler(request)

    return middleware


def peer(request: web.Request) -> PeerIdentity:
    return request[PEER_KEY]


def json_bytes(data: object) -> bytes:
    """``data`` as compact UTF-8 JSON. orjson writes it in C: the municipal certificates
    answer (a PDF as base64, ~200 KB) takes ~10 µs instead of json's ~450 µs. What orjson
    refuses (a key that is not a string, an integer beyond 64 bits, a lone surrogate,
    nesting past 255) goes through json as it always did, with the same result or error."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data, ensure_ascii=False).encode()


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json_bytes(data),
                        content_type="application/json", charset="utf-8")
