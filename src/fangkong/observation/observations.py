"""Counts and lists for command: who is under observation where, whose period ends today or tomorrow,
follow-ups done against due. The issue's "done means": "how many close contacts are in quarantine in
七里河区 today, and whose period ends tomorrow" is one filtered list (status, district, kind, ends)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import FOLLOWUP_READ, PERSON_READ, require, restrict, visible_unit_ids
from fangkong.core.codes import lookup_area
from fangkong.core.db import utcnow
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, UnitKind, User
from fangkong.observation.followups import check_day, day_bounds, local_today
from fangkong.observation.models import FollowUp, Observation
from fangkong.observation.status import OBSERVATION_KINDS
from fangkong.people.models import STATUSES, Person, RiskStatus

QUARANTINE = ("centralised_quarantine", "home_quarantine")
KIND_FILTERS = {"quarantine": N_("In quarantine (centralised or home)"), **OBSERVATION_KINDS}
ENDS = {"today": N_("Period ends today"), "tomorrow": N_("Period ends tomorrow")}


@dataclass(frozen=True)
class ObservationFilter:
    status: str = ""
    district_id: int | None = None
    kind: str = ""  # "", quarantine, or an observation kind
    ends: str = ""  # "", today, tomorrow


@dataclass(frozen=True)
class ObservationRow:
    person_id: int
    name: str
    status: str
    kind: str
    place: str | None
    start: datetime
    planned_end: datetime
    unit_name: str
    ends_tomorrow: bool
    ends_today: bool


@dataclass(frozen=True)
class ObservationList:
    rows: list[ObservationRow]
    total: int
    ending_today: int
    ending_tomorrow: int


def districts(session: Session, user: User) -> list[Unit]:
    """Return the districts (sub-bureaus) the user sees, for the filter."""
    return list(session.execute(select(Unit).where(Unit.kind == UnitKind.DISTRICT, Unit.id.in_(visible_unit_ids(user)))
                                .order_by(Unit.code)).unique().scalars())


def _check(flt: ObservationFilter) -> None:
    if flt.status and flt.status not in STATUSES:
        raise ValidationFailed.one("status", N_("Choose one of the options."))
    if flt.kind and flt.kind not in KIND_FILTERS:
        raise ValidationFailed.one("kind", N_("Choose one of the options."))
    if flt.ends and flt.ends not in ENDS:
        raise ValidationFailed.one("ends", N_("Choose one of the options."))


ObservationSelect = Select[int, str, str, str, str | None, datetime, datetime, str]  # the columns of ObservationRow


def observation_query(user: User, flt: ObservationFilter) -> tuple[ObservationSelect, ObservationSelect]:
    """Return (every observation the filter counts, the ones it lists): the page and its export share it."""
    _check(flt)
    now = utcnow()
    today = local_today()
    today_start, today_end = day_bounds(today)
    tomorrow_end = day_bounds(today + timedelta(days=1))[1]
    stmt = (select(Person.id, Person.name, RiskStatus.status, Observation.kind, Observation.place, Observation.start,
                   Observation.planned_end, Unit.name)
            .join(Observation, Observation.person_id == Person.id)
            .join(RiskStatus, RiskStatus.id == Observation.risk_status_id)
            .join(Unit, Unit.id == Person.unit_id)
            .where(Observation.released_at.is_(None), RiskStatus.ended_at.is_(None)))
    if flt.kind == "quarantine":
        # In quarantine today: a quarantine kind whose period has not ended (the home-monitoring tail is not).
        stmt = stmt.where(Observation.kind.in_(QUARANTINE), Observation.planned_end > now)
    elif flt.kind:
        stmt = stmt.where(Observation.kind == flt.kind)
    if flt.status:
        stmt = stmt.where(RiskStatus.status == flt.status)
    if flt.district_id is not None:
        stmt = stmt.where(Unit.path.startswith(select(Unit.path).where(Unit.id == flt.district_id)
                                               .scalar_subquery()))
    base = restrict(stmt, user, Person.unit_id)
    listed = base
    if flt.ends == "today":
        listed = listed.where(Observation.planned_end >= today_start, Observation.planned_end < today_end)
    elif flt.ends == "tomorrow":
        listed = listed.where(Observation.planned_end >= today_end, Observation.planned_end < tomorrow_end)
    return base, listed.order_by(Observation.planned_end, Person.name)


def observation_list(session: Session, user: User, flt: ObservationFilter, limit: int = 1000) -> ObservationList:
    """Return persons under observation now, filtered; with how many of them end today and tomorrow."""
    require(user, PERSON_READ)
    today = local_today()
    today_start, today_end = day_bounds(today)
    tomorrow_end = day_bounds(today + timedelta(days=1))[1]
    base, listed = observation_query(user, flt)
    counted = base.subquery()
    total, ending_today, ending_tomorrow = session.execute(select(
        func.count(), func.coalesce(func.sum(case(((counted.c.planned_end >= today_start)
                                                   & (counted.c.planned_end < today_end), 1), else_=0)), 0),
        func.coalesce(func.sum(case(((counted.c.planned_end >= today_end) & (counted.c.planned_end < tomorrow_end),
                                     1), else_=0)), 0))).one()
    rows = [ObservationRow(pid, name, status, kind, place, start, end, unit,
                           ends_tomorrow=today_end <= end < tomorrow_end, ends_today=today_start <= end < today_end)
            for pid, name, status, kind, place, start, end, unit in session.execute(listed.limit(limit)).all()]
    audit.record(session, "list", "observations", None, status=flt.status, district=flt.district_id,
                 kind=flt.kind, ends=flt.ends, results=len(rows))
    return ObservationList(rows, int(total), int(ending_today), int(ending_tomorrow))


@dataclass(frozen=True)
class DistrictCounts:
    district_id: int
    district: str
    area_code: str | None
    area: str | None = None  # e.g. 七里河区, the name command uses
    under_observation: int = 0
    close_contacts_in_quarantine: int = 0  # the question, answered per district
    close_contacts_ending_tomorrow: int = 0
    ending_today: int = 0
    ending_tomorrow: int = 0
    due: int = 0  # today's follow-ups
    done: int = 0
    missed_yesterday: int = 0


def district_counts(session: Session, user: User, day: date | None = None) -> list[DistrictCounts]:
    """Return per district: under observation, ending today / tomorrow, the day's follow-ups due and done,
    and yesterday's missed ("ends" is the end of the quarantine or monitoring period, `planned_end`)."""
    require(user, FOLLOWUP_READ)
    day = check_day(day or local_today())
    today_start, today_end = day_bounds(day)
    tomorrow_end = day_bounds(day + timedelta(days=1))[1]
    end = Observation.planned_end

    def within(low: datetime, high: datetime) -> Any:
        return func.sum(case(((end >= low) & (end < high), 1), else_=0))

    # Grouped by the person's unit, then summed per district here: a prefix join per row costs far more.
    obs = session.execute(restrict(
        select(Person.unit_id, func.count(Observation.id), within(today_start, today_end),
               within(today_end, tomorrow_end))
        .select_from(Observation).join(Person, Person.id == Observation.person_id)
        .where(Observation.released_at.is_(None)).group_by(Person.unit_id), user, Person.unit_id)).all()
    close = session.execute(restrict(
        select(Person.unit_id, func.count(Observation.id), within(today_end, tomorrow_end))
        .select_from(Observation).join(RiskStatus, RiskStatus.id == Observation.risk_status_id)
        .join(Person, Person.id == Observation.person_id)
        .where(Observation.released_at.is_(None), RiskStatus.ended_at.is_(None), RiskStatus.status == "close_contact",
               Observation.kind.in_(QUARANTINE), end > utcnow())
        .group_by(Person.unit_id), user, Person.unit_id)).all()
    fus = session.execute(restrict(
        select(Person.unit_id, FollowUp.day, func.count(FollowUp.id), func.count(FollowUp.done_at))
        .select_from(FollowUp).join(Person, Person.id == FollowUp.person_id)
        .where(FollowUp.day.in_([day, day - timedelta(days=1)])).group_by(Person.unit_id, FollowUp.day),
        user, Person.unit_id)).all()
    units = districts(session, user)
    paths = dict(session.execute(select(Unit.id, Unit.path).where(Unit.id.in_(visible_unit_ids(user)))).all())
    district_of = {uid: next((d.id for d in units if path.startswith(d.path)), None) for uid, path in paths.items()}
    figures: dict[int, dict[str, int]] = {d.id: {} for d in units}

    def add(unit_id: int, **values: int) -> None:
        target = figures.get(district_of.get(unit_id))  # type: ignore[arg-type]
        if target is not None:
            for key, value in values.items():
                target[key] = target.get(key, 0) + int(value or 0)

    for uid, n, today_n, tomorrow_n in obs:
        add(uid, under_observation=n, ending_today=today_n, ending_tomorrow=tomorrow_n)
    for uid, n, tomorrow_n in close:
        add(uid, close_contacts_in_quarantine=n, close_contacts_ending_tomorrow=tomorrow_n)
    for uid, fday, due, done in fus:
        if fday == day:
            add(uid, due=due, done=done)
        else:
            add(uid, missed_yesterday=due - done)
    return [DistrictCounts(u.id, u.name, u.area_code, district_area(u), **figures[u.id]) for u in units]


def district_area(unit: Unit) -> str | None:
    """Return the short name of the county a district unit covers (七里河区), if it has one."""
    area = lookup_area(unit.area_code) if unit.area_code else None
    return area.name if area else None
