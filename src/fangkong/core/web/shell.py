"""The shell's pages: login, logout, the role's home page, health check."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from starlette.datastructures import FormData

from fangkong.core.access import PERSON_READ, can
from fangkong.core.auth import attempt_login, close_session, open_session
from fangkong.core.context import acting_as
from fangkong.core.errors import DomainError
from fangkong.core.models import User
from fangkong.core.ratelimit import login_throttle
from fangkong.core.web.templating import render
from fangkong.core.web.work import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    actor_for,
    checked_form,
    client_ip,
    public_work,
    session_csrf,
    work,
)

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    with request.app.state.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", {"next": _safe_next(next), "username": ""})


@router.post("/login")
def login(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    settings = request.app.state.settings
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))
    with public_work(request) as session:
        attempt = attempt_login(session, settings, username, password, login_throttle(request),
                                client_ip(request) or "-")
        if attempt.user is not None:
            with acting_as(actor_for(request, attempt.user)):
                login_ = open_session(session, settings, attempt.user, client_ip(request))
    if attempt.error is not None:
        err = attempt.error
        status = err.status if isinstance(err, DomainError) else 401
        response: Response = render(request, "login.html", {"next": target, "username": username, "error": err},
                                    status)
        if getattr(err, "retry_after", None):
            response.headers["Retry-After"] = str(err.retry_after)  # type: ignore[attr-defined]
        return response
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, login_.token, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, max_age=settings.session_max_hours * 3600)
    response.set_cookie(CSRF_COOKIE, session_csrf(settings.secret_key, login_.token), httponly=True,
                        samesite="strict", secure=settings.secure_cookies)  # bound to the new session
    return response


def _safe_next(target: str) -> str:
    """Only follow local paths after login (no open redirect)."""
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.post("/logout")
def logout(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with public_work(request) as session:
            close_session(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    with work(request) as w:
        context = home_context(request, w.session, w.user)
    return render(request, "home.html", context)


def home_context(request: Request, session: Any, user: User) -> dict[str, Any]:
    """Return the role's home: each capability contributes the tiles of the work waiting for this user."""
    tiles = request.app.state.platform.tiles(session, user, request.app.state.settings)
    return {"role": user.role, "tiles": tiles, "search": can(user, PERSON_READ)}
