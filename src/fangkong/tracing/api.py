"""Tracing API (JSON): trace a case, read its contacts, dispatch them as leads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fangkong.core.access import TRACE_RUN
from fangkong.core.web.params import EventTime, Id
from fangkong.core.web.work import guard, work
from fangkong.tracing import cases, dispatch
from fangkong.tracing.terms import format_time

MAX_PAGE = 5000
router = APIRouter(prefix="/api/v1/tracing", tags=["tracing"], dependencies=[guard(TRACE_RUN)])


class TraceIn(BaseModel):
    onset: EventTime = Field(description="Symptom onset, or sampling time if asymptomatic (ISO 8601)")
    isolated: EventTime | None = Field(None, description="Isolation time; default: the end of the data")
    hops: int = Field(2, ge=1, le=2)


class ContactOut(BaseModel):
    exposure_id: int
    person_id: int | None
    contact_key: str
    hop: int
    first_exposure: datetime | None
    exposures: list[dict[str, object]]
    via: list[str]
    origin: str
    struck: bool
    lead_id: int | None


class CaseOut(BaseModel):
    person_id: int
    onset: datetime | None
    isolated: datetime | None
    profile: str | None
    close: list[ContactOut]
    secondary: list[ContactOut]
    trajectory: list[dict[str, object]]


class ContactPage(BaseModel):
    total: int = Field(description="Contacts of this hop in the case")
    offset: int
    limit: int
    items: list[ContactOut]


class DispatchOut(BaseModel):
    dispatched: int
    statuses_set: int
    skipped: int


def _place(e: dict[str, object], names: dict[str, str]) -> dict[str, object]:
    place = str(e["place"])
    return {"place": place, "place_name": names.get(place, place), "kind": e.get("kind", ""),
            "start": format_time(int(e["start"])), "end": format_time(int(e["end"]))}  # type: ignore[call-overload]


def _contact(c: cases.ContactView, names: dict[str, str]) -> ContactOut:
    x = c.exposure
    return ContactOut(exposure_id=x.id, person_id=x.person_id, contact_key=x.contact_key, hop=x.hop,
                      first_exposure=x.first_exposure, exposures=[_place(e, names) for e in c.evidence], via=c.via,
                      origin=x.origin, struck=x.struck_at is not None, lead_id=x.lead_id)


def _case_out(view: cases.CaseView) -> CaseOut:
    case = view.case
    trajectory: list[dict[str, object]] = [
        {"place": s.place, "place_name": view.places.get(s.place, s.place), "place_kind": s.kind,
         "t_in": format_time(s.t_in), "t_out": format_time(s.t_out)} for s in view.trajectory]
    return CaseOut(person_id=view.person.id, onset=case.onset if case else None,
                   isolated=case.isolated if case else None, profile=case.profile if case else None,
                   close=[_contact(c, view.places) for c in view.close],
                   secondary=[_contact(c, view.places) for c in view.secondary], trajectory=trajectory)


@router.get("/cases/{person_id}", response_model=CaseOut)
def get_case(request: Request, person_id: Id) -> CaseOut:
    """Return a case's contacts with their evidence, and its trajectory."""
    with work(request) as w:
        return _case_out(cases.case_view(w.session, w.user, person_id, request.app.state.presence))


@router.get("/cases/{person_id}/contacts", response_model=ContactPage)
def list_contacts(request: Request, person_id: Id, hop: Annotated[int, Query(ge=1, le=2)] = 2,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500) -> ContactPage:
    """Return a page of a case's close (hop 1) or secondary (hop 2) contacts, by id, with the total."""
    with work(request) as w:
        total, views, places = cases.contacts_page(w.session, w.user, person_id, request.app.state.presence, hop,
                                                   offset, limit)
        return ContactPage(total=total, offset=offset, limit=limit, items=[_contact(v, places) for v in views])


@router.post("/cases/{person_id}/trace", response_model=CaseOut)
def trace_case(request: Request, person_id: Id, body: TraceIn) -> CaseOut:
    """Trace a case over the presence store (brought up to date first); keeps contacts and evidence."""
    with work(request) as w:
        cases.run_trace(w.session, w.user, person_id, body.onset, body.isolated, request.app.state.presence,
                        request.app.state.settings.protocol_profile, body.hops)
        return _case_out(cases.case_view(w.session, w.user, person_id, request.app.state.presence))


@router.post("/cases/{person_id}/dispatch", response_model=DispatchOut)
def dispatch_case(request: Request, person_id: Id) -> DispatchOut:
    """Dispatch the case's new contacts as urgent leads; mark them close / secondary contacts."""
    with work(request) as w:
        result = dispatch.dispatch_contacts(w.session, w.user, person_id, request.app.state.settings.protocol_profile)
    return DispatchOut(dispatched=result.dispatched, statuses_set=result.statuses_set, skipped=result.skipped)
