"""Offence case and supervision API (JSON): the case register with its counts, supervision visits and the
rectification of their items. State changes are compare-and-swap: 409 when someone else was first."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fangkong.core.web.params import BodyId, EventDay, EventTime, Id
from fangkong.core.web.work import guard, work
from fangkong.deployments import cases, supervision
from fangkong.deployments.models import OffenceCase, SupervisionVisit
from fangkong.deployments.rules import (
    CASE_READ,
    CASE_WRITE,
    SUPERVISION_READ,
    SUPERVISION_RECTIFY,
    SUPERVISION_WRITE,
    local_today,
)

router = APIRouter(prefix="/api/v1", tags=["offence cases", "supervision"], dependencies=[guard()])
CASES, CASE_EDIT = [guard(CASE_READ)], [guard(CASE_WRITE)]
VISITS, VISIT_EDIT, RECTIFY = [guard(SUPERVISION_READ)], [guard(SUPERVISION_WRITE)], [guard(SUPERVISION_RECTIFY)]
Text = Annotated[str, Field(max_length=5000)]


# --- offence cases ---------------------------------------------------------------------------------

class CaseIn(BaseModel):
    title: str = Field(max_length=400)
    category: str = Field(max_length=24)
    number: str = Field("", max_length=80)
    summary: Text = ""
    unit_id: BodyId | None = None
    received_at: EventTime | None = None


class CasePersonIn(BaseModel):
    name: str = Field("", max_length=200)
    id_number: str = Field("", max_length=40)
    person_id: BodyId | None = None
    measure: str = Field("", max_length=24)


class SeizureIn(BaseModel):
    item: str = Field(max_length=200)
    quantity: float = Field(allow_inf_nan=False)
    unit_of_measure: str = Field(max_length=32, description="箱, 只, 瓶, 千克 …: required")


class StatusIn(BaseModel):
    status: str = Field(max_length=12, description="filed or solved")
    outcome: str = Field("", max_length=24, description="For solved: administrative_penalty, detention, prosecution")
    expected: str = Field("", max_length=12, description="The status the client saw (compare-and-swap)")


class LeadLinkIn(BaseModel):
    lead_id: BodyId


class CaseOut(BaseModel):
    id: int
    unit_id: int
    number: str
    title: str
    category: str
    status: str
    outcome: str | None
    received_at: datetime
    filed_at: datetime | None
    solved_at: datetime | None
    persons: list[dict[str, Any]]
    seizures: list[dict[str, Any]]
    lead_ids: list[int]

    @classmethod
    def of(cls, c: OffenceCase) -> CaseOut:
        return cls(id=c.id, unit_id=c.unit_id, number=c.number, title=c.title, category=c.category, status=c.status,
                   outcome=c.outcome, received_at=c.received_at, filed_at=c.filed_at, solved_at=c.solved_at,
                   persons=[{"id": p.id, "name": p.name, "person_id": p.person_id, "measure": p.measure}
                            for p in c.persons],
                   seizures=[{"id": s.id, "item": s.item, "quantity": s.quantity, "unit_of_measure": s.unit_of_measure}
                             for s in c.seizures],
                   lead_ids=[link.lead_id for link in c.leads])


class CountOut(BaseModel):
    key: str
    registered: int
    solved: int
    persons: int


@router.get("/cases", response_model=list[CaseOut], dependencies=CASES)
def list_cases(request: Request, category: Annotated[str, Query(max_length=24)] = "",
               status: Annotated[str, Query(max_length=12)] = "",
               page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> list[CaseOut]:
    with work(request) as w:
        return [CaseOut.of(c) for c in cases.list_cases(w.session, w.user, category, status, page).rows]


@router.post("/cases", response_model=CaseOut, status_code=201, dependencies=CASE_EDIT)
def register_case(request: Request, body: CaseIn) -> CaseOut:
    with work(request) as w:
        return CaseOut.of(cases.register_case(w.session, w.user, cases.CaseInput(**body.model_dump())))


@router.get("/cases/counts", response_model=list[CountOut], dependencies=CASES)
def case_counts(request: Request, by: Annotated[str, Query(pattern="^(category|day|unit)$")] = "category",
                days: Annotated[int, Query(ge=1, le=31)] = 7) -> list[CountOut]:
    """Cases registered, solved (破获) and persons dealt with (处理) over the last `days` days."""
    last = local_today()
    count = {"category": cases.counts_by_category, "day": cases.counts_by_day, "unit": cases.counts_by_unit}[by]
    with work(request) as w:
        rows = count(w.session, w.user, last - timedelta(days=days - 1), last)
    return [CountOut(key=str(r.key), registered=r.registered, solved=r.solved, persons=r.persons) for r in rows]


@router.get("/cases/{case_id}", response_model=CaseOut, dependencies=CASES)
def get_case(request: Request, case_id: Id) -> CaseOut:
    with work(request) as w:
        return CaseOut.of(cases.get_case(w.session, w.user, case_id))


@router.post("/cases/{case_id}/status", response_model=CaseOut, dependencies=CASE_EDIT)
def advance_case(request: Request, case_id: Id, body: StatusIn) -> CaseOut:
    """Move the case on; 409 when someone else moved it first."""
    with work(request) as w:
        return CaseOut.of(cases.advance_case(w.session, w.user, case_id, body.status, body.outcome, body.expected))


@router.post("/cases/{case_id}/persons", response_model=CaseOut, status_code=201, dependencies=CASE_EDIT)
def add_case_person(request: Request, case_id: Id, body: CasePersonIn) -> CaseOut:
    with work(request) as w:
        cases.add_person(w.session, w.user, case_id, cases.CasePersonInput(**body.model_dump()))
        return _fresh_case(w, case_id)


@router.post("/cases/{case_id}/seizures", response_model=CaseOut, status_code=201, dependencies=CASE_EDIT)
def add_seizure(request: Request, case_id: Id, body: SeizureIn) -> CaseOut:
    with work(request) as w:
        cases.add_seizure(w.session, w.user, case_id, body.item, body.quantity, body.unit_of_measure)
        return _fresh_case(w, case_id)


@router.post("/cases/{case_id}/leads", response_model=CaseOut, status_code=201, dependencies=CASE_EDIT)
def link_lead(request: Request, case_id: Id, body: LeadLinkIn) -> CaseOut:
    with work(request) as w:
        cases.link_lead(w.session, w.user, case_id, body.lead_id)
        return _fresh_case(w, case_id)


def _fresh_case(w: Any, case_id: int) -> CaseOut:
    case = cases.get_case(w.session, w.user, case_id)
    w.session.refresh(case)
    return CaseOut.of(case)


# --- supervision -----------------------------------------------------------------------------------

class ItemIn(BaseModel):
    description: str = Field(max_length=1000)
    due_on: date


class VisitIn(BaseModel):
    unit_id: BodyId | None = None
    post_id: BodyId | None = None
    visited_on: EventDay
    leader: str = Field(max_length=200)
    findings: Text = ""
    items: list[ItemIn] = Field(default_factory=list, max_length=100)


class ItemOut(BaseModel):
    id: int
    description: str
    due_on: date
    status: str
    overdue: bool
    rectified_at: datetime | None
    note: str


class VisitOut(BaseModel):
    id: int
    unit_id: int
    post_id: int | None
    visited_on: date
    leader: str
    findings: str
    items: list[ItemOut]

    @classmethod
    def of(cls, v: SupervisionVisit) -> VisitOut:
        return cls(id=v.id, unit_id=v.unit_id, post_id=v.post_id, visited_on=v.visited_on, leader=v.leader,
                   findings=v.findings, items=[ItemOut(id=i.id, description=i.description, due_on=i.due_on,
                                                       status=i.status, overdue=supervision.is_overdue(i),
                                                       rectified_at=i.rectified_at, note=i.note) for i in v.items])


class RectifyIn(BaseModel):
    note: str = Field(max_length=1000, description="What was done")


@router.get("/supervision/visits", response_model=list[VisitOut], dependencies=VISITS)
def list_visits(request: Request) -> list[VisitOut]:
    with work(request) as w:
        return [VisitOut.of(v) for v in supervision.list_visits(w.session, w.user)]


@router.post("/supervision/visits", response_model=VisitOut, status_code=201, dependencies=VISIT_EDIT)
def record_visit(request: Request, body: VisitIn) -> VisitOut:
    data = supervision.VisitInput(body.unit_id, body.post_id, body.visited_on, body.leader, body.findings,
                                  [supervision.ItemInput(i.description, i.due_on) for i in body.items])
    with work(request) as w:
        return VisitOut.of(supervision.record_visit(w.session, w.user, data))


@router.get("/supervision/visits/{visit_id}", response_model=VisitOut, dependencies=VISITS)
def get_visit(request: Request, visit_id: Id) -> VisitOut:
    with work(request) as w:
        return VisitOut.of(supervision.get_visit(w.session, w.user, visit_id))


@router.post("/supervision/items/{item_id}/rectify", response_model=ItemOut, dependencies=RECTIFY)
def rectify(request: Request, item_id: Id, body: RectifyIn) -> ItemOut:
    """Report an item rectified; 409 when it already was."""
    with work(request) as w:
        i = supervision.rectify_item(w.session, w.user, item_id, body.note)
        return ItemOut(id=i.id, description=i.description, due_on=i.due_on, status=i.status, overdue=False,
                       rectified_at=i.rectified_at, note=i.note)
