"""Request middleware: request id, language, CSRF cookie, security headers.

A plain ASGI middleware (not Starlette's BaseHTTPMiddleware, which costs a task and a stream copy per
request on the busiest endpoints).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fangkong.core.context import current_locale
from fangkong.core.i18n import is_locale, negotiate
from fangkong.core.web import fastpath
from fangkong.core.web.work import CSRF_COOKIE, SESSION_COOKIE, session_csrf

LANG_COOKIE = "fk_lang"

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": "geolocation=(), microphone=(), camera=(self)",
    "cross-origin-opener-policy": "same-origin",
}
DOCS_CSP = (  # the OpenAPI viewer's page starts it with an inline script
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)
# Every response is `no-store` unless its path is a static asset or listed here as public and cacheable:
# a new page is private by default, so no list of private prefixes can be forgotten (issue 14).
CACHEABLE_PREFIXES = ("/static/",)
CACHEABLE_PATHS = frozenset({"/favicon.ico"})


def is_cacheable(path: str) -> bool:
    """Return whether a response for `path` may be kept by browsers and proxies."""
    return path.startswith(CACHEABLE_PREFIXES) or path in CACHEABLE_PATHS


def choose_locale(request: Request, default: str) -> str:
    asked = request.query_params.get("lang")
    if is_locale(asked):
        return str(asked)
    cookie = request.cookies.get(LANG_COOKIE)
    if is_locale(cookie):
        return str(cookie)
    if request.url.path.startswith("/api/"):
        return negotiate(request.headers.get("accept-language"), default)
    return default


def _cookie(name: str, value: str, secure: bool, samesite: str, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", f"SameSite={samesite}"]
    if name != LANG_COOKIE:
        parts.append("HttpOnly")
    if max_age:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class ShellMiddleware:
    """What every response gets (security headers, request id, language, the CSRF cookie, no-store), and
    the fast routes served here, after it is set up and before the rest of the stack."""

    def __init__(self, app: ASGIApp, settings: Any, fast_routes: list[fastpath.FastRoute] | None = None) -> None:
        self.app, self.settings, self.fast_routes = app, settings, list(fast_routes or ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        fast = fastpath.match(self.fast_routes, scope)
        state = scope.setdefault("state", {})
        request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        csrf = request.cookies.get(CSRF_COOKIE)
        session_token = request.cookies.get(SESSION_COOKIE)
        token = session_csrf(self.settings.secret_key, session_token) if session_token else None
        state.update(request_id=request_id, csrf_token=token or csrf or secrets.token_urlsafe(32))
        # none yet, or a login session began: bind it to the session (the public fast routes set none)
        renew = csrf != state["csrf_token"] and fast is None
        locale = choose_locale(request, self.settings.default_locale)
        asked_lang = request.query_params.get("lang")
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = DOCS_CSP if path == "/api/docs" and name == "content-security-policy" else value
                headers["x-request-id"] = request_id
                if renew and not any(v.startswith(f"{CSRF_COOKIE}=") for k, v in headers.items() if k == "set-cookie"):
                    headers.append("set-cookie", _cookie(CSRF_COOKIE, state["csrf_token"], self.settings.secure_cookies,
                                                         "strict"))
                if asked_lang and is_locale(asked_lang):
                    headers.append("set-cookie", _cookie(LANG_COOKIE, locale, self.settings.secure_cookies, "lax",
                                                         365 * 86400))
                if not is_cacheable(path) and "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        locale_token = current_locale.set(locale)
        try:
            if fast is None or not await fastpath.serve(*fast, scope, receive, send_with_headers):
                await self.app(scope, receive, send_with_headers)
        finally:
            current_locale.reset(locale_token)


def install(app: FastAPI, fast_routes: list[fastpath.FastRoute] | None = None) -> None:
    app.add_middleware(ShellMiddleware, settings=app.state.settings, fast_routes=fast_routes)
