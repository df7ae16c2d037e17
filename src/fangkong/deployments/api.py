"""Deployment API (JSON): posts and rosters, on duty now and alerts, secondments, the daily log.
Errors are problem JSON (RFC 9457) from the one error handler; cases and supervision are in case_api."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fangkong.core.db import utcnow
from fangkong.core.web.params import BodyId, Id, PlanDay, PlanTime
from fangkong.core.web.work import guard, work
from fangkong.deployments import daylog, posts, rosters
from fangkong.deployments.forms import page_day
from fangkong.deployments.models import Post, Shift
from fangkong.deployments.rules import DEPLOYMENT_MANAGE, DEPLOYMENT_READ

router = APIRouter(prefix="/api/v1", tags=["deployments"], dependencies=[guard()])
# Each route checks the role before the body (403 first, as everywhere); the use case checks the jurisdiction.
READ, MANAGE = [guard(DEPLOYMENT_READ)], [guard(DEPLOYMENT_MANAGE)]
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
    day: PlanDay
    starts_at: PlanTime = Field(description="Local time when without an offset")
    ends_at: PlanTime
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
    starts_on: PlanDay
    ends_on: PlanDay
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
    day: PlanDay  # a day's log may be filled in for a planned day too
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
