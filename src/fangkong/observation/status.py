"""Risk status as a state machine, and the observation that follows from it (PROTOCOL.md profiles).

Who may change what: only health confirms, suspects or clears a case and releases; police units
(command, district, station) mark contacts, arrivals and fever referrals; a case is never turned back
into a contact. Every change keeps who, when, why and the evidence; the old period is closed, not
rewritten. Release happens only when the observation period has ended.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import PERSON_READ, PERSON_STATUS, get_visible, require, restrict
from fangkong.core.clock import local_time
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, Forbidden, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, Unit, User
from fangkong.core.protocol import get_profile
from fangkong.observation import followups
from fangkong.observation.models import FollowUp, Observation
from fangkong.people.models import CASES, STATUSES, Person, RiskStatus

HEALTH_ONLY = {"confirmed", "asymptomatic", "suspected", "released"}
OBSERVATION_KINDS = {"centralised_quarantine": N_("Centralised quarantine"), "home_quarantine": N_("Home quarantine"),
                     "health_monitoring": N_("Health monitoring")}

ONLY_HEALTH = N_("Only health may set this status.")
NO_DOWNGRADE = N_("A case cannot be turned back into a contact or an arrival.")
SAME_STATUS = N_("The person already has this status.")
GIVE_REASON = N_("Say why (at least {n} characters).")
NOT_DUE = N_("The observation period ends on {date}: release is not due yet.")
NOTHING_TO_RELEASE = N_("This person is not under observation.")
FUTURE_EXPOSURE = N_("The last exposure cannot lie in the future.")

StatusListener = Callable[[Session, User, int, str], object]  # (session, user, person id, new status)


@dataclass(frozen=True)
class StatusView:
    current: RiskStatus | None
    history: list[RiskStatus]
    observation: Observation | None

    @property
    def release_due(self) -> bool:
        obs = self.observation
        return obs is not None and obs.released_at is None and observation_end(obs) <= utcnow()


def observation_end(obs: Observation) -> datetime:
    """Return when the whole observation ends: after the home-monitoring tail, if the profile has one
    (edition-9 close contacts: 7 days centralised, then 3 days home monitoring, followed up daily)."""
    return obs.home_monitoring_until or obs.planned_end


def status_of(session: Session, user: User, person_id: int) -> StatusView:
    person = get_visible(session, user, Person, person_id, PERSON_READ)
    audit.record(session, "read", "risk_status", person.id)  # health data: every read leaves a trace (issue 17)
    history = list(session.execute(select(RiskStatus).where(RiskStatus.person_id == person.id)
                                   .order_by(RiskStatus.since.desc(), RiskStatus.id.desc())).scalars())
    current = next((s for s in history if s.ended_at is None), None)
    observation = session.execute(select(Observation).where(Observation.person_id == person.id,
                                                            Observation.released_at.is_(None))
                                  .order_by(Observation.id.desc()).limit(1)).scalar_one_or_none()
    return StatusView(current, history, observation)


def change_status(session: Session, user: User, person_id: int, status: str, reason: str, evidence: str = "",
                  last_exposure: datetime | None = None, place: str = "",
                  profile_name: str = "edition-9", listeners: Sequence[StatusListener] = ()) -> StatusView:
    """Set a person's risk status; an observation per the profile opens from the last exposure.

    `listeners` run after the change, in the same transaction (tracing upgrades the secondary contacts
    of a contact who turned positive); people imports none of them.
    """
    person = get_visible(session, user, Person, person_id, PERSON_STATUS)
    view = status_of(session, user, person.id)
    _check(user, view.current.status if view.current else None, status, reason, last_exposure)
    now = utcnow()
    if view.current is not None:
        changed = rowcount(session.execute(update(RiskStatus).where(
            RiskStatus.id == view.current.id, RiskStatus.ended_at.is_(None)).values(ended_at=now)))
        if changed != 1:
            raise Conflict(N_("The status was changed meanwhile; reload and try again."))
    if view.observation is not None:
        if status == "released":
            _refuse_if_findings(session, view.observation.id)
        view.observation.released_at, view.observation.released_by = now, f"{user.display_name} ({status})"
        followups.drop_pending(session, view.observation.id)
    entry = RiskStatus(person_id=person.id, status=status, since=now, set_by=user.display_name,
                       reason=reason.strip()[:500], evidence=evidence.strip()[:500] or None)
    session.add(entry)
    session.flush()
    rule = get_profile(profile_name).observation.get(status)
    if rule is not None:
        start = last_exposure or now
        end = start + timedelta(days=rule.days)
        session.add(Observation(person_id=person.id, risk_status_id=entry.id, kind=rule.kind,
                                place=place.strip() or None, start=start, planned_end=end,
                                home_monitoring_until=end + timedelta(days=rule.then_home_monitoring_days)
                                if rule.then_home_monitoring_days else None,
                                test_days=",".join(map(str, rule.test_days)), profile=profile_name))
    session.flush()
    for listener in listeners:
        listener(session, user, person.id, status)
    return status_of(session, user, person.id)


def _check(user: User, old: str | None, new: str, reason: str, last_exposure: datetime | None) -> None:
    if new not in STATUSES:
        raise ValidationFailed.one("status", N_("Choose one of the options."))
    if new in HEALTH_ONLY and user.role != Role.HEALTH:
        raise Forbidden(ONLY_HEALTH)
    if old == new:
        raise ValidationFailed.one("status", SAME_STATUS)
    if old in CASES and new not in CASES | {"released"}:
        raise ValidationFailed.one("status", NO_DOWNGRADE)
    if len(reason.strip()) < 4:
        raise ValidationFailed.one("reason", GIVE_REASON, n=4)
    if last_exposure is not None and last_exposure > utcnow():
        raise ValidationFailed.one("last_exposure", FUTURE_EXPOSURE)


def release(session: Session, user: User, person_id: int, reason: str = "") -> StatusView:
    """Release a person whose observation period has ended (health only)."""
    if user.role != Role.HEALTH:
        raise Forbidden(ONLY_HEALTH)
    view = status_of(session, user, person_id)
    obs = view.observation
    if obs is None or view.current is None:
        raise ValidationFailed.one("status", NOTHING_TO_RELEASE)
    if observation_end(obs) > utcnow():
        raise ValidationFailed.one("status", NOT_DUE, date=local_time(observation_end(obs), "%Y-%m-%d %H:%M"))
    _refuse_if_findings(session, obs.id)
    return change_status(session, user, person_id, "released", reason or "观察期满，无症状")


def _refuse_if_findings(session: Session, observation_id: int) -> None:
    """Fever, a symptom or a positive test in a follow-up blocks release until health has assessed the person
    (by setting another status, e.g. suspected or fever referral, which opens its own observation)."""
    blocker = followups.release_blockers(session, [observation_id]).get(observation_id)
    if blocker is not None:
        raise followups.blocked_reason(blocker)


def active_risk_query(person_ids: Any) -> Select[int]:
    """Return a query of the persons among these (ids, or a query of ids) with a current risk status other
    than released: callers fold it into a larger query (the checkpoint watch list costs one round trip)."""
    return select(RiskStatus.person_id).where(RiskStatus.person_id.in_(person_ids), RiskStatus.ended_at.is_(None),
                                              RiskStatus.status != "released")


def active_risk(session: Session, person_ids: set[int]) -> set[int]:
    """Return the persons among these with a current risk status other than released (a watch list)."""
    if not person_ids:
        return set()
    return set(session.execute(active_risk_query(sorted(person_ids))).scalars())


@dataclass(frozen=True)
class DueRelease:
    person_id: int
    name: str
    status: str
    planned_end: datetime  # the end of the whole observation, home monitoring included
    unit_name: str
    observation_id: int = 0
    blocked: str = ""  # why release is blocked (what a follow-up found), or ""


def release_list(session: Session, user: User) -> list[DueRelease]:
    """Return persons in the jurisdiction whose observation period has ended (health's release list)."""
    end = func.coalesce(Observation.home_monitoring_until, Observation.planned_end)
    stmt = restrict(select(Person.id, Person.name, RiskStatus.status, end, Unit.name, Observation.id)
                    .join(Observation, Observation.person_id == Person.id)
                    .join(RiskStatus, RiskStatus.id == Observation.risk_status_id)
                    .join(Unit, Unit.id == Person.unit_id)
                    .where(Observation.released_at.is_(None), RiskStatus.ended_at.is_(None),
                           end <= utcnow()), user, Person.unit_id)
    rows = session.execute(stmt.order_by(end)).all()
    blockers = followups.release_blockers(session, [row[5] for row in rows])
    return [DueRelease(*row, blocked=_blocked_text(blockers.get(row[5]))) for row in rows]


def _blocked_text(f: FollowUp | None) -> str:
    return "" if f is None else f"{f.day.isoformat()} {followups.findings_text(f)}"


def release_all_due(session: Session, user: User, reason: str) -> int:
    """Release everyone on the release list in one action (each release audited as its own change); persons
    whose follow-ups found fever or symptoms stay on the list, marked blocked."""
    if user.role != Role.HEALTH:
        raise Forbidden(ONLY_HEALTH)
    due = [row for row in release_list(session, user) if not row.blocked]
    for row in due:
        release(session, user, row.person_id, reason)
    return len(due)


def status_counts(session: Session, user: User) -> list[tuple[str, str, int]]:
    """Return (district, status, persons) for current risk statuses in the jurisdiction."""
    require(user, PERSON_READ)
    district = select(Unit.id, Unit.name, Unit.path).where(Unit.kind == "district").subquery()
    stmt = restrict(select(district.c.name, RiskStatus.status, func.count(RiskStatus.person_id))
                    .join(Person, Person.id == RiskStatus.person_id)
                    .join(Unit, Unit.id == Person.unit_id)
                    .join(district, Unit.path.startswith(district.c.path))
                    .where(RiskStatus.ended_at.is_(None))
                    .group_by(district.c.name, RiskStatus.status), user, Person.unit_id)
    return [(d, s, n) for d, s, n in session.execute(stmt.order_by(district.c.name)).all()]
