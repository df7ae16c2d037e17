"""Tracing pages for command and health: the cases traced, and one case's trace with its contacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from fangkong.core.access import TRACE_RUN, require, restrict
from fangkong.core.clock import event_time
from fangkong.core.db import utcnow
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.web.params import MAX_ID, Id, PageNo
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import actor_for, checked_form, client_ip, work
from fangkong.leads.workflow import STATUS_LABELS
from fangkong.people.models import Person
from fangkong.tracing import casedata, cases, contacts, dispatch, graph, report
from fangkong.tracing.contacts import KIND_LABELS, Filters
from fangkong.tracing.models import Exposure, TraceCase
from fangkong.tracing.sync import platform_key

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Tracing"), "/tracing", frozenset({"command", "health"}))]
BAD_TIME = N_("Use the form YYYY-MM-DD HH:MM.")


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
        counts = _counts(w.session, [c.id for c, _p in rows])
        listed = [{"case": c, "name": p.name, "unit": p.unit.name, "contacts": counts.get(c.id, (0, 0))[0],
                   "open": counts.get(c.id, (0, 0))[1]} for c, p in rows]
    return render(request, "tracing/cases.html", {"cases": listed})


def _counts(session: Session, case_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Return case id → (contacts, not yet dispatched) in one query (a case may have thousands)."""
    if not case_ids:
        return {}
    waiting = sql_case((Exposure.lead_id.is_(None) & Exposure.struck_at.is_(None), 1), else_=0)
    rows = session.execute(select(Exposure.case_id, func.count(Exposure.id), func.sum(waiting))
                           .where(Exposure.case_id.in_(case_ids)).group_by(Exposure.case_id)).all()
    return {case_id: (total, int(open_ or 0)) for case_id, total, open_ in rows}


def _filters(unit: str, place: str) -> Filters:
    """Return the page's filters from its query (a value that is not one is no filter)."""
    unit = unit.strip()
    return Filters(int(unit) if unit.isdigit() and 0 < int(unit) <= MAX_ID else None, place.strip()[:200])


def _detail(filters: Filters) -> dict[str, object]:
    """What the audit row says of the filters (nothing when there are none)."""
    return {k: v for k, v in (("unit", filters.unit), ("place", filters.place)) if v}


def _page(request: Request, person_id: int, errors: Sequence[object] = (), values: dict[str, str] | None = None,
          status: int = 200, notice: str = "", filters: Filters = Filters(), page: int = 1,
          spage: int = 1) -> HTMLResponse:
    with work(request) as w:
        data = casedata.case_data(w.session, w.user, person_id, presence_of(request),
                                  action="trace_view", **_detail(filters))
        lists = contacts.contact_lists(data.view, data.unit_of, data.units, filters, page, spage)
        run = dispatch.open_run(w.session, data.view.case.id) if data.view.case else None
        ctx = {"view": data.view, "data": data, "lists": lists, "errors": list(errors), "values": values or {},
               "notice": notice, "kind_labels": KIND_LABELS, "lead_labels": STATUS_LABELS, "span": contacts.span_text,
               "run": dispatch.run_view(run, person_id) if run else None, "stages": report.STAGES,
               "states": report.STATES, "now": utcnow(), "deadlines": report.case_deadlines(w.session, data.view.person,
                                                                            data.view.case) if data.view.case else [],
               "graph_url": f"/tracing/cases/{person_id}/graph.json?{filters.query()}"}
    return render(request, "tracing/case.html", ctx, status)


@router.get("/tracing/cases/{person_id}", response_class=HTMLResponse)
def case_page(request: Request, person_id: Id, done: str = "", unit: str = "", place: str = "", page: PageNo = 1,
              spage: PageNo = 1) -> HTMLResponse:
    return _page(request, person_id, notice=done[:80], filters=_filters(unit, place), page=page, spage=spage)


@router.get("/tracing/cases/{person_id}/graph.json")
def graph_json(request: Request, person_id: Id, unit: str = "", place: str = "") -> JSONResponse:
    """The contact chain as positioned graph data (the page fetches it: at 10,000 nodes it is big)."""
    filters = _filters(unit, place)
    with work(request) as w:
        data = casedata.case_data(w.session, w.user, person_id, presence_of(request), "trace_graph",
                                  **_detail(filters))
        close, secondary = contacts.filtered(data.view, data.unit_of, data.units, filters)
        close = contacts.in_place_order(close, data.view.trajectory, filters.place)
        body = graph.graph_data((platform_key(data.view.person.id), data.view.person.name), close, secondary,
                                data.view.names)
    return JSONResponse(body)


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


def _back(form: FormData) -> Filters:
    """Return the filters a form was posted under (kept in the URL it goes back to)."""
    return _filters(str(form.get("unit", "")), str(form.get("place", "")))


@router.post("/tracing/exposures/{exposure_id}/strike", response_class=HTMLResponse)
def strike_page(request: Request, exposure_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    reason, filters = str(form.get("reason", "")), _back(form)
    with work(request) as w:
        person_id = cases.exposure_case_person(w.session, w.user, exposure_id)
    try:
        with work(request) as w:
            cases.strike_contact(w.session, w.user, exposure_id, reason)
    except ValidationFailed as exc:
        return _page(request, person_id, exc.errors, {"strike": str(exposure_id)}, 422, filters=filters)
    return RedirectResponse(f"/tracing/cases/{person_id}?{filters.query(done='struck')}", status_code=303)


@router.get("/tracing/cases/{person_id}/dispatch", response_class=HTMLResponse)
def confirm_page(request: Request, person_id: Id) -> Response:
    """The confirmation: how many urgent leads go to which unit (the dispatch's own placement)."""
    with work(request) as w:
        plan = dispatch.plan_dispatch(w.session, w.user, person_id)
        person = cases.get_case(w.session, w.user, person_id)[0]
        run = dispatch.open_run(w.session, plan.case_id)
        ctx = {"plan": plan, "person": person, "labels": dispatch.DESTINATIONS,
               "close": sum(1 for row, raw in zip(plan.rows, plan.raws, strict=True) if row.hop == 1 and raw),
               "secondary": sum(1 for row, raw in zip(plan.rows, plan.raws, strict=True) if row.hop == 2 and raw),
               "run": dispatch.run_view(run, person_id) if run else None}
    return render(request, "tracing/confirm.html", ctx)


@router.post("/tracing/cases/{person_id}/dispatch", response_class=HTMLResponse)
def dispatch_page(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """Queue the confirmed dispatch for the job runner; the run's page shows its progress."""
    with work(request) as w:
        run = dispatch.request_run(w.session, w.user, person_id, str(form.get("digest", ""))[:64], client_ip(request))
        run_id, actor = run.id, actor_for(request, w.user)
    dispatch.start_run(request.app.state.jobs, request.app.state.db, run_id, person_id,
                       request.app.state.settings.protocol_profile, actor)
    return RedirectResponse(f"/tracing/dispatches/{run_id}", status_code=303)


@router.get("/tracing/dispatches/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: Id) -> Response:
    """A dispatch's progress; HTMX asks for the fragment every second until it is done or failed."""
    with work(request) as w:
        run = dispatch.get_run(w.session, w.user, run_id)
    return render(request, "tracing/run.html", {"run": run, "labels": dispatch.DESTINATIONS})
