"""Tracing pages for command and health: the cases traced, and one case's trace with its contacts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from fangkong.core.access import TRACE_RUN, require, restrict
from fangkong.core.clock import event_time
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.web.params import Id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import checked_form, work
from fangkong.people.models import Person
from fangkong.tracing import cases
from fangkong.tracing.models import TraceCase
from fangkong.tracing.sync import platform_key

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Tracing"), "/tracing", frozenset({"command", "health"}))]
BAD_TIME = N_("Use the form YYYY-MM-DD HH:MM.")
KIND_LABELS = {"venue": N_("Venue"), "checkpoint": N_("Checkpoint"), "vehicle": N_("Vehicle"),
               "household": N_("Residence"), "grid": N_("Grid cell"), "interview": N_("Interview")}


def parse_local(name: str, value: str) -> datetime | None:
    """Return an aware datetime from a datetime-local field (local time), or None when empty."""
    text = value.strip().replace("T", " ")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.one(name, BAD_TIME) from None
    return event_time(name, moment)  # core.clock: naive is local time; within the outbreak


def presence_of(request: Request) -> cases.Presence:
    return request.app.state.presence


@router.get("/tracing", response_class=HTMLResponse)
def cases_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, TRACE_RUN)
        rows = w.session.execute(restrict(select(TraceCase, Person).join(Person, Person.id == TraceCase.person_id),
                                          w.user, Person.unit_id)
                                 .order_by(TraceCase.traced_at.desc()).limit(100)).all()
        listed = [{"case": c, "name": p.name, "unit": p.unit.name, "contacts": len(c.exposures),
                   "open": sum(1 for e in c.exposures if e.lead_id is None and e.struck_at is None)} for c, p in rows]
    return render(request, "tracing/cases.html", {"cases": listed})


def _graph(view: cases.CaseView) -> str:
    """Return the contact chain as ECharts graph data: the case, its close and its secondary contacts."""
    index = platform_key(view.person.id)
    nodes = [{"id": index, "name": view.person.name, "category": 0}]
    links = []
    for c in view.close:
        nodes.append({"id": c.exposure.contact_key, "name": c.name, "category": 1})
        links.append({"source": index, "target": c.exposure.contact_key})
    for c in view.secondary:
        nodes.append({"id": c.exposure.contact_key, "name": c.name, "category": 2})
        links.extend({"source": v, "target": c.exposure.contact_key} for v in c.via)
    return json.dumps({"nodes": nodes, "links": links}, ensure_ascii=False).replace("</", "<\\/")


def _by_place(view: cases.CaseView) -> list[tuple[str, str, list[tuple[cases.ContactView, dict[str, object]]]]]:
    """Return the close contacts grouped by the place of each exposure, places in time order."""
    groups: dict[str, tuple[str, list[tuple[cases.ContactView, dict[str, object]]]]] = {}
    for contact in view.close:
        for e in contact.evidence or [{"place": "—", "kind": "interview", "start": 0, "end": 0}]:
            groups.setdefault(str(e["place"]), (str(e.get("kind", "")), []))[1].append((contact, e))
    ordered = sorted(groups.items(), key=lambda kv: min(int(e["start"]) for _c, e in kv[1][1]))  # type: ignore[call-overload]
    return [(place, kind, rows) for place, (kind, rows) in ordered]


def _page(request: Request, person_id: int, errors: list[object] = (), values: dict[str, str] | None = None,
          status: int = 200, notice: str = "") -> HTMLResponse:
    with work(request) as w:
        view = cases.case_view(w.session, w.user, person_id, presence_of(request))
        ctx = {"view": view, "by_place": _by_place(view), "graph": _graph(view), "errors": list(errors),
               "values": values or {}, "notice": notice, "kind_labels": KIND_LABELS}
    return render(request, "tracing/case.html", ctx, status)


@router.get("/tracing/cases/{person_id}", response_class=HTMLResponse)
def case_page(request: Request, person_id: Id, done: str = "") -> HTMLResponse:
    return _page(request, person_id, notice=done[:80])


@router.post("/tracing/cases/{person_id}/trace", response_class=HTMLResponse)
def trace_page(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    values = {k: str(form.get(k, "")) for k in ("onset", "isolated", "hops")}
    try:
        with work(request) as w:
            onset = parse_local("onset", values["onset"])
            if onset is None:
                raise ValidationFailed.one("onset", N_("This field is required."))
            cases.run_trace(w.session, w.user, person_id, onset, parse_local("isolated", values["isolated"]),
                            presence_of(request), request.app.state.settings.protocol_profile,
                            2 if values["hops"] != "1" else 1)
    except ValidationFailed as exc:
        return _page(request, person_id, exc.errors, values, 422)
    return RedirectResponse(f"/tracing/cases/{person_id}?done=traced", status_code=303)


@router.post("/tracing/cases/{person_id}/contacts", response_class=HTMLResponse)
def add_contact_page(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    values = {k: str(form.get(k, "")) for k in ("contact", "reason", "place", "start")}
    try:
        with work(request) as w:
            contact = cases.find_contact(w.session, values["contact"])
            cases.add_contact(w.session, w.user, person_id, contact, values["reason"], values["place"],
                              parse_local("start", values["start"]))
    except ValidationFailed as exc:
        return _page(request, person_id, exc.errors, values, 422)
    return RedirectResponse(f"/tracing/cases/{person_id}?done=added", status_code=303)


@router.post("/tracing/exposures/{exposure_id}/strike", response_class=HTMLResponse)
def strike_page(request: Request, exposure_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    reason = str(form.get("reason", ""))
    with work(request) as w:
        person_id = cases.exposure_case_person(w.session, w.user, exposure_id)
    try:
        with work(request) as w:
            cases.strike_contact(w.session, w.user, exposure_id, reason)
    except ValidationFailed as exc:
        return _page(request, person_id, exc.errors, {"strike": str(exposure_id)}, 422)
    return RedirectResponse(f"/tracing/cases/{person_id}?done=struck", status_code=303)


@router.post("/tracing/cases/{person_id}/dispatch", response_class=HTMLResponse)
def dispatch_page(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        result = cases.dispatch_contacts(w.session, w.user, person_id, request.app.state.settings.protocol_profile)
    return RedirectResponse(f"/tracing/cases/{person_id}?done=dispatched-{result.dispatched}-{result.skipped}",
                            status_code=303)
