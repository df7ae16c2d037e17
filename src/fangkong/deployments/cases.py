"""Offence cases (涉疫案件): register, file, solve with an outcome; persons dealt with, seizures, leads;
counts in the form the reports use, "破获 N 起，处理 N 人"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import require, restrict
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.codes import CodeError, normalize_id_number
from fangkong.core.context import current_actor
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.core.paging import Page, paginate
from fangkong.deployments.models import CaseLead, CasePerson, OffenceCase, Seizure
from fangkong.deployments.posts import visible_unit
from fangkong.deployments.rules import (
    CASE_READ,
    CASE_WRITE,
    CATEGORIES,
    CHOOSE,
    OUTCOMES,
    STATUSES,
    day_start,
    moment,
    text,
)
from fangkong.leads.models import Lead
from fangkong.people.models import Person

NEXT = {"received": ("filed", "solved"), "filed": ("solved",), "solved": ()}  # administrative cases skip 立案
STATUS_CHANGED = N_("The case was changed meanwhile; reload the page.")
NOT_NEXT = N_("A case that is {status} cannot go there.")
OUTCOME_NEEDED = N_("Choose the outcome of the solved case.")
UNKNOWN_PERSON = N_("No such person file in your jurisdiction.")
UNKNOWN_LEAD = N_("No such lead in your jurisdiction.")
BAD_QUANTITY = N_("Give a quantity greater than 0.")
IN_FUTURE = N_("This time lies in the future.")
SOLVED_PHRASE = N_("Solved {cases} cases, dealt with {persons} persons")


def visible_cases(user: User) -> Select[OffenceCase]:
    return restrict(select(OffenceCase), user, OffenceCase.unit_id)


def list_cases(session: Session, user: User, category: str = "", status: str = "", page: int = 1,
               page_size: int = 50) -> Page[OffenceCase]:
    require(user, CASE_READ)
    stmt = visible_cases(user)
    if category in CATEGORIES:
        stmt = stmt.where(OffenceCase.category == category)
    if status in STATUSES:
        stmt = stmt.where(OffenceCase.status == status)
    return paginate(session, stmt.order_by(OffenceCase.received_at.desc(), OffenceCase.id.desc()), page, page_size)


def get_case(session: Session, user: User, case_id: int, action: str = CASE_READ) -> OffenceCase:
    require(user, action)
    found = session.execute(visible_cases(user).where(OffenceCase.id == case_id)).scalar_one_or_none()
    if found is None:
        raise NotFound()
    return found


@dataclass
class CaseInput:
    title: str = ""
    category: str = ""
    number: str = ""
    summary: str = ""
    unit_id: int | None = None
    received_at: datetime | str | None = None


def register_case(session: Session, user: User, data: CaseInput) -> OffenceCase:
    """Register a case (受案) in a unit of the jurisdiction."""
    require(user, CASE_WRITE)
    errors: list[FieldError] = []
    title = text(errors, "title", data.title, 200, required=True)
    number = text(errors, "number", data.number, 40)
    summary = text(errors, "summary", data.summary, 5000)
    if data.category not in CATEGORIES:
        errors.append(FieldError("category", CHOOSE))
    unit = visible_unit(session, user, data.unit_id or user.unit_id)
    if unit is None:
        errors.append(FieldError("unit_id", CHOOSE))
    received = moment(errors, "received_at", data.received_at) if data.received_at else utcnow()
    if received and received > utcnow() + timedelta(minutes=5):
        errors.append(FieldError("received_at", IN_FUTURE))
    if errors:
        raise ValidationFailed(errors)
    case = OffenceCase(unit_id=unit.id, title=title, number=number, summary=summary,  # type: ignore[union-attr]
                       category=data.category, status="received", received_at=received,
                       recorded_by=current_actor.get().username)
    session.add(case)
    session.flush()
    return case


def advance_case(session: Session, user: User, case_id: int, status: str, outcome: str = "",
                 expected: str = "") -> OffenceCase:
    """Move a case on (受案 → 立案 → 破案), compare-and-swap on the status the user saw."""
    case = get_case(session, user, case_id, CASE_WRITE)
    seen = expected or case.status
    if status not in STATUSES or status not in NEXT.get(seen, ()):
        raise ValidationFailed.one("status", NOT_NEXT, status=STATUSES.get(seen, seen))
    if status == "solved" and outcome not in OUTCOMES:
        raise ValidationFailed.one("outcome", OUTCOME_NEEDED)
    now = utcnow()
    values: dict[str, object] = {"status": status}
    if status == "filed":
        values["filed_at"] = now
    else:
        values.update(solved_at=now, outcome=outcome)
    changed = rowcount(session.execute(update(OffenceCase).where(OffenceCase.id == case.id, OffenceCase.status == seen)
                                       .values(**values)))
    if changed != 1:
        raise Conflict(STATUS_CHANGED)
    audit.record(session, "status", "offence_cases", case.id, old=seen, new=status, outcome=outcome or None)
    session.refresh(case)
    return case


@dataclass
class CasePersonInput:
    name: str = ""
    id_number: str = ""
    person_id: int | None = None
    measure: str = ""


def add_person(session: Session, user: User, case_id: int, data: CasePersonInput) -> CasePerson:
    """Add a person dealt with; an ID number or a person file links the case to that file."""
    case = get_case(session, user, case_id, CASE_WRITE)
    errors: list[FieldError] = []
    name = text(errors, "name", data.name, 100)
    number = None
    if data.id_number.strip():
        try:
            number = normalize_id_number(data.id_number)
        except CodeError as exc:
            errors.append(FieldError("id_number", exc.message, exc.params))
    if data.measure and data.measure not in OUTCOMES:
        errors.append(FieldError("measure", CHOOSE))
    person = _person(session, user, data.person_id, number, errors)
    if person is not None:
        name, number = name or person.name, number or person.id_number
    if not name and not errors:
        errors.append(FieldError("name", N_("This field is required.")))
    if errors:
        raise ValidationFailed(errors)
    item = CasePerson(case_id=case.id, person_id=person.id if person else None, name=name, id_number=number,
                      measure=data.measure or None)
    session.add(item)
    session.flush()
    return item


def _person(session: Session, user: User, person_id: int | None, number: str | None,
            errors: list[FieldError]) -> Person | None:
    stmt = restrict(select(Person), user, Person.unit_id)
    if person_id is not None:
        found = session.execute(stmt.where(Person.id == person_id)).unique().scalar_one_or_none()
        if found is None:
            errors.append(FieldError("person_id", UNKNOWN_PERSON))
        return found
    if number:
        return session.execute(stmt.where(Person.id_number == number)).unique().scalar_one_or_none()
    return None


def add_seizure(session: Session, user: User, case_id: int, item: str, quantity: float | str | None,
                unit_of_measure: str) -> Seizure:
    """Record goods seized: the item, how many and in what unit (箱, 只, 瓶 …) are all required."""
    case = get_case(session, user, case_id, CASE_WRITE)
    errors: list[FieldError] = []
    what = text(errors, "item", item, 100, required=True)
    measure = text(errors, "unit_of_measure", unit_of_measure, 16, required=True)
    try:
        amount = float(str(quantity).strip()) if quantity not in (None, "") else 0.0
    except ValueError:
        amount = 0.0
    if not 0 < amount < 1e9:  # also refuses nan and inf
        errors.append(FieldError("quantity", BAD_QUANTITY))
    if errors:
        raise ValidationFailed(errors)
    seizure = Seizure(case_id=case.id, item=what, quantity=amount, unit_of_measure=measure)
    session.add(seizure)
    session.flush()
    return seizure


def link_lead(session: Session, user: User, case_id: int, lead_id: int | None) -> CaseLead:
    case = get_case(session, user, case_id, CASE_WRITE)
    found = session.execute(restrict(select(Lead.id).where(Lead.id == lead_id), user, Lead.unit_id)) \
        .scalar_one_or_none() if lead_id else None
    if found is None:
        raise ValidationFailed.one("lead_id", UNKNOWN_LEAD)
    existing = next((link for link in case.leads if link.lead_id == found), None)
    if existing is not None:
        return existing
    link = CaseLead(case_id=case.id, lead_id=found)
    session.add(link)
    session.flush()
    return link


@dataclass(frozen=True)
class CaseCount:
    """Counts of one group (a category, a day or a unit) over a period."""

    key: str | int
    registered: int = 0
    solved: int = 0
    persons: int = 0


def solved_and_persons(session: Session, start: datetime, end: datetime, unit_ids: Select[int] | None = None
                       ) -> list[tuple[int, str, int, int]]:
    """Return (unit id, category, cases solved, persons dealt with) for cases solved in [start, end)."""
    persons = select(CasePerson.case_id, func.count(CasePerson.id).label("n")).group_by(CasePerson.case_id).subquery()
    stmt = (select(OffenceCase.unit_id, OffenceCase.category, func.count(OffenceCase.id),
                   func.coalesce(func.sum(persons.c.n), 0))
            .outerjoin(persons, persons.c.case_id == OffenceCase.id)
            .where(OffenceCase.solved_at >= start, OffenceCase.solved_at < end)
            .group_by(OffenceCase.unit_id, OffenceCase.category))
    if unit_ids is not None:
        stmt = stmt.where(OffenceCase.unit_id.in_(unit_ids))
    return [(u, c, int(n), int(p)) for u, c, n, p in session.execute(stmt)]


def registered(session: Session, start: datetime, end: datetime, unit_ids: Select[int] | None = None
               ) -> list[tuple[int, str, int]]:
    stmt = (select(OffenceCase.unit_id, OffenceCase.category, func.count(OffenceCase.id))
            .where(OffenceCase.received_at >= start, OffenceCase.received_at < end)
            .group_by(OffenceCase.unit_id, OffenceCase.category))
    if unit_ids is not None:
        stmt = stmt.where(OffenceCase.unit_id.in_(unit_ids))
    return [(u, c, int(n)) for u, c, n in session.execute(stmt)]


def counts_by_category(session: Session, user: User, first: date, last: date) -> list[CaseCount]:
    """Return per category the cases registered and solved, and persons dealt with, from `first` to `last`."""
    require(user, CASE_READ)
    scope = restrict(select(OffenceCase.unit_id).distinct(), user, OffenceCase.unit_id)
    start, end = day_start(first), day_start(last) + timedelta(days=1)
    out = {key: [0, 0, 0] for key in CATEGORIES}
    for _unit, category, n in registered(session, start, end, scope):
        out[category][0] += n
    for _unit, category, n, p in solved_and_persons(session, start, end, scope):
        out[category][1] += n
        out[category][2] += p
    return [CaseCount(k, *v) for k, v in out.items()]


def counts_by_day(session: Session, user: User, first: date, last: date) -> list[CaseCount]:
    """Return per local day the cases registered, solved and persons dealt with (≤ 31 days): two queries
    for the whole period, the days counted here (a query per day grew with the period, issue 14)."""
    require(user, CASE_READ)
    scope = restrict(select(OffenceCase.unit_id).distinct(), user, OffenceCase.unit_id)
    days = [first + timedelta(days=i) for i in range(min(31, (last - first).days + 1))]
    if not days:
        return []
    start, end = day_start(days[0]), day_start(days[-1]) + timedelta(days=1)
    out = {day: [0, 0, 0] for day in days}
    for (at,) in session.execute(select(OffenceCase.received_at).where(
            OffenceCase.received_at >= start, OffenceCase.received_at < end, OffenceCase.unit_id.in_(scope))):
        out[at.astimezone(LOCAL_TZ).date()][0] += 1
    persons = select(CasePerson.case_id, func.count(CasePerson.id).label("n")).group_by(CasePerson.case_id).subquery()
    for at, n in session.execute(select(OffenceCase.solved_at, func.coalesce(persons.c.n, 0))
                                 .outerjoin(persons, persons.c.case_id == OffenceCase.id)
                                 .where(OffenceCase.solved_at >= start, OffenceCase.solved_at < end,
                                        OffenceCase.unit_id.in_(scope))):
        row = out[at.astimezone(LOCAL_TZ).date()]
        row[1] += 1
        row[2] += int(n)
    return [CaseCount(day.isoformat(), *values) for day, values in out.items()]


def counts_by_unit(session: Session, user: User, first: date, last: date) -> list[CaseCount]:
    require(user, CASE_READ)
    scope = restrict(select(OffenceCase.unit_id).distinct(), user, OffenceCase.unit_id)
    start, end = day_start(first), day_start(last) + timedelta(days=1)
    out: dict[int, list[int]] = {}
    for unit_id, _c, n in registered(session, start, end, scope):
        out.setdefault(unit_id, [0, 0, 0])[0] += n
    for unit_id, _c, n, p in solved_and_persons(session, start, end, scope):
        row = out.setdefault(unit_id, [0, 0, 0])
        row[1] += n
        row[2] += p
    return [CaseCount(k, *v) for k, v in sorted(out.items())]
