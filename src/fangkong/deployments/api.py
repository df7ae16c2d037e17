"""Deployment API (JSON): posts and rosters, on duty now and alerts, secondments, the daily log,
offence cases and supervision. Errors are problem JSON (RFC 9457) from the one error handler."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fangkong.core.db import utcnow
from fangkong.core.web.params import BodyId, Id
from fangkong.core.web.work import guard, work
from fangkong.deployments import cases, daylog, posts, rosters, supervision
from fangkong.deployments.forms import page_day
from fangkong.deployments.models import OffenceCase, Post, Shift, SupervisionVisit
from fangkong.deployments.rules import (
    CASE_READ,
    CASE_WRITE,
    DEPLOYMENT_MANAGE,
    DEPLOYMENT_READ,
    SUPERVISION_READ,
    SUPERVISION_RECTIFY,
    SUPERVISION_WRITE,
    local_today,
)

router = APIRouter(prefix="/api/v1", tags=["deployments"], dependencies=[guard()])
# Each route checks the role before the body (403 first, as everywhere); the use case checks the jurisdiction.
READ, MANAGE = [guard(DEPLOYMENT_READ)], [guard(DEPLOYMENT_MANAGE)]
CASES, CASE_EDIT = [guard(CASE_READ)], [guard(CASE_WRITE)]
VISITS, VISIT_EDIT, RECTIFY = [guard(SUPERVISION_READ)], [guard(SUPERVISION_WRITE)], [guard(SUPERVISION_RECTIFY)]
Day = Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD, local; today when absent")]
Text = Annotated[str, Field(max_length=5000)]


class PostIn(BaseModel):
    name: str = Field(max_length=200)
    kind: str = Field(max_length=24, description="checkpoint, hospital, observation_site, compound or other")
    location: str = Field("", max_length=500)
    unit_id: BodyId
    chief_id: BodyId | None = None
    chief_name: str = Field("", max_length=200)
    required_strength: int = Field(2, ge=0, le=10_000)
    active: bool = True


class MemberIn(BaseModel):
    kind: str = Field(max_length=16, description="police, auxiliary, volunteer, vehicle or drone")
    user_id: BodyId | None = None
    name: str = Field("", max_length=200, description="Named personnel, a plate or a drone number")
    hours: float | None = Field(None, allow_inf_nan=False, description="Drone flight hours")


class MemberOut(BaseModel):
    id: int
    kind: str
    user_id: int | None
    name: str
    home_unit_id: int | None
    hours: float | None


class ShiftIn(BaseModel):
    day: date
    starts_at: datetime = Field(description="Local time when without an offset")
    ends_at: datetime
    label: str = Field("", max_length=100)
    members: list[MemberIn] = Field(default_factory=list, max_length=200)


class ShiftOut(BaseModel):
    id: int
    post_id: int
    day: date
    label: str
    starts_at: datetime
    ends_at: datetime
    officers: int
    below_strength: bool
    members: list[MemberOut]


class PostOut(BaseModel):
    id: int
    name: str
    kind: str
    location: str
    unit_id: int
    chief_id: int | None
    chief_name: str
    required_strength: int
    active: bool
    on_duty: int = Field(0, description="Officers on duty now")
    below_strength: bool = False
    shift_id: int | None = Field(None, description="The shift on duty now")


def _shift_out(post: Post, shift: Shift) -> ShiftOut:
    duty = posts.shift_duty(post, shift)
    return ShiftOut(id=shift.id, post_id=shift.post_id, day=shift.day, label=shift.label, starts_at=shift.starts_at,
                    ends_at=shift.ends_at, officers=duty.officers, below_strength=duty.short,
                    members=[MemberOut.model_validate(m, from_attributes=True) for m in shift.members])


def _post_out(duty: posts.Duty) -> PostOut:
    p = duty.post
    return PostOut(id=p.id, name=p.name, kind=p.kind, location=p.location, unit_id=p.unit_id, chief_id=p.chief_id,
                   chief_name=p.chief_name, required_strength=p.required_strength, active=p.active,
                   on_duty=duty.officers, below_strength=duty.short, shift_id=duty.shift.id if duty.shift else None)


@router.get("/deployments/posts", response_model=list[PostOut], dependencies=READ)
def list_posts(request: Request) -> list[PostOut]:
    """Every active post of the jurisdiction, with the officers on duty now."""
    with work(request) as w:
        return [_post_out(d) for d in posts.duty_board(w.session, w.user)]


@router.post("/deployments/posts", response_model=PostOut, status_code=201, dependencies=MANAGE)
def add_post(request: Request, body: PostIn) -> PostOut:
    with work(request) as w:
        post = posts.save_post(w.session, w.user, posts.PostInput(**body.model_dump()))
        return _post_out(posts.Duty(post, None, 0))


@router.get("/deployments/posts/{post_id}", response_model=PostOut, dependencies=READ)
def get_post(request: Request, post_id: Id) -> PostOut:
    with work(request) as w:
        post = posts.get_post(w.session, w.user, post_id)
        shift = posts.current_shifts(w.session, [post.id], utcnow()).get(post.id)
        return _post_out(posts.Duty(post, shift, posts.officers_on(shift)))


@router.get("/deployments/posts/{post_id}/roster", response_model=list[ShiftOut], dependencies=READ)
def get_roster(request: Request, post_id: Id, day: Day = None) -> list[ShiftOut]:
    the_day = page_day(day)
    with work(request) as w:
        post = posts.get_post(w.session, w.user, post_id)
        return [_shift_out(post, s) for s in rosters.roster(w.session, w.user, post.id, the_day)]


@router.post("/deployments/posts/{post_id}/shifts", response_model=ShiftOut, status_code=201, dependencies=MANAGE)
def add_shift(request: Request, post_id: Id, body: ShiftIn) -> ShiftOut:
    """Add a shift with its members; overlapping shifts and anyone on duty elsewhere meanwhile are refused."""
    data = rosters.ShiftInput(body.day, body.starts_at, body.ends_at, body.label,
                              [rosters.MemberInput(**m.model_dump()) for m in body.members])
    with work(request) as w:
        shift = rosters.add_shift(w.session, w.user, post_id, data)
        w.session.refresh(shift)
        return _shift_out(posts.get_post(w.session, w.user, post_id), shift)


@router.post("/deployments/shifts/{shift_id}/members", response_model=MemberOut, status_code=201, dependencies=MANAGE)
def add_member(request: Request, shift_id: Id, body: MemberIn) -> MemberOut:
    with work(request) as w:
        member = rosters.add_member(w.session, w.user, shift_id, rosters.MemberInput(**body.model_dump()))
        return MemberOut.model_validate(member, from_attributes=True)


@router.get("/deployments/alerts", response_model=list[PostOut], dependencies=READ)
def alerts(request: Request) -> list[PostOut]:
    """Posts with fewer officers on duty now than they need."""
    with work(request) as w:
        return [_post_out(d) for d in posts.below_strength(w.session, w.user)]


class SecondmentIn(BaseModel):
    user_id: BodyId | None = None
    name: str = Field("", max_length=200)
    kind: str = Field("police", max_length=16, description="police or auxiliary")
    home_unit_id: BodyId | None = Field(None, description="For named personnel; a user's home is the user's unit")
    unit_id: BodyId = Field(description="The host unit")
    starts_on: date
    ends_on: date
    note: str = Field("", max_length=500)


class SecondmentOut(BaseModel):
    id: int
    user_id: int | None
    name: str
    kind: str
    home_unit_id: int
    unit_id: int
    starts_on: date
    ends_on: date
    note: str


@router.post("/deployments/secondments", response_model=SecondmentOut, status_code=201, dependencies=MANAGE)
def add_secondment(request: Request, body: SecondmentIn) -> SecondmentOut:
    with work(request) as w:
        item = rosters.add_secondment(w.session, w.user, rosters.SecondmentInput(**body.model_dump()))
        return SecondmentOut.model_validate(item, from_attributes=True)


class LogRowOut(BaseModel):
    unit_id: int
    unit_name: str
    own: dict[str, float]
    total: dict[str, float] = Field(description="Rolled up over the unit's subtree")
    corrected: list[str]


class LogCorrectionIn(BaseModel):
    unit_id: BodyId
    day: date
    values: dict[str, Annotated[float, Field(ge=0, le=daylog.MAX_FIGURE, allow_inf_nan=False)]] = Field(
        max_length=len(daylog.FIELDS))
    reason: str = Field("", max_length=500)


@router.get("/deployments/log", response_model=list[LogRowOut], dependencies=READ)
def day_log(request: Request, day: Day = None) -> list[LogRowOut]:
    the_day = page_day(day)
    with work(request) as w:
        return [LogRowOut(unit_id=r.unit.id, unit_name=r.unit.name, own=r.own, total=r.total,
                          corrected=sorted(r.corrected)) for r in daylog.day_log(w.session, w.user, the_day)]


@router.post("/deployments/log", response_model=list[str], dependencies=MANAGE)
def correct_log(request: Request, body: LogCorrectionIn) -> list[str]:
    """Correct a unit's figures of a day; returns the figures that changed (the history keeps the old values)."""
    with work(request) as w:
        made = daylog.correct_log(w.session, w.user, body.unit_id, body.day, dict(body.values), body.reason)
        return [c.field for c in made]


# --- offence cases ---------------------------------------------------------------------------------

class CaseIn(BaseModel):
    title: str = Field(max_length=400)
    category: str = Field(max_length=24)
    number: str = Field("", max_length=80)
    summary: Text = ""
    unit_id: BodyId | None = None
    received_at: datetime | None = None


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
    visited_on: date
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
