"""The guard of every form the public sends without an account (registration, passes): its size before
it is read, a per-IP rate limit, the CSRF token, and a honeypot field a person never fills."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from fangkong.core.errors import DomainError
from fangkong.core.i18n import N_
from fangkong.core.ratelimit import check_rate
from fangkong.core.web.work import checked_form

REFUSED = N_("The form could not be accepted.")
HONEYPOT = "website"  # a field hidden from people; a bot that fills it is refused


def refused() -> DomainError:
    return DomainError(REFUSED)


def public_form(kind: str, max_bytes: int, too_large: Callable[[], DomainError],
                without_length: Callable[[], DomainError] | None = None, factor: int = 1) -> Any:
    """Route dependency: a body without a Content-Length (`without_length`, default `too_large`) or larger
    than `max_bytes` (`too_large`) is refused unread; then the rate limit (`factor` times the setting, for
    forms many send from one network), the CSRF token and the honeypot."""

    async def dependency(request: Request) -> FormData:
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            raise (without_length or too_large)()
        if int(length) > max_bytes:
            raise too_large()
        check_rate(request, kind, factor)
        form = await checked_form(request)
        if str(form.get(HONEYPOT, "")).strip():
            raise DomainError(REFUSED)
        return form

    return Depends(dependency)
