"""Tracing figures (流调溯源): cases traced, close and secondary contacts found, contacts dispatched."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.capability import DayWindow, Figure, FigureKind
from fangkong.core.i18n import N_
from fangkong.people.models import Person
from fangkong.tracing.models import Exposure, TraceCase

KINDS = (
    FigureKind("tracing.cases", N_("Cases traced"), N_("cases"), incident=True),
    FigureKind("tracing.close_contacts", N_("Close contacts found"), N_("persons"), incident=True),
    FigureKind("tracing.secondary_contacts", N_("Secondary contacts found"), N_("persons")),
    FigureKind("tracing.dispatched", N_("Contacts dispatched as leads"), N_("persons")),
)


def daily_figures(session: Session, window: DayWindow) -> Iterable[Figure]:
    """Return the day's counts per unit of the index case's file (contacts count with their case)."""
    traced = (TraceCase.traced_at >= window.start, TraceCase.traced_at < window.end)
    cases = session.execute(select(Person.unit_id, func.count(TraceCase.id))
                            .join(Person, Person.id == TraceCase.person_id).where(*traced)
                            .group_by(Person.unit_id)).all()
    yield from ((u, "tracing.cases", n) for u, n in cases)
    contacts = session.execute(
        select(Person.unit_id, Exposure.hop, func.count(Exposure.id))
        .join(TraceCase, TraceCase.id == Exposure.case_id).join(Person, Person.id == TraceCase.person_id)
        .where(*traced, Exposure.struck_at.is_(None)).group_by(Person.unit_id, Exposure.hop)).all()
    for unit_id, hop, n in contacts:
        yield unit_id, "tracing.close_contacts" if hop == 1 else "tracing.secondary_contacts", n
    dispatched = session.execute(
        select(Person.unit_id, func.count(Exposure.id))
        .join(TraceCase, TraceCase.id == Exposure.case_id).join(Person, Person.id == TraceCase.person_id)
        .where(Exposure.dispatched_at >= window.start, Exposure.dispatched_at < window.end)
        .group_by(Person.unit_id)).all()
    yield from ((u, "tracing.dispatched", n) for u, n in dispatched)
