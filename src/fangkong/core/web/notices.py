"""The notification centre: the bell in the top bar (its count refreshes itself) and the list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.core import notify
from fangkong.core.web.templating import render
from fangkong.core.web.work import checked_form, work

router = APIRouter(include_in_schema=False)


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request) -> Response:
    with work(request) as w:
        items = notify.notices(w.session, w.user)
    return render(request, "notifications.html", {"items": items})


@router.get("/notifications/count", response_class=HTMLResponse)
def count(request: Request) -> Response:
    """The bell's number, polled by HTMX (every 30 s) so that news arrives without a reload."""
    with work(request) as w:
        unread = notify.unread_count(w.session, w.user)
    return render(request, "_bell.html", {"unread": unread})


@router.post("/notifications/read")
def read_all(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        notify.mark_read(w.session, w.user)
    return RedirectResponse("/notifications", status_code=303)
