"""Public registration figures: arrivals (from risk areas), venue check-ins, gatherings, venues closed."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fangkong.core.capability import DayWindow, Figure, FigureKind
from fangkong.core.i18n import N_
from fangkong.registration.arrivals.models import Arrival
from fangkong.registration.gatherings.models import Gathering, GatheringAttendee
from fangkong.registration.venues.models import Inspection, Venue, Visit

KINDS = (
    FigureKind("registration.arrivals", N_("Arrivals registered"), N_("persons")),
    FigureKind("registration.arrivals_risk", N_("Arrivals from risk areas"), N_("persons"), incident=True),
    FigureKind("registration.checkins", N_("Venue check-ins"), N_("visits")),
    FigureKind("registration.gatherings", N_("Gatherings held"), N_("gatherings")),
    FigureKind("registration.attendees", N_("Gathering attendees"), N_("persons")),
    FigureKind("registration.venues_closed", N_("Venues closed"), N_("venues"), incident=True),
)


def daily_figures(session: Session, window: DayWindow) -> Iterable[Figure]:
    """Return the day's counts per unit that owns the registration, venue or gathering."""
    start, end = window.start, window.end
    arrivals = session.execute(
        select(Arrival.unit_id, func.count(Arrival.id), func.sum(case((Arrival.risk_level.is_not(None), 1), else_=0)))
        .where(Arrival.created_at >= start, Arrival.created_at < end).group_by(Arrival.unit_id)).all()
    for unit_id, n, risk in arrivals:
        yield unit_id, "registration.arrivals", n
        yield unit_id, "registration.arrivals_risk", int(risk or 0)
    visits = session.execute(select(Venue.unit_id, func.count(Visit.id)).join(Venue, Venue.id == Visit.venue_id)
                             .where(Visit.checked_in_at >= start, Visit.checked_in_at < end)
                             .group_by(Venue.unit_id)).all()
    yield from ((u, "registration.checkins", n) for u, n in visits)
    gatherings = session.execute(
        select(Gathering.unit_id, func.count(func.distinct(Gathering.id)), func.count(GatheringAttendee.id))
        .outerjoin(GatheringAttendee, GatheringAttendee.gathering_id == Gathering.id)
        .where(Gathering.starts_at >= start, Gathering.starts_at < end).group_by(Gathering.unit_id)).all()
    for unit_id, n, attendees in gatherings:
        yield unit_id, "registration.gatherings", n
        yield unit_id, "registration.attendees", attendees
    closed = session.execute(select(Venue.unit_id, func.count(Inspection.id))
                             .join(Venue, Venue.id == Inspection.venue_id)
                             .where(Inspection.kind == "closure", Inspection.at >= start, Inspection.at < end)
                             .group_by(Venue.unit_id)).all()
    yield from ((u, "registration.venues_closed", n) for u, n in closed)
