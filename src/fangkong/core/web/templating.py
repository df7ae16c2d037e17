"""Jinja2 environment and page rendering: one layout, translated strings, role navigation."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from fangkong.core.access import ROLE_LABELS
from fangkong.core.clock import local_time
from fangkong.core.codes import area_name, mask_id_number, mask_phone
from fangkong.core.context import current_locale
from fangkong.core.i18n import gettext, ngettext

SHELL_TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class NavItem:
    label: str  # msgid
    path: str
    roles: frozenset[str]


def epoch_time(epoch: int, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Return epoch seconds (tracing's times) in local time as staff read them."""
    return local_time(datetime.fromtimestamp(int(epoch), UTC), fmt)


def countdown(due: datetime, now: datetime) -> str:
    """Return the time left until `due` (or how long it is overdue), in words of the current locale."""
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    text = gettext("{h} h {m} min", h=minutes // 60, m=minutes % 60) if minutes >= 60 else gettext(
        "{m} min", m=minutes)
    return gettext("{t} left", t=text) if seconds >= 0 else gettext("overdue by {t}", t=text)


def lang_url(request: Request, locale: str) -> str:
    """Return this page's URL in another language (a POST result falls back to the home page)."""
    if request.method != "GET":
        return f"/?lang={locale}"
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    return f"{request.url.path}?{urlencode({**params, 'lang': locale})}"


@functools.cache
def environment(template_dirs: tuple[Path, ...]) -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in (SHELL_TEMPLATES, *template_dirs)]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code: no stat() per render (the check-in hot path)
    )
    env.globals.update(_=gettext, ngettext=ngettext, role_labels=ROLE_LABELS, lang_url=lang_url, countdown=countdown,
                       mask_id=mask_id_number, mask_phone=mask_phone, area_name=area_name, inf=math.inf,
                       may=may)
    env.filters["local_time"] = local_time
    env.filters["epoch_time"] = epoch_time
    return env


def may(user: Any, action: str) -> bool:
    """Whether the viewer's role may do `action` (pages hide what it may not; the use case still checks)."""
    from fangkong.core.access import PERMISSIONS

    return user is not None and action in PERMISSIONS.get(getattr(user, "role", ""), frozenset())


# The few pages each role opens most, for the thumb bar on phones (paths, so core names no capability).
THUMB_PATHS: dict[str, tuple[str, ...]] = {
    "station": ("/leads", "/followups", "/command/report"), "district": ("/command", "/leads", "/command/report"),
    "command": ("/command", "/leads", "/tracing"), "checkpoint": ("/checkpoints", "/referrals"),
    "health": ("/referrals", "/followups", "/tracing"), "community": ("/followups", "/leads", "/venues"),
}


def thumb_items(nav: list[NavItem], role: str | None) -> list[NavItem]:
    """Return the role's most used pages among its nav (at most three), else its first three."""
    by_path = {item.path: item for item in nav}
    chosen = [by_path[p] for p in THUMB_PATHS.get(role or "", ()) if p in by_path]
    return (chosen or nav)[:3]


def _unread(request: Request, user: Any) -> int:
    """Return the viewer's unread notifications for the bell (0 for the public)."""
    if user is None or getattr(user, "id", None) is None:
        return 0
    from fangkong.core.notify import unread_count

    session = getattr(request.state, "work_session", None)
    if session is not None:
        return unread_count(session, user)
    with request.app.state.db.sessions() as fresh:
        return unread_count(fresh, user)


def render(request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    """Render a page (or, for an HTMX request, the same template's fragment if it defines one)."""
    app = request.app
    env = environment(app.state.template_dirs)
    user = getattr(request.state, "user", None)
    ctx = {
        "request": request,
        "user": user,
        "locale": current_locale.get(),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": (nav := [n for n in app.state.nav if user is not None and user.role in n.roles]),
        "thumbs": thumb_items(nav, getattr(user, "role", None)),
        "path": request.url.path,
        "vendor": app.state.vendor_assets,
        "unread": _unread(request, user),
        "field": user is not None and user.role in getattr(app.state, "offline_roles", ()),
        "field_lookups": list(getattr(app.state, "lookups", {})),
        "field_lookup_names": {path: gettext(label) for path, label in getattr(app.state, "lookups", {}).items()},
        **(context or {}),
    }
    tmpl = env.get_template(template)
    if request.headers.get("HX-Request") and "fragment" in tmpl.blocks:
        body = "".join(tmpl.blocks["fragment"](tmpl.new_context(ctx)))
    else:
        body = tmpl.render(ctx)
    return HTMLResponse(body, status_code=status)
