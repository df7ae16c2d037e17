"""Venue API (JSON): the registry and codes, a day's visits (masked phones), inspections and their counts.
The public check-in itself is not here: it is the lean path in registration.checkin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from fangkong.core.access import VENUE_INSPECT, VENUE_MANAGE, VISIT_READ, can
from fangkong.core.codes import mask_phone
from fangkong.core.web.params import BodyId, EventDay, Id, PageNo
from fangkong.core.web.work import guard, work
from fangkong.registration.venues import service as venues
from fangkong.registration.venues.checkin import checkin_service
from fangkong.registration.venues.models import Inspection, Venue
from fangkong.registration.venues.web import checkin_url

router = APIRouter(prefix="/api/v1", tags=["venues"], dependencies=[guard()])


class VenueIn(BaseModel):
    name: str = Field(max_length=100)
    kind: str = Field(description=", ".join(venues.KINDS), max_length=24)
    address: str = Field("", max_length=255)
    unit_id: BodyId
    active: bool = True


class VenueOut(BaseModel):
    id: int
    name: str
    kind: str
    address: str
    unit_id: int
    active: bool
    token_issued_at: datetime
    checkin_url: str | None = Field(None, description="Only for roles that manage venues")


class VisitOut(BaseModel):
    id: int
    person_id: int | None
    name: str
    phone: str = Field(description="Masked")
    checked_in_at: datetime
    checked_out_at: datetime | None


class InspectionIn(BaseModel):
    kind: str = Field(description="inspection or closure", max_length=12)
    note: str = Field("", max_length=500)


class StatusIn(BaseModel):
    status: str = Field(description="closed or reopened", max_length=12)


class InspectionOut(BaseModel):
    id: int
    venue_id: int
    kind: str
    status: str
    at: datetime
    note: str
    recorded_by: str


class CountOut(BaseModel):
    kind: str
    venue_kind: str
    status: str
    count: int


def _out(request: Request, venue: Venue, manage: bool) -> VenueOut:
    return VenueOut(id=venue.id, name=venue.name, kind=venue.kind, address=venue.address, unit_id=venue.unit_id,
                    active=venue.active, token_issued_at=venue.token_issued_at,
                    checkin_url=checkin_url(request, venue.token) if manage else None)


def _inspection(item: Inspection) -> InspectionOut:
    return InspectionOut.model_validate(item, from_attributes=True)


@router.get("/venues", response_model=list[VenueOut])
def list_venues(request: Request, q: Annotated[str, Query(max_length=50)] = "",
                kind: Annotated[str, Query(max_length=24)] = "", page: PageNo = 1) -> list[VenueOut]:
    with work(request) as w:
        found = venues.list_venues(w.session, w.user, q, kind, page, request.app.state.settings.page_size)
        manage = can(w.user, VENUE_MANAGE)
        return [_out(request, v, manage) for v in found.rows]


@router.post("/venues", response_model=VenueOut, status_code=201, dependencies=[guard(VENUE_MANAGE)])
def add_venue(request: Request, body: VenueIn) -> VenueOut:
    with work(request) as w:
        venue = venues.save_venue(w.session, w.user, venues.VenueInput(body.name, body.kind, body.address,
                                                                       body.unit_id))
        venue.active = body.active
        return _out(request, venue, True)


@router.get("/venues/{venue_id}", response_model=VenueOut)
def get_venue(request: Request, venue_id: Id) -> VenueOut:
    with work(request) as w:
        return _out(request, venues.get_venue(w.session, w.user, venue_id), can(w.user, VENUE_MANAGE))


@router.put("/venues/{venue_id}", response_model=VenueOut, dependencies=[guard(VENUE_MANAGE)])
def change_venue(request: Request, venue_id: Id, body: VenueIn) -> VenueOut:
    """Change a venue's details; `active: false` disables its code."""
    with work(request) as w:
        venue = venues.save_venue(w.session, w.user, venues.VenueInput(body.name, body.kind, body.address,
                                                                       body.unit_id), venue_id)
        venue = venues.set_venue_active(w.session, w.user, venue_id, body.active)
        out, token = _out(request, venue, True), venue.token
    checkin_service(request.app).venues.forget(token)
    return out


@router.post("/venues/{venue_id}/rotate", response_model=VenueOut, dependencies=[guard(VENUE_MANAGE)])
def rotate(request: Request, venue_id: Id) -> VenueOut:
    """Issue a new venue code; the old one (and its posters) stops working."""
    with work(request) as w:
        venue, old = venues.rotate_code(w.session, w.user, venue_id)
        out = _out(request, venue, True)
    checkin_service(request.app).venues.forget(old)
    return out


@router.get("/venues/{venue_id}/visits", response_model=list[VisitOut], dependencies=[guard(VISIT_READ)])
def visits(request: Request, response: Response, venue_id: Id, day: Annotated[EventDay | None, Query()] = None,
           page: PageNo = 1, page_size: Annotated[int, Query(ge=1, le=2000)] = 500) -> list[VisitOut]:
    """Who checked in on a local day (default today), newest first, each with its person file; phones masked;
    the read is audited. Paged: `X-Total-Count` gives the day's visits, `Link` the next page."""
    with work(request) as w:
        found = venues.visits_of_day(w.session, w.user, venue_id, day, page, page_size)
    response.headers["X-Total-Count"] = str(found.total)
    if found.page < found.pages:
        query = f"page={found.page + 1}&page_size={page_size}" + (f"&day={day.isoformat()}" if day else "")
        response.headers["Link"] = f'</api/v1/venues/{venue_id}/visits?{query}>; rel="next"'
    return [VisitOut(id=r.id, person_id=r.person_id, name=r.name, phone=mask_phone(r.phone),
                     checked_in_at=r.checked_in_at, checked_out_at=r.checked_out_at) for r in found.rows]


@router.get("/venues/{venue_id}/inspections", response_model=list[InspectionOut])
def inspections(request: Request, venue_id: Id) -> list[InspectionOut]:
    with work(request) as w:
        return [_inspection(i) for i in venues.venue_inspections(w.session, w.user, venue_id)]


@router.post("/venues/{venue_id}/inspections", response_model=InspectionOut, status_code=201,
             dependencies=[guard(VENUE_INSPECT)])
def record_inspection(request: Request, venue_id: Id, body: InspectionIn) -> InspectionOut:
    with work(request) as w:
        return _inspection(venues.record_inspection(w.session, w.user, venue_id, body.kind, body.note))


@router.post("/venue-inspections/{inspection_id}/status", response_model=InspectionOut,
             dependencies=[guard(VENUE_INSPECT)])
def inspection_status(request: Request, inspection_id: Id, body: StatusIn) -> InspectionOut:
    with work(request) as w:
        return _inspection(venues.set_inspection_status(w.session, w.user, inspection_id, body.status))


@router.get("/venue-inspections/counts", response_model=list[CountOut])
def counts(request: Request, since: Annotated[EventDay | None, Query()] = None,
           until: Annotated[EventDay | None, Query()] = None) -> list[CountOut]:
    """Inspections and closure orders by venue kind and status (e.g. market inspections, closed bars)."""
    from fangkong.core.clock import parse_day

    with work(request) as w:
        rows = venues.inspection_counts(w.session, w.user, parse_day("since", str(since or "")),
                                        parse_day("until", str(until or ""), end=True))
    return [CountOut(**r.__dict__) for r in rows]
