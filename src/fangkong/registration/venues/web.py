"""Venue pages for staff: the registry, a venue's code (enable, disable, rotate, poster), who came and
went on a day (the guard's list), inspections and closure orders, and their counts."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.core.access import PERSON_READ, VENUE_INSPECT, VENUE_MANAGE, VISIT_READ, can, require
from fangkong.core.clock import parse_day
from fangkong.core.context import current_locale
from fangkong.core.errors import FieldError
from fangkong.core.i18n import N_
from fangkong.core.web.params import EventDay, Id, PageNo, form_id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, submit_form, work
from fangkong.registration.venues import service as venues
from fangkong.registration.venues.checkin import checkin_service

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Venues"), "/venues", frozenset({"admin", "command", "district", "station", "community"}))]


def labels() -> dict[str, Any]:
    return {"kinds": venues.KINDS, "inspection_kinds": venues.INSPECTION_KINDS, "statuses": venues.STATUSES,
            "next_status": venues.NEXT_STATUS}


def checkin_url(request: Request, token: str) -> str:
    base = request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/v/{token}"


def _input(form: FormData) -> venues.VenueInput:
    return venues.VenueInput(name=str(form.get("name", "")), kind=str(form.get("kind", "")),
                             address=str(form.get("address", "")), unit_id=form_id(form.get("unit_id")))


@router.get("/venues", response_class=HTMLResponse)
def venues_page(request: Request, q: Annotated[str, Query(max_length=50)] = "",
                kind: Annotated[str, Query(max_length=24)] = "", page: PageNo = 1) -> HTMLResponse:
    with work(request) as w:
        found = venues.list_venues(w.session, w.user, q, kind, page, request.app.state.settings.page_size)
        today = venues.venue_visit_counts(w.session, w.user, [v.id for v in found.rows])
        ctx = {**labels(), "page": found, "q": q, "kind": kind, "today": today,
               "can_manage": can(w.user, VENUE_MANAGE)}
    return render(request, "registration/venue_list.html", ctx)


def _edit_context(request: Request, w: Any, data: Any, errors: list[Any], venue: Any = None) -> dict[str, Any]:
    return {**labels(), "units": venues.unit_tree_for(w.session, w.user), "data": data, "errors": errors,
            "venue": venue}


@router.get("/venues/new", response_class=HTMLResponse)
def new_venue_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, VENUE_MANAGE)
        ctx = _edit_context(request, w, venues.VenueInput(unit_id=w.user.unit_id), [])
    return render(request, "registration/venue_edit.html", ctx)


@router.post("/venues/new", response_class=HTMLResponse)
def create_venue_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = _input(form)

    def create(w: Work) -> Response:
        venue_id = venues.save_venue(w.session, w.user, data).id
        return RedirectResponse(f"/venues/{venue_id}", status_code=303)

    return submit_form(request, create, lambda w, errors: render(
        request, "registration/venue_edit.html", _edit_context(request, w, data, errors), 422))


@router.get("/venues/inspections", response_class=HTMLResponse)
def inspection_counts_page(request: Request, since: Annotated[str, Query(max_length=10)] = "",
                           until: Annotated[str, Query(max_length=10)] = "") -> HTMLResponse:
    with work(request) as w:
        rows = venues.inspection_counts(w.session, w.user, parse_day("since", since),
                                        parse_day("until", until, end=True))
    table: dict[str, dict[str, dict[str, int]]] = {}  # venue kind -> kind -> status -> count
    for r in rows:
        table.setdefault(r.venue_kind, {}).setdefault(r.kind, {})[r.status] = r.count
    return render(request, "registration/venue_inspections.html",
                  {**labels(), "table": table, "since": since, "until": until})


@router.get("/venues/{venue_id}", response_class=HTMLResponse)
def venue_page(request: Request, venue_id: Id) -> HTMLResponse:
    with work(request) as w:
        venue = venues.get_venue(w.session, w.user, venue_id)
        ctx = {**labels(), "venue": venue, "inspections": venues.venue_inspections(w.session, w.user, venue_id),
               "today": venues.venue_visit_counts(w.session, w.user, [venue.id]).get(venue.id, 0),
               "can_manage": can(w.user, VENUE_MANAGE), "can_inspect": can(w.user, VENUE_INSPECT),
               "can_visits": can(w.user, VISIT_READ), "errors": [],
               "url": checkin_url(request, venue.token) if can(w.user, VENUE_MANAGE) else None}
    return render(request, "registration/venue_detail.html", ctx)


@router.get("/venues/{venue_id}/edit", response_class=HTMLResponse)
def edit_venue_page(request: Request, venue_id: Id) -> HTMLResponse:
    with work(request) as w:
        venue = venues.get_venue(w.session, w.user, venue_id, VENUE_MANAGE)
        data = venues.VenueInput(name=venue.name, kind=venue.kind, address=venue.address, unit_id=venue.unit_id)
        ctx = _edit_context(request, w, data, [], venue)
    return render(request, "registration/venue_edit.html", ctx)


@router.post("/venues/{venue_id}/edit", response_class=HTMLResponse)
def save_venue_page(request: Request, venue_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = _input(form)

    def save(w: Work) -> Response:
        venues.save_venue(w.session, w.user, data, venue_id)
        return RedirectResponse(f"/venues/{venue_id}", status_code=303)

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        venue = venues.get_venue(w.session, w.user, venue_id, VENUE_MANAGE)
        return render(request, "registration/venue_edit.html", _edit_context(request, w, data, errors, venue), 422)

    return submit_form(request, save, refuse)


@router.post("/venues/{venue_id}/active")
def set_active_page(request: Request, venue_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        token = venues.set_venue_active(w.session, w.user, venue_id, form.get("active") == "1").token
    checkin_service(request.app).venues.forget(token)
    return RedirectResponse(f"/venues/{venue_id}", status_code=303)


@router.post("/venues/{venue_id}/rotate")
def rotate_page(request: Request, venue_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        _venue, old = venues.rotate_code(w.session, w.user, venue_id)
    checkin_service(request.app).venues.forget(old)
    return RedirectResponse(f"/venues/{venue_id}", status_code=303)


@router.get("/venues/{venue_id}/poster", response_class=HTMLResponse)
def poster_page(request: Request, venue_id: Id) -> HTMLResponse:
    """An A4 page to print and put on the wall: the venue's name, its QR code, how to check in (in Chinese)."""
    with work(request) as w:
        venue = venues.get_venue(w.session, w.user, venue_id, VENUE_MANAGE)
        url = checkin_url(request, venue.token)
        ctx = {**labels(), "venue": venue, "url": url, "active": venue.active,
               "qr": segno.make(url, error="q").svg_inline(scale=1, omitsize=True, border=2)}
    locale = current_locale.set("zh_CN")  # the wall speaks Chinese, whatever the officer's own language
    try:
        return render(request, "registration/venue_poster.html", ctx)
    finally:
        current_locale.reset(locale)


@router.get("/venues/{venue_id}/visits", response_class=HTMLResponse)
def visits_page(request: Request, venue_id: Id, day: Annotated[EventDay | None, Query()] = None,
                page: PageNo = 1) -> HTMLResponse:
    with work(request) as w:
        found = venues.visits_of_day(w.session, w.user, venue_id, day, page)
        the_day = day or venues.today()
        ctx = {**labels(), "venue": found.venue, "rows": found.rows, "day": the_day, "found": found,
               "inside": found.inside, "can_people": can(w.user, PERSON_READ),
               "base": f"/venues/{venue_id}/visits?day={the_day.isoformat()}"}
    return render(request, "registration/venue_visits.html", ctx)


@router.post("/venues/{venue_id}/inspections", response_class=HTMLResponse)
def record_inspection_page(request: Request, venue_id: Id,
                           form: Annotated[FormData, Depends(checked_form)]) -> Response:
    def record(w: Work) -> Response:
        venues.record_inspection(w.session, w.user, venue_id, str(form.get("kind", "")), str(form.get("note", "")))
        return RedirectResponse(f"/venues/{venue_id}", status_code=303)

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        venue = venues.get_venue(w.session, w.user, venue_id)
        ctx = {**labels(), "venue": venue, "inspections": venues.venue_inspections(w.session, w.user, venue_id),
               "today": 0, "can_manage": can(w.user, VENUE_MANAGE), "can_inspect": True,
               "can_visits": can(w.user, VISIT_READ), "errors": errors, "url": None}
        return render(request, "registration/venue_detail.html", ctx, 422)

    return submit_form(request, record, refuse)


@router.post("/venue-inspections/{inspection_id}/status")
def inspection_status_page(request: Request, inspection_id: Id,
                           form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        item = venues.set_inspection_status(w.session, w.user, inspection_id, str(form.get("status", "")))
        venue_id = item.venue_id
    return RedirectResponse(f"/venues/{venue_id}", status_code=303)
