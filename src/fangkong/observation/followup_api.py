"""Follow-up and care team API (JSON): daily lists, recording, missed list, care teams, observation counts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from fangkong.core.access import CARE_MANAGE, FOLLOWUP_RECORD, visible_unit_ids
from fangkong.core.codes import mask_phone
from fangkong.core.web.params import MAX_ID, BodyId, Id, PageNo, PlanDay
from fangkong.core.web.work import guard, work
from fangkong.observation import care, followups, observations
from fangkong.observation.followups import FollowUpInput, FollowUpRow

router = APIRouter(prefix="/api/v1", tags=["follow-ups"], dependencies=[guard()])
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Day = Annotated[PlanDay | None, Query(description="Local day (YYYY-MM-DD); default today")]


class FollowUpOut(BaseModel):
    id: int
    observation_id: int
    person_id: int
    name: str
    phone: str | None = Field(description="Masked")
    address: str | None
    unit: str
    observation_kind: str
    place: str | None
    day: date
    day_no: int = Field(description="Day of observation; 1 = the day of the last exposure")
    phase: str = Field(description="observation or home_monitoring")
    method: str = Field(description="visit, call or site")
    test_due: bool
    done_at: datetime | None
    done_by: str | None
    temperature_c: float | None
    symptoms: list[str]
    test_result: str | None
    note: str | None
    referral_id: int | None
    referral_acknowledged: bool | None

    @classmethod
    def of(cls, r: FollowUpRow) -> FollowUpOut:
        f = r.follow_up
        return cls(id=f.id, observation_id=f.observation_id, person_id=f.person_id, name=r.person_name,
                   phone=mask_phone(r.phone) if r.phone else None, address=r.address, unit=r.unit_name,
                   observation_kind=r.kind, place=r.place, day=f.day, day_no=f.day_no, phase=f.phase,
                   method=f.method, test_due=f.test_due, done_at=f.done_at, done_by=f.done_by,
                   temperature_c=f.temperature_c, symptoms=[c for c in f.symptoms.split(",") if c],
                   test_result=f.test_result, note=f.note, referral_id=f.referral_id,
                   referral_acknowledged=r.referral_acknowledged)


class FollowUpList(BaseModel):
    day: date
    due: int
    done: int
    findings: int = Field(description="Recorded with fever, a symptom or a positive test")
    page: int
    pages: int
    items: list[FollowUpOut]


class FollowUpIn(BaseModel):
    temperature_c: float = Field(description="°C, 34–43; fever is ≥ 37.3")
    symptoms: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=20, description=", ".join(followups.SYMPTOMS))
    test_result: str = Field("", max_length=12, description="'', negative, positive or pending")
    note: str = Field("", max_length=500)
    client_id: str | None = Field(None, min_length=8, max_length=64,
                                  description="The recording device's id: sending it again changes nothing")


@router.get("/followups", response_model=FollowUpList)
def list_follow_ups(request: Request, day: Day = None, unit_id: OptionalId = None, mine: bool = False,
                    observation_id: OptionalId = None, page: PageNo = 1) -> FollowUpList:
    """The day's follow-ups in your jurisdiction (a unit's subtree, one care team, or your own persons);
    open ones first, 1,000 a page."""
    with work(request) as w:
        listing = followups.day_list(w.session, w.user, day or followups.local_today(), unit_id, mine,
                                     observation_id, page, 1000)
        items = [FollowUpOut.of(r) for r in listing.rows]
    return FollowUpList(day=listing.day, due=listing.due, done=listing.done, findings=listing.findings,
                        page=listing.page, pages=listing.pages, items=items)


@router.get("/followups/missed", response_model=list[FollowUpOut])
def list_missed(request: Request, days: Annotated[int, Query(ge=1, le=31)] = 7) -> list[FollowUpOut]:
    """Follow-ups of the last days that nobody recorded by the end of their day."""
    with work(request) as w:
        return [FollowUpOut.of(r) for r in followups.missed_list(w.session, w.user, days)]


@router.get("/followups/{follow_up_id}", response_model=FollowUpOut)
def read_follow_up(request: Request, follow_up_id: Id) -> FollowUpOut:
    with work(request) as w:
        return FollowUpOut.of(followups.open_follow_up(w.session, w.user, follow_up_id))


@router.post("/followups/{follow_up_id}/record", response_model=FollowUpOut, dependencies=[guard(FOLLOWUP_RECORD)])
def record(request: Request, follow_up_id: Id, body: FollowUpIn) -> FollowUpOut:
    """Record a follow-up; fever, a symptom or a positive test creates a referral to health at once."""
    with work(request) as w:
        row = followups.record_follow_up(w.session, w.user, follow_up_id, FollowUpInput(
            temperature_c=body.temperature_c, symptoms=body.symptoms, test_result=body.test_result, note=body.note),
            body.client_id)
        return FollowUpOut.of(row)


class MemberOut(BaseModel):
    team_role: str
    user_id: int
    display_name: str
    unit: str


class TeamOut(BaseModel):
    observation_id: int
    person_id: int
    name: str
    observation_kind: str
    planned_end: datetime
    members: list[MemberOut]
    missing: list[str]


class MemberIn(BaseModel):
    user_id: BodyId


def _team_out(view: care.TeamView) -> TeamOut:
    return TeamOut(observation_id=view.observation.id, person_id=view.person_id, name=view.person_name,
                   observation_kind=view.observation.kind, planned_end=view.observation.planned_end,
                   members=[MemberOut(team_role=m.team_role, user_id=m.user_id, display_name=m.display_name,
                                      unit=m.unit_name) for m in view.members.values()], missing=view.missing)


@router.get("/care-teams", response_model=list[TeamOut])
def list_teams(request: Request, mine: bool = False) -> list[TeamOut]:
    """Open observations with their care teams; community users (and `mine`) get their own persons."""
    roles = care.parse_team_roles(request.app.state.settings.care_team_roles)
    with work(request) as w:
        teams = care.team_list(w.session, w.user, roles, mine)
    return [TeamOut(observation_id=t.observation_id, person_id=t.person_id, name=t.person_name,
                    observation_kind=t.kind, planned_end=t.planned_end,
                    members=[MemberOut(team_role=m.team_role, user_id=m.user_id, display_name=m.display_name,
                                       unit=m.unit_name) for m in t.members.values()],
                    missing=[r for r in roles if r not in t.members]) for t in teams.rows]


@router.get("/care-teams/{observation_id}", response_model=TeamOut)
def read_team(request: Request, observation_id: Id) -> TeamOut:
    roles = care.parse_team_roles(request.app.state.settings.care_team_roles)
    with work(request) as w:
        return _team_out(care.team_of(w.session, w.user, observation_id, roles))


@router.put("/care-teams/{observation_id}/members/{team_role}", response_model=TeamOut,
            dependencies=[guard(CARE_MANAGE)])
def assign(request: Request, observation_id: Id, team_role: Annotated[str, Path(max_length=24)],
           body: MemberIn) -> TeamOut:
    """Put a user into one role of the care team (the user's role must fit, the person be in their jurisdiction)."""
    roles = care.parse_team_roles(request.app.state.settings.care_team_roles)
    with work(request) as w:
        return _team_out(care.assign_member(w.session, w.user, observation_id, team_role, body.user_id, roles))


class ObservationOut(BaseModel):
    person_id: int
    name: str
    status: str
    kind: str
    place: str | None
    start: datetime
    planned_end: datetime
    unit: str
    ends_today: bool
    ends_tomorrow: bool


class ObservationPage(BaseModel):
    total: int
    ending_today: int
    ending_tomorrow: int
    items: list[ObservationOut]


@router.get("/observations", response_model=ObservationPage)
def list_observations(request: Request, status: Annotated[str, Query(max_length=32)] = "",
                      district_id: OptionalId = None, kind: Annotated[str, Query(max_length=32)] = "",
                      ends: Annotated[str, Query(max_length=16)] = "") -> ObservationPage:
    """Persons under observation now: e.g. status=close_contact&kind=quarantine&district_id=…&ends=tomorrow."""
    flt = observations.ObservationFilter(status=status, district_id=district_id, kind=kind, ends=ends)
    with work(request) as w:
        found = observations.observation_list(w.session, w.user, flt)
    return ObservationPage(total=found.total, ending_today=found.ending_today, ending_tomorrow=found.ending_tomorrow,
                           items=[ObservationOut(person_id=r.person_id, name=r.name, status=r.status, kind=r.kind,
                                                 place=r.place, start=r.start, planned_end=r.planned_end,
                                                 unit=r.unit_name, ends_today=r.ends_today,
                                                 ends_tomorrow=r.ends_tomorrow) for r in found.rows])


class DistrictCountsOut(BaseModel):
    district_id: int
    district: str
    area_code: str | None
    area: str | None
    under_observation: int
    close_contacts_in_quarantine: int
    close_contacts_ending_tomorrow: int
    ending_today: int
    ending_tomorrow: int
    due: int
    done: int
    missed_yesterday: int


@router.get("/observations/counts", response_model=list[DistrictCountsOut])
def counts(request: Request) -> list[DistrictCountsOut]:
    """Per district: under observation, ending today / tomorrow, today's follow-ups done and due, missed yesterday."""
    with work(request) as w:
        followups.generate_follow_ups(w.session, followups.local_today(), visible_unit_ids(w.user))
        return [DistrictCountsOut(**c.__dict__) for c in observations.district_counts(w.session, w.user)]
