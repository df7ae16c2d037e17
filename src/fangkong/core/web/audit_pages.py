"""Audit log pages for the auditor: filter the log, verify the hash chain."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fangkong.core.access import AUDIT_READ, require
from fangkong.core.audit import AuditFilter, search_entries
from fangkong.core.audit_anchor import verify_anchored
from fangkong.core.clock import parse_day
from fangkong.core.i18n import N_
from fangkong.core.web.params import PageNo
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import work

router = APIRouter(prefix="/audit", include_in_schema=False)
NAV = [NavItem(N_("Audit log"), "/audit", frozenset({"auditor"}))]


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
        report = verify_anchored(w.session, request.app.state.settings)
    return render(request, "audit/verify.html", {"report": report})
