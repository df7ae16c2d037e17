"""Audit log pages for the auditor: filter the log, verify the hash chain."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fangkong.core.access import AUDIT_READ, require
from fangkong.core.audit import AuditFilter, search_entries, verify_chain
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.web.params import PageNo
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import work

router = APIRouter(prefix="/audit", include_in_schema=False)
NAV = [NavItem(N_("Audit log"), "/audit", frozenset({"auditor"}))]
BAD_DATE = N_("Use the form YYYY-MM-DD.")


def parse_day(name: str, value: str, end: bool = False) -> datetime | None:
    """Return the start (or the end) of a local calendar day given as YYYY-MM-DD."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.one(name, BAD_DATE) from None
    start = datetime.combine(day, time.min, LOCAL_TZ)
    return start + timedelta(days=1) if end else start


@router.get("", response_class=HTMLResponse)
def audit_page(request: Request, username: str = "", action: str = "", object_type: str = "", object_id: str = "",
               since: str = "", until: str = "", page: PageNo = 1) -> HTMLResponse:
    flt = AuditFilter(username, action, object_type, object_id,
                      parse_day("since", since), parse_day("until", until, end=True))
    with work(request) as w:
        result = search_entries(w.session, w.user, flt, page, request.app.state.settings.page_size)
    query = {"username": username, "action": action, "object_type": object_type, "object_id": object_id,
             "since": since, "until": until}
    return render(request, "audit/log.html", {"result": result, "q": query, "base": "/audit?" + urlencode(query)})


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, AUDIT_READ)
        report = verify_chain(w.session)
    return render(request, "audit/verify.html", {"report": report})
