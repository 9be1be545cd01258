"""Problem documents (RFC 9457) with the stable ``code`` member of API.md.

Handlers raise :class:`Problem`; the middleware in :mod:`konbini.http` turns
it, and every other failure, into ``application/problem+json``. The kiosk
decides what to show from ``code``, never from ``detail``.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

PROBLEM_CONTENT_TYPE = "application/problem+json"

# code -> HTTP status, exactly the table of API.md plus the additions marked below.
PROBLEM_STATUS: dict[str, int] = {
    "invalid-request": 422,
    "service-closed": 503,
    "session-not-found": 404,
    "session-expired": 410,
    "challenge-expired": 410,
    "already-authenticated": 409,
    "not-authenticated": 401,
    "signature-invalid": 401,
    "certificate-untrusted": 401,
    "card-expired": 403,
    "card-suspended": 403,
    "card-revoked": 403,
    "card-face-auth": 403,
    "credential-not-supported": 403,
    "municipality-not-participating": 403,
    "municipality-unavailable": 503,
    "resident-ineligible": 403,
    "type-unavailable": 409,
    "member-not-in-household": 403,
    "fee-mismatch": 409,
    "order-not-found": 404,
    "download-expired": 410,
    "rate-limited": 429,
    "upstream-timeout": 504,
    # Additions to API.md (documented in the OpenAPI document):
    "not-found": 404,  # no such route or resource outside the codes above
    "method-not-allowed": 405,
    "request-too-large": 413,  # body over 1 MiB
    "unsupported-media-type": 415,  # body that is not JSON where JSON is required
    "client-not-allowed": 403,  # client certificate of the wrong kind for this API
    "municipality-mismatch": 403,  # path code differs from the client certificate's CN
    "resident-not-found": 404,  # municipal server: unknown resident code
    "conflict": 409,  # a state change that contradicts the current state
    "upstream-error": 502,  # the municipal server answered with something unusable
    "internal-error": 500,  # a defect: never expected, always logged
    "unauthorized": 401,  # the clerk's admin API: missing or wrong token
    "image-too-large": 413,  # inquiry upload: more pixels than a 600 dpi A4 scan
    "not-ready": 503,  # GET /readyz: a worker that cannot serve now (database, keys)
    # The terminal registry (center/terminals.py): who is at the other end.
    "terminal-not-enrolled": 403,  # a kiosk certificate the center has not enrolled
    "terminal-suspended": 403,  # its enrolment is suspended (may be reinstated)
    "terminal-revoked": 403,  # its enrolment is revoked (final)
    "chain-mismatch": 403,  # a chain may only manage its own terminals
    # The service's own database cannot be reached now (PostgreSQL restarting):
    # ``retry_after_seconds`` and a Retry-After header say when to try again.
    "database-unavailable": 503,
}


class Problem(Exception):
    """An error the client is meant to act on."""

    def __init__(self, code: str, detail: str = "", *, status: int | None = None,
                 **extra: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.status = status if status is not None else PROBLEM_STATUS[code]
        self.detail = detail
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return body


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=problem.status,
        body=json.dumps(problem.to_dict(), ensure_ascii=False).encode("utf-8"),
        content_type=PROBLEM_CONTENT_TYPE,
        charset="utf-8",
        headers=headers,
    )


def invalid_request(errors: list[dict[str, str]], detail: str = "") -> Problem:
    """422 ``invalid-request`` with the ``errors`` list of ``{field, message}``."""
    return Problem("invalid-request", detail or "; ".join(
        f"{e['field']}: {e['message']}" for e in errors), errors=errors)
