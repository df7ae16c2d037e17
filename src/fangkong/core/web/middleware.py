"""Request middleware: request id, language, CSRF cookie, security headers."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from fangkong.core.context import current_locale
from fangkong.core.i18n import is_locale, negotiate
from fangkong.core.web.work import CSRF_COOKIE

LANG_COOKIE = "fk_lang"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(), microphone=(), camera=(self)",
    "Cross-Origin-Opener-Policy": "same-origin",
}
DOCS_CSP = (  # the OpenAPI viewer's page starts it with an inline script
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


def choose_locale(request: Request, default: str) -> str:
    asked = request.query_params.get("lang")
    if is_locale(asked):
        return str(asked)
    cookie = request.cookies.get(LANG_COOKIE)
    if is_locale(cookie):
        return str(cookie)
    return negotiate(request.headers.get("accept-language"), default) if request.url.path.startswith("/api/") \
        else default


def install(app: FastAPI) -> None:
    settings = app.state.settings

    @app.middleware("http")
    async def _shell(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        locale = choose_locale(request, settings.default_locale)
        token = current_locale.set(locale)
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf_token = csrf
        try:
            response = await call_next(request)
        finally:
            current_locale.reset(token)
        docs = request.url.path == "/api/docs"
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, DOCS_CSP if docs and name == "Content-Security-Policy" else value)
        response.headers["X-Request-ID"] = request.state.request_id
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=settings.secure_cookies)
        if request.query_params.get("lang") and is_locale(request.query_params.get("lang")):
            response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax",
                                secure=settings.secure_cookies)
        if request.url.path.startswith(("/api/", "/people", "/audit", "/admin")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
