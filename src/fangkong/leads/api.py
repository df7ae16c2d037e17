"""Leads API (JSON): batches from an upper-level platform, queues, verification, feedback."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fangkong.core.access import LEAD_DISPATCH, LEAD_FEEDBACK, LEAD_INTAKE, LEAD_VERIFY
from fangkong.core.codes import mask_id_number, mask_phone
from fangkong.core.db import utcnow
from fangkong.core.web.params import BodyId, EventTime, Id
from fangkong.core.web.work import guard, work
from fangkong.leads import feedback, workflow
from fangkong.leads.deadlines import rules_for
from fangkong.leads.intake import RawLead, submit_leads
from fangkong.leads.loops import effects_of, forward_leg
from fangkong.leads.models import Lead, LeadLeg

router = APIRouter(prefix="/api/v1/leads", tags=["leads"], dependencies=[guard()])


class LeadIn(BaseModel):
    name: str = Field("", max_length=100)
    id_number: str = Field("", max_length=40)
    phone: str = Field("", max_length=40)
    current_address: str = Field("", max_length=255)
    origin: str = Field("", max_length=100)
    pushed_at: EventTime | None = Field(None, description="ISO 8601; local time (Asia/Shanghai) if no offset")
    kind: str = Field("", max_length=50, description="线索类型, e.g. 密接, 重点地区来返人员")
    priority: str = Field("", description="express, urgent or normal (default)")
    note: str = Field("", max_length=500)


class BatchIn(BaseModel):
    source: str = Field(max_length=100, description="Who pushed the leads (the upstream platform)")
    reference: str = Field("", max_length=100, description="The upstream's own batch reference")
    two_legs: bool = Field(False, description="Police leg and community leg (双推送、双核查、双反馈)")
    priority: str = Field("", description="The batch's priority for leads that give none: express, urgent, normal")
    leads: list[LeadIn] = Field(max_length=20000)


class BatchOut(BaseModel):
    batch_id: int
    new: int
    repeated: int
    lead_ids: list[int]
    placements: dict[str, int]
    flagged: dict[int, list[str]] = Field(default_factory=dict, description=(
        "Leads taken in with a field set aside (index in `leads` → fields): an ID number failing its check, "
        "a phone that is not a mobile number. They are matched on the valid fields; nothing is refused for one"))


class LegOut(BaseModel):
    id: int
    kind: str
    unit_id: int
    status: str
    due_at: datetime
    overdue: bool
    outcome: str | None
    temperature_c: float | None
    symptoms: str | None
    measure: str | None
    note: str | None
    verified_by: str | None
    verified_at: datetime | None

    @classmethod
    def of(cls, leg: LeadLeg, now: datetime) -> LegOut:
        return cls(id=leg.id, kind=leg.kind, unit_id=leg.unit_id, status=leg.status, due_at=leg.due_at,
                   overdue=leg.status == "open" and leg.due_at < now, outcome=leg.outcome,
                   temperature_c=leg.temperature_c, symptoms=leg.symptoms, measure=leg.measure, note=leg.note,
                   verified_by=leg.verified_by, verified_at=leg.verified_at)


class LeadOut(BaseModel):
    id: int
    batch_id: int
    kind: str | None
    priority: str
    status: str
    name: str | None
    id_number: str | None = Field(description="Masked")
    phone: str | None = Field(description="Masked")
    current_address: str | None
    person_id: int | None
    person_match: str | None
    unit_id: int
    due_at: datetime | None
    legs: list[LegOut]

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        now = utcnow()
        return cls(id=lead.id, batch_id=lead.batch_id, kind=lead.kind, priority=lead.priority, status=lead.status,
                   name=lead.name, id_number=mask_id_number(lead.id_number) if lead.id_number else None,
                   phone=mask_phone(lead.phone) if lead.phone else None, current_address=lead.current_address,
                   person_id=lead.person_id, person_match=lead.person_match, unit_id=lead.unit_id,
                   due_at=lead.due_at, legs=[LegOut.of(leg, now) for leg in lead.legs])


class VerifyIn(BaseModel):
    outcome: str = Field(description="found, not_found, elsewhere (re-dispatch) or left_city")
    temperature_c: float | None = None
    symptoms: str = Field("", max_length=255)
    measure: str = Field("none", description="none, home_observation, centralised_quarantine or referral")
    note: str = Field("", max_length=500)
    new_address: str = Field("", max_length=255, description="For outcome elsewhere")
    new_unit_id: BodyId | None = Field(None, description="For outcome elsewhere")
    client_id: str | None = Field(None, min_length=8, max_length=64, description=(
        "The verifying device's id: sending it again changes nothing; 409 when the lead was handed elsewhere"))


class AssignIn(BaseModel):
    unit_id: BodyId
    note: str = Field("", max_length=500)


class ResultOut(BaseModel):
    source_row: int | None
    lead_id: int | None
    status: str | None
    result: str
    verified_at: datetime | None
    units: str
    officers: str
    measures: str


@router.post("/batches", response_model=BatchOut, status_code=201, dependencies=[guard(LEAD_INTAKE)])
def push_batch(request: Request, body: BatchIn) -> BatchOut:
    """Take in a batch pushed by an upper-level platform: every lead valid, or nothing written (422)."""
    with work(request) as w:
        raws = [RawLead(**lead.model_dump()) for lead in body.leads]
        batch, result = submit_leads(w.session, w.user, body.source, "api", raws, body.reference, body.two_legs,
                                     rules=rules_for(request.app.state.settings), priority=body.priority or None)
        return BatchOut(batch_id=batch.id, new=result.new, repeated=result.repeated, lead_ids=result.lead_ids,
                        placements=result.placements, flagged=result.flagged)


@router.post("", response_model=LeadOut, status_code=201, dependencies=[guard(LEAD_INTAKE)])
def add_lead(request: Request, body: LeadIn, source: str = "本地录入") -> LeadOut:
    """Raise one lead by hand (or from another system) through the same intake as the sheets."""
    with work(request) as w:
        _batch, result = submit_leads(w.session, w.user, source, "manual", [RawLead(**body.model_dump())],
                                      rules=rules_for(request.app.state.settings))
        lead = workflow.open_lead(w.session, w.user, result.lead_ids[0])
        return LeadOut.of(lead)


@router.get("", response_model=list[LeadOut])
def list_queue(request: Request, state: str = "open") -> list[LeadOut]:
    """Return the leads with legs in your jurisdiction: open (soonest due first), overdue, or verified."""
    with work(request) as w:
        rows = workflow.queue(w.session, w.user, state)
        seen: dict[int, Lead] = {}
        for row in rows:
            seen.setdefault(row.lead.id, row.lead)
        return [LeadOut.of(lead) for lead in seen.values()]


@router.get("/{lead_id}", response_model=LeadOut)
def read_lead(request: Request, lead_id: Id) -> LeadOut:
    with work(request) as w:
        return LeadOut.of(workflow.open_lead(w.session, w.user, lead_id))


@router.post("/{lead_id}/legs/{leg_id}/verify", response_model=LeadOut, dependencies=[guard(LEAD_VERIFY)])
def verify(request: Request, lead_id: Id, leg_id: Id, body: VerifyIn) -> LeadOut:
    """Record the verification on the ground (409 if someone else verified the leg first)."""
    with work(request) as w:
        # The lead itself is returned: after a re-dispatch it may have left the officer's jurisdiction.
        lead = workflow.verify_leg(w.session, w.user, lead_id, leg_id, workflow.Verification(**body.model_dump()),
                                   effects_of(request))
        return LeadOut.of(lead)


class ForwardIn(BaseModel):
    unit_id: BodyId
    note: str = Field("", max_length=500)


@router.post("/{lead_id}/legs/{leg_id}/forward", response_model=LeadOut, dependencies=[guard(LEAD_VERIFY)])
def forward(request: Request, lead_id: Id, leg_id: Id, body: ForwardIn) -> LeadOut:
    """Hand an open leg on: district → one of its stations, or a station → a neighbouring station."""
    with work(request) as w:
        forward_leg(w.session, w.user, lead_id, leg_id, body.unit_id, body.note)
        lead = w.session.get(Lead, lead_id)
        assert lead is not None
        return LeadOut.of(lead)


@router.post("/{lead_id}/assign", response_model=LeadOut, dependencies=[guard(LEAD_DISPATCH)])
def assign(request: Request, lead_id: Id, body: AssignIn) -> LeadOut:
    """Dispatch a lead from the manual queue to a unit."""
    with work(request) as w:
        rules = rules_for(request.app.state.settings)
        workflow.assign(w.session, w.user, lead_id, body.unit_id, body.note, rules=rules)
        return LeadOut.of(workflow.open_lead(w.session, w.user, lead_id))


@router.get("/batches/{batch_id}/results", response_model=list[ResultOut], dependencies=[guard(LEAD_FEEDBACK)])
def results(request: Request, batch_id: Id) -> list[ResultOut]:
    """Feed the batch's results back (marks closed leads as fed back)."""
    with work(request) as w:
        rows = feedback.batch_results(w.session, w.user, batch_id)
    out = []
    for row, lead_id, result, problem in rows:
        if result is None:
            out.append(ResultOut(source_row=row, lead_id=None, status=None,
                                 result="数据有误，未能核查：" + (problem or ""),
                                 verified_at=None, units="", officers="", measures=""))
        else:
            out.append(ResultOut(source_row=row, lead_id=lead_id, status=result.status, result=result.result,
                                 verified_at=result.verified_at, units=result.units, officers=result.officers,
                                 measures=result.measures))
    return out
