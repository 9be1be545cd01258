"""The operator's credential for the console (運用コンソール).

A token the center writes on first start to ``var/center/operator-token``
(mode 0600). A script sends it as ``Authorization: Bearer <token>``; a
person types it once into the login form, which sets an HttpOnly cookie.
The cookie holds an HMAC of the token, not the token, and no session is
kept anywhere: every worker checks it the same way, and a new token (delete
the file and restart) logs everyone out."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from aiohttp import web

from konbini.files import directory_lock, write_private_file
from konbini.problems import Problem

COOKIE = "konbini_operator"
# Pages anyone may load: the login form and its stylesheet.
OPEN_PATHS = frozenset({"/login", "/static/console.css"})


def load_or_create_token(path: Path) -> str:
    """The operator's token, made once even if several workers start together."""
    with directory_lock(path.parent):
        if path.exists():
            return path.read_text(encoding="ascii").strip()
        token = secrets.token_urlsafe(32)
        write_private_file(path, token.encode("ascii"))
        return token


def cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"konbini operator console cookie v1",
                    hashlib.sha256).hexdigest()


def token_matches(token: str, supplied: str) -> bool:
    return hmac.compare_digest(token.encode(), supplied.encode())


OPERATOR_TOKEN = web.AppKey("operator_token", str)


def is_operator(request: web.Request) -> bool:
    token = request.app[OPERATOR_TOKEN]
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return token_matches(token, header.removeprefix("Bearer ").strip())
    cookie = request.cookies.get(COOKIE, "")
    return hmac.compare_digest(cookie_value(token).encode(), cookie.encode())


@web.middleware
async def operator_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Only the operator past the login form: a browser asking for a page is
    sent there, anything else gets ``401 unauthorized``."""
    if request.path in OPEN_PATHS or is_operator(request):
        return await handler(request)
    if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
        raise web.HTTPSeeOther("/login")
    raise Problem("unauthorized", "the operator's token is missing or wrong")


def set_login_cookie(response: web.StreamResponse, token: str) -> None:
    # No Secure flag: the console listens on loopback over plain HTTP; behind a
    # TLS proxy, the proxy adds it. SameSite=Strict keeps other sites' forms out.
    response.set_cookie(COOKIE, cookie_value(token), httponly=True, samesite="Strict",
                        path="/", max_age=12 * 3600)


def clear_login_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
