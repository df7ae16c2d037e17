"""Daily follow-ups (随访): generated per open observation and local day, recorded with one tap.

Every observation kind is followed up daily (PROTOCOL.md: "temperature and symptoms recorded daily");
the observation's test days (from the profile) are marked on their day. A follow-up not recorded by the
end of its day is missed and shows on the missed list from the next day. Fever (≥ 37.3 °C), any
symptom or a positive test refers the person to health at once (a `Referral` with source "follow_up",
acknowledged on the existing referrals page) and blocks release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import FOLLOWUP_READ, FOLLOWUP_RECORD, require, visible_unit_ids
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import Unit, User
from fangkong.core.protocol import FEVER_C
from fangkong.observation.care import scoped
from fangkong.observation.models import FollowUp, Observation, Referral
from fangkong.people.models import Person
from fangkong.people.timeline import TimelineEntry

MIN_C, MAX_C = 34.0, 43.0  # a body temperature outside these is a typing error
SYMPTOMS = {"cough": N_("Cough"), "sore_throat": N_("Sore throat"), "fatigue": N_("Fatigue"),
            "smell_taste": N_("Loss of smell or taste"), "breathless": N_("Shortness of breath"),
            "diarrhoea": N_("Diarrhoea"), "muscle_ache": N_("Muscle ache"), "runny_nose": N_("Runny nose")}
TEST_RESULTS = {"negative": N_("Negative"), "positive": N_("Positive"), "pending": N_("Result pending")}
POSITIVE = TEST_RESULTS["positive"]
METHODS = {"visit": N_("Visit"), "call": N_("Call"), "site": N_("At the quarantine site")}
# Home quarantine is checked at the door, monitoring by phone, centralised quarantine at the site.
METHOD_OF_KIND = {"home_quarantine": "visit", "health_monitoring": "call", "centralised_quarantine": "site"}

TEMPERATURE = N_("Enter a temperature between {low} and {high} °C.")
UNKNOWN_SYMPTOM = N_("Unknown symptom: {value}")
CHOOSE = N_("Choose one of the options.")
NOT_YET = N_("This follow-up is for {day}: it cannot be recorded before that day.")
ALREADY = N_("This follow-up has already been recorded.")
ALREADY_SELF = N_("This follow-up was already recorded: the person self-reported today.")
BLOCKED = N_("Release is blocked: the follow-up of {day} recorded {findings}. Health must assess the person first.")
FEVER_REASON = "follow_up"


def local_today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


FAR_DAY = N_("Choose a day within a year of today.")


def check_day(day: date) -> date:
    """Return the day if it lies within a year of today (lists are kept for the emergency, not for ever)."""
    if abs((day - local_today()).days) > 366:
        raise ValidationFailed.one("day", FAR_DAY)
    return day


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, LOCAL_TZ)
    return start, start + timedelta(days=1)


# --- generation ------------------------------------------------------------------------------------

def _rows_for(day: date, observations: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    start_of_day, _ = day_bounds(day)
    rows = []
    for oid, person_id, kind, start, planned_end, test_days in observations:
        day_no = (day - start.astimezone(LOCAL_TZ).date()).days + 1
        in_period = start_of_day < planned_end
        tests = {int(d) for d in test_days.split(",") if d}
        rows.append({"observation_id": oid, "person_id": person_id, "day": day, "day_no": day_no,
                     "phase": "observation" if in_period else "home_monitoring",
                     "method": METHOD_OF_KIND.get(kind, "call") if in_period else "call",
                     "test_due": in_period and day_no in tests, "symptoms": ""})
    return rows


def generate_follow_ups(session: Session, day: date, unit_ids: Any = None, chunk: int = 5000) -> int:
    """Create the day's follow-up for every observation open on that day (idempotent); return how many rows
    the day gained.

    `unit_ids` (a subquery of unit ids) limits it to a jurisdiction: a station's list fills itself when opened.
    """
    start_of_day, end_of_day = day_bounds(day)
    end = func.coalesce(Observation.home_monitoring_until, Observation.planned_end)
    open_on_day = (Observation.released_at.is_(None), Observation.start < end_of_day, end > start_of_day)
    stmt = (select(Observation.id, Observation.person_id, Observation.kind, Observation.start,
                   Observation.planned_end, Observation.test_days).where(*open_on_day))
    existing = select(FollowUp.observation_id).where(FollowUp.day == day)
    covered = (select(FollowUp.id).join(Observation, Observation.id == FollowUp.observation_id)
               .where(FollowUp.day == day, *open_on_day))
    if unit_ids is not None:
        stmt = stmt.join(Person, Person.id == Observation.person_id).where(Person.unit_id.in_(unit_ids))
        existing = existing.join(Person, Person.id == FollowUp.person_id).where(Person.unit_id.in_(unit_ids))
        covered = covered.join(Person, Person.id == FollowUp.person_id).where(Person.unit_id.in_(unit_ids))
    # Lists open many times a day: two counts tell whether anything is missing before any row is fetched.
    if session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one() == \
            session.execute(select(func.count()).select_from(covered.subquery())).scalar_one():
        return 0
    # The day's existing rows as a set rather than NOT EXISTS: the plan must not depend on fresh statistics
    # (right after a night's bulk insert, PostgreSQL would take follow_ups for empty).
    have = set(session.execute(existing).scalars())
    rows = _rows_for(day, [r for r in session.execute(stmt).all() if r[0] not in have])
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # Two lists opened at once may both generate: the unique (observation, day) lets the second pass. No
    # RETURNING: plain executemany (pipelined on psycopg) is several times faster; count the day instead.
    insert = dialect.insert(FollowUp.__table__).on_conflict_do_nothing(
        index_elements=["observation_id", "day"])
    count = select(func.count()).select_from(FollowUp).where(FollowUp.day == day)
    before = session.execute(count).scalar_one() if rows else 0
    for first in range(0, len(rows), chunk):
        session.execute(insert, rows[first:first + chunk])
    return session.execute(count).scalar_one() - before if rows else 0


# --- lists -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUp
    person_name: str
    id_number: str | None
    phone: str | None
    address: str | None
    unit_name: str
    kind: str
    place: str | None
    planned_end: datetime
    referral_acknowledged: bool | None = None  # None: no referral

    @property
    def findings(self) -> bool:
        return has_findings(self.follow_up)


def has_findings(f: FollowUp) -> bool:
    return (f.temperature_c is not None and f.temperature_c >= FEVER_C) or bool(f.symptoms) \
        or f.test_result == "positive"


def _list_stmt(user: User, only_mine: bool) -> Any:
    stmt = (select(FollowUp, Person.name, Person.id_number, Person.phone, Person.current_address, Unit.name,
                   Observation.kind, Observation.place, Observation.planned_end, Referral.acknowledged_at)
            .join(Observation, Observation.id == FollowUp.observation_id)
            .join(Person, Person.id == FollowUp.person_id).join(Unit, Unit.id == Person.unit_id)
            .outerjoin(Referral, Referral.id == FollowUp.referral_id))
    return scoped(stmt, user, FollowUp.observation_id, only_mine)


def _rows(session: Session, stmt: Any) -> list[FollowUpRow]:
    out = []
    for f, name, id_number, phone, address, unit, kind, place, end, acked in session.execute(stmt).all():
        out.append(FollowUpRow(f, name, id_number, phone, address, unit, kind, place, end,
                               None if f.referral_id is None else acked is not None))
    return out


@dataclass(frozen=True)
class DayList:
    day: date
    rows: list[FollowUpRow]  # one page: open follow-ups first
    due: int = 0  # over all pages
    done: int = 0
    findings: int = 0
    page: int = 1
    pages: int = 1


def _findings_clause() -> Any:
    return or_(FollowUp.temperature_c >= FEVER_C, FollowUp.symptoms != "", FollowUp.test_result == "positive")


def day_list(session: Session, user: User, day: date, unit_id: int | None = None, only_mine: bool = False,
             observation_id: int | None = None, page: int = 1, page_size: int = 5000) -> DayList:
    """Return the day's follow-ups in scope (a station, one care team, or the user's own persons), a page of
    them (open ones first) with the totals of all."""
    require(user, FOLLOWUP_READ)
    check_day(day)
    if day <= local_today() + timedelta(days=1):
        generate_follow_ups(session, day, visible_unit_ids(user))
    stmt = _list_stmt(user, only_mine).where(FollowUp.day == day, Observation.released_at.is_(None))
    if unit_id is not None:
        stmt = stmt.where(Unit.path.startswith(select(Unit.path).where(Unit.id == unit_id).scalar_subquery()))
    if observation_id is not None:
        stmt = stmt.where(FollowUp.observation_id == observation_id)
    totals = stmt.with_only_columns(FollowUp.done_at, _findings_clause().label("findings")).subquery()
    due, done, findings = session.execute(select(
        func.count(), func.count(totals.c.done_at),
        func.coalesce(func.sum(case((totals.c.findings, 1), else_=0)), 0))).one()
    pages = max(1, -(-due // page_size))
    page = min(max(1, page), pages)
    # Open first; among them, those who did not self-report by the hour (to be called) on top.
    rows = _rows(session, stmt.order_by(FollowUp.done_at.is_not(None), FollowUp.call_at.is_(None), Unit.name,
                                        Person.name, FollowUp.id)
                 .offset((page - 1) * page_size).limit(page_size))
    audit.record(session, "list", "follow_ups", None, day=day.isoformat(), results=len(rows))
    return DayList(day, rows, due, done, int(findings), page, pages)


def missed_list(session: Session, user: User, days: int = 7, limit: int = 2000) -> list[FollowUpRow]:
    """Return follow-ups of the last `days` days before today that nobody recorded (flagged the next day)."""
    require(user, FOLLOWUP_READ)
    today = local_today()
    stmt = _list_stmt(user, False).where(FollowUp.day < today, FollowUp.day >= today - timedelta(days=days),
                                         FollowUp.done_at.is_(None))
    rows = _rows(session, stmt.order_by(FollowUp.day.desc(), Unit.name, Person.name).limit(limit))
    audit.record(session, "list", "follow_ups", None, missed=True, results=len(rows))
    return rows


def drop_pending(session: Session, observation_id: int) -> None:
    """Forget the follow-ups an ended observation still had from today on (they are no longer owed)."""
    session.execute(delete(FollowUp).where(FollowUp.observation_id == observation_id, FollowUp.done_at.is_(None),
                                           FollowUp.day >= local_today()))


# --- recording -------------------------------------------------------------------------------------

@dataclass
class FollowUpInput:
    temperature_c: float | None = None
    symptoms: list[str] = field(default_factory=list)
    test_result: str = ""
    note: str = ""


def get_follow_up(session: Session, user: User, follow_up_id: int, action: str = FOLLOWUP_READ) -> FollowUpRow:
    """Return one follow-up in scope (jurisdiction; community: its teams), else NotFound."""
    require(user, action)
    rows = _rows(session, _list_stmt(user, False).where(FollowUp.id == follow_up_id))
    if not rows:
        raise NotFound()
    return rows[0]


def open_follow_up(session: Session, user: User, follow_up_id: int) -> FollowUpRow:
    """Return one follow-up in scope and record the read (it shows a person's health findings)."""
    row = get_follow_up(session, user, follow_up_id)
    audit.record(session, "read", "follow_ups", follow_up_id, person=row.follow_up.person_id)
    return row


def check_input(data: FollowUpInput, prefix: str = "") -> list[FieldError]:
    """Return what is wrong with a follow-up's findings (none: they may be saved)."""
    errors = []
    if data.temperature_c is None or not MIN_C <= data.temperature_c <= MAX_C:
        errors.append(FieldError(prefix + "temperature_c", TEMPERATURE, {"low": MIN_C, "high": MAX_C}))
    for code in data.symptoms:
        if code not in SYMPTOMS:
            errors.append(FieldError(prefix + "symptoms", UNKNOWN_SYMPTOM, {"value": code[:40]}))
    if data.test_result and data.test_result not in TEST_RESULTS:
        errors.append(FieldError(prefix + "test_result", CHOOSE))
    if len(data.note) > 500:
        errors.append(FieldError(prefix + "note", N_("The note is too long (at most 500 characters).")))
    return errors


CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
BAD_CLIENT_ID = N_("The device's id of this recording is not valid.")


def record_follow_up(session: Session, user: User, follow_up_id: int, data: FollowUpInput,
                     client_id: str | None = None) -> FollowUpRow:
    """Record what a follow-up found; fever, a symptom or a positive test refers the person to health at once.

    With the device's `client_id` (the offline queue), sending the same recording again returns it unchanged.
    """
    row = get_follow_up(session, user, follow_up_id, FOLLOWUP_RECORD)
    f = row.follow_up
    if client_id is not None:
        if not CLIENT_ID.match(client_id):
            raise ValidationFailed.one("client_id", BAD_CLIENT_ID)
        if f.client_id == client_id:
            return row  # already recorded from this device: nothing doubled
        if session.execute(select(FollowUp.id).where(FollowUp.client_id == client_id)).first() is not None:
            raise Conflict(N_("This device id was already used for another follow-up."))
    observation = session.get(Observation, f.observation_id)
    if observation is None or observation.released_at is not None:
        raise NotFound()
    errors = check_input(data)
    if f.day > local_today():
        errors.insert(0, FieldError("day", NOT_YET, {"day": f.day.isoformat()}))
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    symptoms = ",".join(dict.fromkeys(data.symptoms))
    changed = rowcount(session.execute(update(FollowUp).where(FollowUp.id == f.id, FollowUp.done_at.is_(None)).values(
        done_at=now, done_by=user.display_name, temperature_c=round(float(data.temperature_c or 0), 1),
        symptoms=symptoms, test_result=data.test_result or None, note=" ".join(data.note.split()) or None,
        client_id=client_id)))
    if changed != 1:
        session.refresh(f)
        if client_id is not None and f.client_id == client_id:  # the same recording, sent twice at once
            return get_follow_up(session, user, f.id)
        raise Conflict(ALREADY_SELF if f.source == "self_report" else ALREADY)
    session.refresh(f)
    audit.record(session, "record", "follow_ups", f.id, person=f.person_id)
    if has_findings(f):
        referral = Referral(source=FEVER_REASON, person_id=f.person_id, at=now, reason=_reason(f))
        session.add(referral)
        session.flush()
        f.referral_id = referral.id
        session.flush()
    return get_follow_up(session, user, f.id)


def _reason(f: FollowUp) -> str:
    """The referral's reason as health reads it on the referrals page (stored text, in Chinese like the data)."""
    from fangkong.core.i18n import translations

    zh = translations("zh_CN")
    parts = [f"随访发现：体温 {f.temperature_c:.1f} °C"]
    parts += [zh.gettext(SYMPTOMS[c]) for c in f.symptoms.split(",") if c]
    if f.test_result == "positive":
        parts.append(zh.gettext(N_("Positive")))
    return "，".join(parts)[:255]


# --- release and timeline --------------------------------------------------------------------------

def findings_text(f: FollowUp) -> str:
    """Return what a follow-up found, in the current language (for reasons shown to staff)."""
    parts = []
    if f.temperature_c is not None and f.temperature_c >= FEVER_C:
        parts.append(gettext(N_("fever {t} °C"), t=f"{f.temperature_c:.1f}"))
    parts += [gettext(SYMPTOMS[c]) for c in f.symptoms.split(",") if c in SYMPTOMS]
    if f.test_result == "positive":
        parts.append(gettext(POSITIVE))
    return gettext(N_(", ")).join(parts)


def release_blockers(session: Session, observation_ids: list[int]) -> dict[int, FollowUp]:
    """Return, per observation, the first follow-up that found fever, symptoms or a positive test."""
    if not observation_ids:
        return {}
    stmt = (select(FollowUp).where(FollowUp.observation_id.in_(observation_ids), FollowUp.done_at.is_not(None),
                                   _findings_clause())
            .order_by(FollowUp.day, FollowUp.id))
    out: dict[int, FollowUp] = {}
    for f in session.execute(stmt).scalars():
        out.setdefault(f.observation_id, f)
    return out


def blocked_reason(f: FollowUp) -> ValidationFailed:
    return ValidationFailed.one("status", BLOCKED, day=f.day.isoformat(), findings=findings_text(f))


def follow_up_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    """The follow-ups' contribution to a person's timeline: each recorded follow-up, and its referral."""
    entries = []
    for f in session.execute(select(FollowUp).where(FollowUp.person_id == person_id,
                                                    FollowUp.done_at.is_not(None))).scalars():
        parts = (METHODS[f.method], f"{f.temperature_c:.1f} °C" if f.temperature_c is not None else "",
                 *(SYMPTOMS[c] for c in f.symptoms.split(",") if c in SYMPTOMS),
                 TEST_RESULTS.get(f.test_result or "", ""), f.note or "", f.done_by or "")
        entries.append(TimelineEntry(f.done_at, N_("Follow-up"), parts, f"/followups/{f.id}"))  # type: ignore[arg-type]
        if f.referral_id is not None:
            entries.append(TimelineEntry(f.done_at, N_("Referred to health"),  # type: ignore[arg-type]
                                         (N_("from a follow-up"),)))
    return entries


def status_of_follow_ups(session: Session, observation_ids: list[int], day: date) -> dict[int, FollowUp]:
    """Return the day's follow-up per observation (for "my persons")."""
    if not observation_ids:
        return {}
    rows = session.execute(select(FollowUp).where(FollowUp.observation_id.in_(observation_ids),
                                                  FollowUp.day == day)).scalars()
    return {f.observation_id: f for f in rows}

