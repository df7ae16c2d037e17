"""Gatherings API (JSON): for police units, gatherings in the jurisdiction and their attendees, masked."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fangkong.core.access import REGISTRATION_READ
from fangkong.core.codes import mask_phone
from fangkong.core.web.params import Id, PageNo
from fangkong.core.web.work import guard, work
from fangkong.registration import inputs
from fangkong.registration.gatherings import service as gatherings
from fangkong.registration.gatherings.models import GatheringAttendee

router = APIRouter(prefix="/api/v1", tags=["registration"])
STAFF = [guard(REGISTRATION_READ)]


class AttendeeOut(BaseModel):
    id: int
    person_id: int
    name: str
    document: str | None = Field(description="Masked")
    phone: str = Field(description="Masked")
    added_by: str
    created_at: datetime

    @classmethod
    def of(cls, a: GatheringAttendee) -> AttendeeOut:
        return cls(id=a.id, person_id=a.person_id, name=a.name,
                   document=inputs.masked_document(a.id_number, a.doc_number), phone=mask_phone(a.phone),
                   added_by=a.added_by, created_at=a.created_at)


class GatheringOut(BaseModel):
    id: int
    reference: str
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime | None
    address: str
    expected_size: int
    unit_id: int
    attendee_count: int
    attendees: list[AttendeeOut] | None = None


@router.get("/gatherings", response_model=list[GatheringOut], dependencies=STAFF)
def list_gatherings(request: Request, page: PageNo = 1) -> list[GatheringOut]:
    """Gatherings in the caller's jurisdiction, latest first (without their attendee lists)."""
    with work(request) as w:
        found = gatherings.list_gatherings(w.session, w.user, page=page, page_size=request.app.state.settings.page_size)
        return [GatheringOut(id=r.gathering.id, reference=r.gathering.reference, kind=r.gathering.kind,
                             title=r.gathering.title, starts_at=r.gathering.starts_at, ends_at=r.gathering.ends_at,
                             address=r.gathering.address, expected_size=r.gathering.expected_size,
                             unit_id=r.gathering.unit_id, attendee_count=r.attendees) for r in found.rows]


@router.get("/gatherings/{gathering_id}", response_model=GatheringOut, dependencies=STAFF)
def read_gathering(request: Request, gathering_id: Id) -> GatheringOut:
    """One gathering with its attendees (masked; the read is audited)."""
    with work(request) as w:
        view = gatherings.open_gathering(w.session, w.user, gathering_id)
        g = view.gathering
        return GatheringOut(id=g.id, reference=g.reference, kind=g.kind, title=g.title, starts_at=g.starts_at,
                            ends_at=g.ends_at, address=g.address, expected_size=g.expected_size, unit_id=g.unit_id,
                            attendee_count=len(view.attendees), attendees=[AttendeeOut.of(a) for a in view.attendees])
