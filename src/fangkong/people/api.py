"""Person file API (JSON): search, open, reveal, create."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fangkong.core.access import PERSON_REVEAL, PERSON_STATUS, PERSON_WRITE
from fangkong.core.web.params import BodyId, Id, PageNo
from fangkong.core.web.work import guard, work
from fangkong.people import service, status
from fangkong.people.service import PersonInput, PersonView

router = APIRouter(prefix="/api/v1/persons", tags=["person files"], dependencies=[guard()])


class PersonOut(BaseModel):
    id: int
    name: str
    id_number: str | None = Field(description="Masked unless revealed")
    doc_type: str | None
    doc_number: str | None
    phone: str | None = Field(description="Masked unless revealed")
    sex: str | None
    birth_date: date | None
    current_address: str | None
    household_address: str | None
    unit_id: int
    unit_name: str
    revealed: bool

    @classmethod
    def of(cls, view: PersonView) -> PersonOut:
        return cls(**view.__dict__)


class PersonPage(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    pages: int


class PersonIn(BaseModel):
    name: str = Field(max_length=100)
    id_number: str = Field("", max_length=40, description="Resident ID (GB 11643); 15 or 18 characters")
    doc_type: str = Field("", max_length=40, description="For non-residents: passport, hk_macau_permit, …")
    doc_number: str = Field("", max_length=40)
    phone: str = Field("", max_length=40)
    current_address: str = Field("", max_length=400)
    household_address: str = Field("", max_length=400)
    unit_id: BodyId | None = Field(None, description="Jurisdiction unit; default: your own unit")


class RevealIn(BaseModel):
    purpose: str = Field(max_length=255, description="Why the full numbers are needed; recorded in the audit log")


@router.get("", response_model=PersonPage)
def search(request: Request, q: str = "", page: PageNo = 1) -> PersonPage:
    """Search person files in your jurisdiction by name, ID number or phone (numbers masked)."""
    with work(request) as w:
        result = service.search_persons(w.session, w.user, q, page, request.app.state.settings.page_size)
    found = result.found
    return PersonPage(items=[PersonOut.of(p) for p in found.rows], total=found.total, page=found.page,
                      pages=found.pages)


@router.post("", response_model=PersonOut, status_code=201, dependencies=[guard(PERSON_WRITE)])
def create(request: Request, body: PersonIn) -> PersonOut:
    """Create a person file; every field is validated and nothing is written on error."""
    with work(request) as w:
        person = service.create_person(w.session, w.user, PersonInput(**body.model_dump()))
        view = service.PersonView.of(person)
    return PersonOut.of(view)


@router.get("/{person_id}", response_model=PersonOut)
def read(request: Request, person_id: Id) -> PersonOut:
    """Open a person file (masked). The read is recorded in the audit log."""
    with work(request) as w:
        return PersonOut.of(service.open_person(w.session, w.user, person_id))


@router.post("/{person_id}/reveal", response_model=PersonOut, dependencies=[guard(PERSON_REVEAL)])
def reveal(request: Request, person_id: Id, body: RevealIn) -> PersonOut:
    """Return the full ID number and phone; the reveal and its purpose are recorded."""
    with work(request) as w:
        return PersonOut.of(service.reveal_person(w.session, w.user, person_id, body.purpose))


class StatusIn(BaseModel):
    status: str = Field(description="confirmed, asymptomatic, suspected, close_contact, secondary_contact, "
                                    "arrival_high, arrival_medium, fever_referral or released")
    reason: str = Field(max_length=500)
    evidence: str = Field("", max_length=500)
    last_exposure: datetime | None = Field(None, description="Observation counts from the last exposure")
    place: str = Field("", max_length=255, description="Home, or a named quarantine site")


class RiskStatusOut(BaseModel):
    status: str
    since: datetime
    ended_at: datetime | None
    set_by: str
    reason: str
    evidence: str | None


class ObservationOut(BaseModel):
    kind: str
    place: str | None
    start: datetime
    planned_end: datetime
    home_monitoring_until: datetime | None
    test_days: str
    profile: str


class StatusOut(BaseModel):
    current: RiskStatusOut | None
    observation: ObservationOut | None
    release_due: bool
    history: list[RiskStatusOut]

    @classmethod
    def of(cls, view: status.StatusView) -> StatusOut:
        def one(s: object) -> RiskStatusOut:
            return RiskStatusOut.model_validate(s, from_attributes=True)

        obs = ObservationOut.model_validate(view.observation, from_attributes=True) if view.observation else None
        return cls(current=one(view.current) if view.current else None, observation=obs,
                   release_due=view.release_due, history=[one(s) for s in view.history])


class ReleaseIn(BaseModel):
    reason: str = Field("", max_length=500)


@router.get("/{person_id}/status", response_model=StatusOut)
def read_status(request: Request, person_id: Id) -> StatusOut:
    with work(request) as w:
        return StatusOut.of(status.status_of(w.session, w.user, person_id))


@router.post("/{person_id}/status", response_model=StatusOut, dependencies=[guard(PERSON_STATUS)])
def set_status(request: Request, person_id: Id, body: StatusIn) -> StatusOut:
    """Change the risk status (who may set which status is the protocol's rule); opens the observation."""
    with work(request) as w:
        view = status.change_status(w.session, w.user, person_id, body.status, body.reason, body.evidence,
                                    body.last_exposure, body.place, request.app.state.settings.protocol_profile,
                                    request.app.state.status_listeners)
        return StatusOut.of(view)


@router.post("/{person_id}/release", response_model=StatusOut, dependencies=[guard(PERSON_STATUS)])
def release(request: Request, person_id: Id, body: ReleaseIn) -> StatusOut:
    """Release a person whose observation period has ended (health)."""
    with work(request) as w:
        return StatusOut.of(status.release(w.session, w.user, person_id, body.reason))
