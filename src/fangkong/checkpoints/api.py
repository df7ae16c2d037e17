"""Checkpoint API (JSON): for tablets and other systems. Passages are idempotent on `client_id`."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from fangkong.checkpoints import passages, service, vehicle_leads
from fangkong.checkpoints.models import Passage
from fangkong.checkpoints.writer import passage_writer
from fangkong.core.access import CHECKPOINT_MANAGE, CHECKPOINT_READ, LEAD_INTAKE, PASSAGE_WRITE, REFERRAL_ACK, require
from fangkong.core.auth import verified_token_user
from fangkong.core.codes import mask_id_number
from fangkong.core.errors import BodyTooLarge, NotFound
from fangkong.core.web.fastpath import FastRoute
from fangkong.core.web.params import MAX_ID, BodyId, EventTime, Id, PlanTime
from fangkong.core.web.work import actor_for, guard, release_request_session, work
from fangkong.leads.deadlines import rules_for

router = APIRouter(prefix="/api/v1", tags=["checkpoints"], dependencies=[guard()])


class PersonIn(BaseModel):
    name: str = Field("", max_length=100)
    id_number: str = Field("", max_length=40, description="Resident ID; or give doc_type and doc_number")
    doc_type: str = Field("resident_id", max_length=40)
    doc_number: str = Field("", max_length=40)
    temperature_c: float | None = Field(None, description="34–43 °C; fever is ≥ 37.3")
    disposition: str = Field("passed", description="passed, turned_back, referred, quarantined, or green_lane "
                                                   "(with a pass)")
    role: str = Field("passenger", description="driver, passenger or walker")
    override_reason: str = Field("", max_length=200, description="Required to let pass a person the rules propose "
                                 "to refer (fever, risk-area origin): why")


class PassageIn(BaseModel):
    client_id: str = Field(max_length=64, description="Unique per passage from the device: a retry returns the first")
    plate: str = Field("", max_length=20)
    origin: str = Field("", max_length=100)
    destination: str = Field("", max_length=100)
    reason: str = Field("", max_length=100)
    lane: int | None = Field(None, ge=1, le=30)
    at: EventTime | None = None
    people: list[PersonIn] = Field(max_length=60)
    pass_verification_id: int | None = Field(None, ge=1, le=2**31 - 1, description=(
        "From POST /api/v1/passes/verify at this checkpoint within the hour: with a valid pass, people may "
        "have the disposition green_lane"))

    def to_input(self) -> service.PassageInput:
        data = self.model_dump(exclude={"people"})
        return service.PassageInput(**data, people=[service.PersonInput(**p.model_dump()) for p in self.people])


class PersonOut(BaseModel):
    person_id: int
    name: str
    id_number: str | None = Field(description="Masked")
    doc_type: str | None
    role: str
    temperature_c: float
    disposition: str
    flags: list[str]


class PassageOut(BaseModel):
    id: int
    client_id: str
    checkpoint_id: int
    at: datetime
    plate: str | None
    plate_region: str | None
    origin: str | None
    destination: str | None
    flags: list[str]
    people: list[PersonOut]

    @classmethod
    def of(cls, p: Passage | passages.SavedPassage) -> PassageOut:
        return cls(id=p.id, client_id=p.client_id, checkpoint_id=p.checkpoint_id, at=p.at, plate=p.plate,
                   plate_region=p.plate_region, origin=p.origin, destination=p.destination,
                   flags=[f for f in p.flags.split(",") if f],
                   people=[PersonOut(person_id=x.person_id, name=x.name,
                                     id_number=mask_id_number(x.id_number) if x.id_number else None,
                                     doc_type=x.doc_type, role=x.role, temperature_c=x.temperature_c,
                                     disposition=x.disposition, flags=[f for f in x.flags.split(",") if f])
                           for x in p.people])


class CheckedPersonOut(BaseModel):
    name: str
    birth_date: date | None
    sex: str | None
    origin_area: str | None
    flags: list[str]


class CheckOut(BaseModel):
    plate: str | None
    plate_region: str | None
    plate_risk: str | None
    origin_risk: str | None
    people: list[CheckedPersonOut]
    errors: list[dict[str, str]]


class CheckpointIn(BaseModel):
    name: str = Field(max_length=100)
    kind: str = Field(description="ring_station, toll_gate, temporary_post or community_gate")
    location: str = Field("", max_length=255)
    unit_id: BodyId
    lanes: int = 2
    seconds_per_vehicle: int = 90
    officers: list[BodyId] = Field(default_factory=list, description="Checkpoint officers posted here")


class CheckpointOut(BaseModel):
    id: int
    name: str
    kind: str
    location: str
    unit_id: int
    lanes: int
    seconds_per_vehicle: int


class FlowOut(BaseModel):
    hour: datetime
    vehicles: int
    persons: int
    flagged: int
    referred: int
    turned_back: int


class LanesOut(BaseModel):
    arrivals_per_hour: float
    seconds_per_vehicle: float
    target_wait_seconds: float
    recommended: int | None
    waits: list[tuple[int, float | None]]


class RiskAreaIn(BaseModel):
    area_code: str = Field(max_length=6)
    name: str = Field("", max_length=100, description="A compound or village inside the area, if not all of it")
    level: str = Field(description="high, medium or low")
    valid_from: PlanTime | None = None
    valid_until: PlanTime | None = None


class RiskAreaOut(BaseModel):
    id: int
    area_code: str
    name: str | None
    level: str
    valid_from: datetime
    valid_until: datetime | None


class ReferralOut(BaseModel):
    id: int
    source: str = Field("checkpoint", description="checkpoint, or follow_up (found by a daily follow-up)")
    checkpoint: str | None
    person_id: int
    name: str
    temperature_c: float | None
    at: datetime
    reason: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    overdue: bool
    handling: str | None = None
    id_number: str | None = Field(None, description="Masked")
    plate: str | None = None
    origin: str | None = None
    destination: str | None = None


class AckIn(BaseModel):
    note: str = Field("", max_length=500)
    handling: str = Field("other", description="transfer_120, fever_clinic, centralised_quarantine, "
                          "home_observation, released_after_test or other")


def _checkpoint_out(c: object) -> CheckpointOut:
    return CheckpointOut.model_validate(c, from_attributes=True)


@router.get("/checkpoints", response_model=list[CheckpointOut])
def list_checkpoints(request: Request) -> list[CheckpointOut]:
    with work(request) as w:
        return [_checkpoint_out(c) for c in service.list_checkpoints(w.session, w.user)]


@router.post("/checkpoints", response_model=CheckpointOut, status_code=201, dependencies=[guard(CHECKPOINT_MANAGE)])
def add_checkpoint(request: Request, body: CheckpointIn) -> CheckpointOut:
    with work(request) as w:
        return _checkpoint_out(service.save_checkpoint(w.session, w.user, service.CheckpointInput(**body.model_dump())))


@router.post("/checkpoints/{checkpoint_id}/passages", response_model=PassageOut, status_code=201,
             dependencies=[guard(PASSAGE_WRITE)])
async def register(request: Request, response: Response, checkpoint_id: Id, body: PassageIn) -> PassageOut:
    """Register a passage; the same `client_id` again returns the stored passage with status 200.

    Answered once the passage is committed (with others sent at the same moment: group commit); 503
    when it could not be, and sending it again with the same `client_id` is always safe."""
    user = request.state.auth_user
    await release_request_session(request)
    out, created = await store_passage(request, user, checkpoint_id, body)
    if not created:
        response.status_code = 200
    return out


async def store_passage(request: Request, user: Any, checkpoint_id: int, body: PassageIn) -> tuple[PassageOut, bool]:
    """The one way both routes (the app's and the fast path's) store a passage: the group-commit writer."""
    passage, created = await passage_writer(request.app).register(
        passages.PassageRequest(user, checkpoint_id, body.to_input(), actor_for(request, user)))
    return PassageOut.of(passage), created


MAX_PASSAGE_BODY = 128 * 1024  # sixty people with every field filled is about 20 KiB


async def register_fast(request: Request) -> Response | None:
    """`register` for a device whose API token this process verified a moment ago (the fast path, see
    core.web.fastpath): the same checks in the same order (401/403 before the body, then the body, then
    the passage) and the same answers, without FastAPI's dependency solving and middleware stack."""
    header = request.headers.get("authorization", "")
    kind = request.headers.get("content-type", "")
    if not header.lower().startswith("bearer ") or not kind.startswith("application/json"):
        return None
    user = verified_token_user(str(request.app.state.db.engine.url), header[7:].strip())
    if user is None:
        return None  # the app's route checks the token (and caches it for the next request)
    require(user, PASSAGE_WRITE)
    checkpoint_id = int(request.path_params["checkpoint_id"])
    if not 1 <= checkpoint_id <= MAX_ID:
        raise NotFound()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PASSAGE_BODY:
            raise BodyTooLarge()
    out, created = await store_passage(request, user, checkpoint_id, PassageIn.model_validate_json(bytes(body)))
    return Response(out.model_dump_json(), status_code=201 if created else 200, media_type="application/json")


FAST_ROUTES = [FastRoute("POST", re.compile(r"/api/v1/checkpoints/(?P<checkpoint_id>[0-9]{1,10})/passages"),
                         register_fast)]


@router.post("/checkpoints/{checkpoint_id}/passages/check", response_model=CheckOut,
             dependencies=[guard(PASSAGE_WRITE)])
def check(request: Request, checkpoint_id: Id, body: PassageIn) -> CheckOut:
    """Return the flags and what the codes say, without saving."""
    with work(request) as w:
        service.get_checkpoint(w.session, w.user, checkpoint_id, PASSAGE_WRITE)
        result = service.check_passage(w.session, body.to_input())
    return CheckOut(plate=result.plate, plate_region=result.plate_region, plate_risk=result.plate_level,
                    origin_risk=result.origin_level,
                    people=[CheckedPersonOut(name=p.name, birth_date=p.birth_date, sex=p.sex,
                                             origin_area=p.origin_area, flags=p.flags) for p in result.people],
                    errors=[{"field": e.field, "message": e.message} for e in result.errors])


@router.put("/passages/{passage_id}", response_model=PassageOut, dependencies=[guard(PASSAGE_WRITE)])
def correct(request: Request, passage_id: Id, body: PassageIn) -> PassageOut:
    """Correct a passage (audited)."""
    with work(request) as w:
        return PassageOut.of(service.correct_passage(w.session, w.user, passage_id, body.to_input()))


@router.get("/checkpoints/{checkpoint_id}/flows", response_model=list[FlowOut])
def flows(request: Request, checkpoint_id: Id, hours: Annotated[int, Query(ge=1, le=24 * 14)] = 24) -> list[FlowOut]:
    with work(request) as w:
        service.get_checkpoint(w.session, w.user, checkpoint_id, CHECKPOINT_READ)
        rows = service.hourly_flows(w.session, w.user, [checkpoint_id], max(1, min(hours, 24 * 14)))
    return [FlowOut(**r.__dict__) for r in rows]


@router.get("/checkpoints/{checkpoint_id}/lanes", response_model=LanesOut)
def lanes(request: Request, checkpoint_id: Id,
          target_wait_minutes: Annotated[float, Query(gt=0, le=240)] = 5.0) -> LanesOut:
    """Recommend inspection lanes (Erlang C) from the last hour's arrivals."""
    with work(request) as w:
        plan = service.lane_plan(w.session, w.user, checkpoint_id, max(0.5, target_wait_minutes))
    return LanesOut(arrivals_per_hour=plan.arrivals_per_hour, seconds_per_vehicle=plan.seconds_per_vehicle,
                    target_wait_seconds=plan.target_wait_seconds, recommended=plan.recommended,
                    waits=[(c, None if w == float("inf") else round(w, 1)) for c, w in plan.waits])


@router.get("/risk-areas", response_model=list[RiskAreaOut])
def risk_areas(request: Request) -> list[RiskAreaOut]:
    with work(request) as w:
        return [RiskAreaOut.model_validate(a, from_attributes=True) for a in service.current_risk_areas(w.session)]


@router.post("/risk-areas", response_model=RiskAreaOut, status_code=201, dependencies=[guard(CHECKPOINT_MANAGE)])
def add_risk_area(request: Request, body: RiskAreaIn) -> RiskAreaOut:
    with work(request) as w:
        area = service.add_risk_area(w.session, w.user, service.RiskAreaInput(**body.model_dump()))
        return RiskAreaOut.model_validate(area, from_attributes=True)


@router.get("/referrals", response_model=list[ReferralOut])
def list_referrals(request: Request, open_only: bool = True) -> list[ReferralOut]:
    with work(request) as w:
        rows = service.referrals(w.session, w.user, open_only, request.app.state.settings.referral_overdue_minutes)
    return [_referral_out(r) for r in rows]


@router.post("/referrals/{referral_id}/acknowledge", response_model=ReferralOut, dependencies=[guard(REFERRAL_ACK)])
def acknowledge(request: Request, referral_id: Id, body: AckIn) -> ReferralOut:
    """Health confirms it has received the person."""
    with work(request) as w:
        service.acknowledge_referral(w.session, w.user, referral_id, body.note, body.handling)
        rows = service.referrals(w.session, w.user, False, request.app.state.settings.referral_overdue_minutes,
                                 referral_id)
    row = rows[0]
    return _referral_out(row)


def _referral_out(r: service.ReferralRow) -> ReferralOut:
    return ReferralOut(id=r.referral.id, source=r.referral.source, checkpoint=r.checkpoint_name,
                       person_id=r.referral.person_id, name=r.name, temperature_c=r.temperature_c, at=r.referral.at,
                       reason=r.referral.reason, acknowledged_at=r.referral.acknowledged_at,
                       acknowledged_by=r.referral.acknowledged_by, overdue=r.overdue, handling=r.referral.handling,
                       id_number=mask_id_number(r.id_number) if r.id_number else None, plate=r.plate,
                       origin=r.origin, destination=r.destination)


class VehicleLeadIn(BaseModel):
    plate: str = Field(max_length=20, description="The plate pushed from above (涉疫车辆)")
    source: str = Field("涉疫车辆", max_length=100)
    priority: str = Field("urgent", description="express, urgent or normal")
    note: str = Field("", max_length=200)
    since: EventTime | None = Field(None, description="ISO 8601; default 14 days ago")
    until: EventTime | None = Field(None, description="ISO 8601; default now")


class VehicleLeadOut(BaseModel):
    plate: str
    passages: int
    occupants: int
    lead_ids: list[int]


@router.post("/vehicle-leads", response_model=VehicleLeadOut, status_code=201, dependencies=[guard(LEAD_INTAKE)])
def vehicle_lead(request: Request, body: VehicleLeadIn) -> VehicleLeadOut:
    """Pull up every passage of a plate and dispatch each occupant as a person lead."""
    with work(request) as w:
        found, ids = vehicle_leads.dispatch_vehicle_lead(
            w.session, w.user, body.source, body.plate, body.priority, body.note,
            rules_for(request.app.state.settings), body.since, body.until)
        return VehicleLeadOut(plate=found.plate, passages=found.passages, occupants=len(found.occupants),
                              lead_ids=ids)
