"""Jinja2 environment and page rendering: one layout, translated strings, role navigation."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from fangkong.core.access import ROLE_LABELS
from fangkong.core.context import current_locale
from fangkong.core.i18n import gettext, ngettext

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
SHELL_TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class NavItem:
    label: str  # msgid
    path: str
    roles: frozenset[str]


def local_time(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Return a timestamp in the city's local time (Asia/Shanghai), as staff read it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime(fmt)
    return value.strftime("%Y-%m-%d")


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
    )
    env.globals.update(_=gettext, ngettext=ngettext, role_labels=ROLE_LABELS, lang_url=lang_url)
    env.filters["local_time"] = local_time
    return env


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
        "nav": [n for n in app.state.nav if user is not None and user.role in n.roles],
        "path": request.url.path,
        "vendor": app.state.vendor_assets,
        **(context or {}),
    }
    tmpl = env.get_template(template)
    if request.headers.get("HX-Request") and "fragment" in tmpl.blocks:
        body = "".join(tmpl.blocks["fragment"](tmpl.new_context(ctx)))
    else:
        body = tmpl.render(ctx)
    return HTMLResponse(body, status_code=status)
