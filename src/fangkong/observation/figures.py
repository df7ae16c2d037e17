"""Observation and follow-up figures (隔离观察, 随访, 移交卫健), per unit of the person's file."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fangkong.core.capability import DayWindow, Figure, FigureKind
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import utcnow
from fangkong.core.i18n import N_
from fangkong.observation.models import FollowUp, Observation, Referral, SelfReport
from fangkong.people.models import Person

KINDS = (
    FigureKind("observation.under_observation", N_("Under observation"), N_("persons"), kind="stock"),
    FigureKind("observation.centralised_quarantine", N_("In centralised quarantine"), N_("persons"), kind="stock"),
    FigureKind("observation.home_quarantine", N_("In home quarantine"), N_("persons"), kind="stock"),
    FigureKind("observation.health_monitoring", N_("Under health monitoring"), N_("persons"), kind="stock"),
    FigureKind("observation.observation_started", N_("Observations started"), N_("persons")),
    FigureKind("observation.released", N_("Released from observation"), N_("persons")),
    FigureKind("observation.followups_due", N_("Follow-ups due"), N_("follow-ups")),
    FigureKind("observation.followups_done", N_("Follow-ups done"), N_("follow-ups")),
    FigureKind("observation.followups_missed", N_("Follow-ups missed"), N_("follow-ups")),
    FigureKind("observation.referrals", N_("Referrals to health"), N_("persons"), incident=True),
    FigureKind("observation.self_reports", N_("Self-reports received"), N_("reports")),
    FigureKind("observation.self_report_referrals", N_("Self-reports with fever or symptoms"), N_("reports")),
)


def daily_figures(session: Session, window: DayWindow) -> Iterable[Figure]:
    """Return the day's counts per unit owning the person file."""
    open_at_end = (Observation.start < window.end,
                   (Observation.released_at.is_(None)) | (Observation.released_at >= window.end))
    observing = session.execute(
        select(Person.unit_id, Observation.kind, func.count(Observation.id))
        .join(Person, Person.id == Observation.person_id).where(*open_at_end)
        .group_by(Person.unit_id, Observation.kind)).all()
    totals: dict[int, int] = {}
    for unit_id, kind, n in observing:
        totals[unit_id] = totals.get(unit_id, 0) + n
        yield unit_id, f"observation.{kind}", n
    yield from ((u, "observation.under_observation", n) for u, n in totals.items())
    for column, key in ((Observation.start, "observation.observation_started"),
                        (Observation.released_at, "observation.released")):
        rows = session.execute(select(Person.unit_id, func.count(Observation.id))
                               .join(Person, Person.id == Observation.person_id)
                               .where(column >= window.start, column < window.end).group_by(Person.unit_id)).all()
        yield from ((u, key, n) for u, n in rows)
    day_over = window.end <= utcnow().astimezone(LOCAL_TZ)
    follow = session.execute(
        select(Person.unit_id, func.count(FollowUp.id), func.sum(case((FollowUp.done_at.is_not(None), 1), else_=0)))
        .join(Person, Person.id == FollowUp.person_id).where(FollowUp.day == window.day)
        .group_by(Person.unit_id)).all()
    for unit_id, due, done in follow:
        yield unit_id, "observation.followups_due", due
        yield unit_id, "observation.followups_done", int(done or 0)
        if day_over:  # today's not yet done are not missed yet
            yield unit_id, "observation.followups_missed", due - int(done or 0)
    referred = session.execute(select(Person.unit_id, func.count(Referral.id))
                               .join(Person, Person.id == Referral.person_id)
                               .where(Referral.at >= window.start, Referral.at < window.end)
                               .group_by(Person.unit_id)).all()
    yield from ((u, "observation.referrals", n) for u, n in referred)
    reports = session.execute(select(Person.unit_id, func.count(SelfReport.id), func.count(SelfReport.referral_id))
                              .join(Person, Person.id == SelfReport.person_id).where(SelfReport.day == window.day)
                              .group_by(Person.unit_id)).all()
    for unit_id, n, referred_n in reports:
        yield unit_id, "observation.self_reports", n
        yield unit_id, "observation.self_report_referrals", referred_n
