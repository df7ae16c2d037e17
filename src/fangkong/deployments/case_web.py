"""Offence case and supervision pages: the case register with its counts, a case with its persons,
seizures and leads; supervision visits with their rectification items; the Excel exports."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from fangkong.core.access import can, require
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, UnitKind
from fangkong.core.units import unit_tree
from fangkong.core.web.params import Id, PageNo
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import checked_form, work
from fangkong.deployments import cases, posts, sheets, supervision
from fangkong.deployments.forms import get, optional_id, values_of
from fangkong.deployments.rules import (
    CASE_WRITE,
    CATEGORIES,
    OUTCOMES,
    STATUSES,
    SUPERVISION_RECTIFY,
    SUPERVISION_WRITE,
    local_today,
)
from fangkong.deployments.web import POLICE, _download

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Offence cases"), "/cases", POLICE), NavItem(N_("Supervision"), "/supervision", POLICE)]
ITEM_ROWS = 3  # rectification items on the visit form (more are added on the visit's page)


def labels() -> dict[str, Any]:
    return {"categories": CATEGORIES, "statuses": STATUSES, "outcomes": OUTCOMES}


def _unit_names(request: Request, w: Any) -> dict[int, str]:
    return dict(w.session.execute(select(Unit.id, Unit.name)).all())


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, category: Annotated[str, Query(max_length=24)] = "",
               status: Annotated[str, Query(max_length=12)] = "", page: PageNo = 1) -> HTMLResponse:
    today = local_today()
    with work(request) as w:
        listing = cases.list_cases(w.session, w.user, category, status, page)
        first = today - timedelta(days=29)
        ctx = {**labels(), "listing": listing, "category": category, "status": status,
               "by_category": cases.counts_by_category(w.session, w.user, first, today),
               "by_day": cases.counts_by_day(w.session, w.user, today - timedelta(days=6), today),
               "by_unit": cases.counts_by_unit(w.session, w.user, first, today),
               "units": _unit_names(request, w), "can_write": can(w.user, CASE_WRITE)}
    return render(request, "deployments/cases.html", ctx)


def _case_form(request: Request, values: dict[str, Any], errors: list[Any], status: int = 200) -> HTMLResponse:
    with work(request) as w:
        require(w.user, CASE_WRITE)
        units = [(u.id, "　" * u.depth + u.name) for u in unit_tree(w.session, w.user) if u.kind != UnitKind.AGENCY]
        values.setdefault("unit_id", w.user.unit_id)
    return render(request, "deployments/case_form.html", {**labels(), "values": values, "errors": errors,
                                                          "units": units}, status)


@router.get("/cases/new", response_class=HTMLResponse)
def new_case_form(request: Request) -> HTMLResponse:
    return _case_form(request, {}, [])


@router.post("/cases/new", response_class=HTMLResponse)
def register_case_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = cases.CaseInput(title=get(form, "title"), category=get(form, "category"), number=get(form, "number"),
                           summary=get(form, "summary"), unit_id=optional_id(form, "unit_id"),
                           received_at=get(form, "received_at") or None)
    try:
        with work(request) as w:
            case_id = cases.register_case(w.session, w.user, data).id
    except ValidationFailed as exc:
        return _case_form(request, values_of(form), exc.errors, 422)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _case(request: Request, case_id: int, errors: list[Any] | None = None, values: dict[str, Any] | None = None,
          status: int = 200) -> HTMLResponse:
    with work(request) as w:
        case = cases.get_case(w.session, w.user, case_id)
        ctx = {**labels(), "case": case, "errors": errors or [], "values": values or {},
               "unit_name": w.session.get(Unit, case.unit_id).name,  # type: ignore[union-attr]
               "next": cases.NEXT[case.status], "can_write": can(w.user, CASE_WRITE)}
    return render(request, "deployments/case.html", ctx, status)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: Id) -> HTMLResponse:
    return _case(request, case_id)


def _case_post(request: Request, case_id: int, form: FormData, action: Any) -> Response:
    try:
        with work(request) as w:
            action(w)
    except ValidationFailed as exc:
        return _case(request, case_id, exc.errors, values_of(form), 422)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/status", response_class=HTMLResponse)
def advance_page(request: Request, case_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    return _case_post(request, case_id, form, lambda w: cases.advance_case(
        w.session, w.user, case_id, get(form, "status"), get(form, "outcome"), get(form, "expected")))


@router.post("/cases/{case_id}/persons", response_class=HTMLResponse)
def add_person_page(request: Request, case_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = cases.CasePersonInput(name=get(form, "name"), id_number=get(form, "id_number"),
                                 person_id=optional_id(form, "person_id"), measure=get(form, "measure"))
    return _case_post(request, case_id, form, lambda w: cases.add_person(w.session, w.user, case_id, data))


@router.post("/cases/{case_id}/seizures", response_class=HTMLResponse)
def add_seizure_page(request: Request, case_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    return _case_post(request, case_id, form, lambda w: cases.add_seizure(
        w.session, w.user, case_id, get(form, "item"), get(form, "quantity"), get(form, "unit_of_measure")))


@router.post("/cases/{case_id}/leads", response_class=HTMLResponse)
def link_lead_page(request: Request, case_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    return _case_post(request, case_id, form, lambda w: cases.link_lead(
        w.session, w.user, case_id, optional_id(form, "lead_id")))


@router.get("/cases.xlsx")
def cases_download(request: Request) -> Response:
    with work(request) as w:
        require(w.user, cases.CASE_READ)
        data = sheets.cases_sheet(w.session, w.user)
    return _download(data, "offence-cases.xlsx")


# --- supervision -------------------------------------------------------------------------------------

@router.get("/supervision", response_class=HTMLResponse)
def supervision_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        ctx = {"visits": supervision.list_visits(w.session, w.user), "units": _unit_names(request, w),
               "open": supervision.open_items(w.session, w.user), "today": local_today(),
               "can_write": can(w.user, SUPERVISION_WRITE)}
    return render(request, "deployments/supervision.html", ctx)


def _visit_form(request: Request, values: dict[str, Any], errors: list[Any], status: int = 200) -> HTMLResponse:
    with work(request) as w:
        require(w.user, SUPERVISION_WRITE)
        units = [(u.id, "　" * u.depth + u.name) for u in unit_tree(w.session, w.user) if u.kind != UnitKind.AGENCY]
        values.setdefault("visited_on", local_today().isoformat())
        ctx = {"values": values, "errors": errors, "units": units, "rows": range(ITEM_ROWS),
               "posts": posts.list_posts(w.session, w.user)}
    return render(request, "deployments/visit_form.html", ctx, status)


@router.get("/supervision/new", response_class=HTMLResponse)
def new_visit_form(request: Request) -> HTMLResponse:
    return _visit_form(request, {}, [])


@router.post("/supervision/new", response_class=HTMLResponse)
def record_visit_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    items = [supervision.ItemInput(get(form, f"items.{i}.description"), get(form, f"items.{i}.due_on"))
             for i in range(ITEM_ROWS) if get(form, f"items.{i}.description") or get(form, f"items.{i}.due_on")]
    data = supervision.VisitInput(unit_id=optional_id(form, "unit_id"), post_id=optional_id(form, "post_id"),
                                  visited_on=get(form, "visited_on"), leader=get(form, "leader"),
                                  findings=get(form, "findings"), items=items)
    try:
        with work(request) as w:
            visit_id = supervision.record_visit(w.session, w.user, data).id
    except ValidationFailed as exc:
        return _visit_form(request, values_of(form), exc.errors, 422)
    return RedirectResponse(f"/supervision/{visit_id}", status_code=303)


def _visit(request: Request, visit_id: int, errors: list[Any] | None = None, values: dict[str, Any] | None = None,
           status: int = 200) -> HTMLResponse:
    with work(request) as w:
        visit = supervision.get_visit(w.session, w.user, visit_id)
        post = posts.get_post(w.session, w.user, visit.post_id) if visit.post_id else None
        ctx = {"visit": visit, "post": post, "unit_name": w.session.get(Unit, visit.unit_id).name,  # type: ignore[union-attr]
               "errors": errors or [], "values": values or {}, "today": local_today(),
               "can_write": can(w.user, SUPERVISION_WRITE), "can_rectify": can(w.user, SUPERVISION_RECTIFY)}
    return render(request, "deployments/visit.html", ctx, status)


@router.get("/supervision/{visit_id}", response_class=HTMLResponse)
def visit_page(request: Request, visit_id: Id) -> HTMLResponse:
    return _visit(request, visit_id)


@router.post("/supervision/{visit_id}/items", response_class=HTMLResponse)
def add_item_page(request: Request, visit_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    try:
        with work(request) as w:
            supervision.add_item(w.session, w.user, visit_id,
                                 supervision.ItemInput(get(form, "description"), get(form, "due_on")))
    except ValidationFailed as exc:
        return _visit(request, visit_id, exc.errors, values_of(form), 422)
    return RedirectResponse(f"/supervision/{visit_id}", status_code=303)


@router.post("/supervision/items/{item_id}/rectify", response_class=HTMLResponse)
def rectify_page(request: Request, item_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        item = w.session.get(supervision.RectificationItem, item_id)
        visit_id = item.visit_id if item else 0
    try:
        with work(request) as w:
            supervision.rectify_item(w.session, w.user, item_id, get(form, "note"))
    except ValidationFailed as exc:
        errors = [type(e)(f"item.{item_id}.{e.field}", e.message, e.params) for e in exc.errors]
        return _visit(request, visit_id, errors, {}, 422)
    return RedirectResponse(f"/supervision/{visit_id}", status_code=303)


@router.get("/supervision.xlsx")
def supervision_download(request: Request) -> Response:
    with work(request) as w:
        data = sheets.supervision_sheet(w.session, w.user)
    return _download(data, "supervision.xlsx")
