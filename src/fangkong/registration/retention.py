"""Retention (PIPL: the shortest period the purpose needs): registrations past their purge date and venue
visits older than FANGKONG_VISIT_RETENTION_DAYS are deleted, and the purge says what it removed. Person
files, leads and risk status made from them stay: they belong to the people and leads capabilities and
their own rules. Declared as the capability's `retention` (core.retention runs every capability's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.db import rowcount, utcnow
from fangkong.registration.arrivals.models import Arrival
from fangkong.registration.gatherings.models import Gathering, GatheringAttendee
from fangkong.registration.venues.models import Visit


@dataclass(frozen=True)
class Purged:
    arrivals: int
    gatherings: int
    attendees: int


def purge_expired(session: Session, now: datetime | None = None, audited: bool = True) -> Purged:
    """Delete arrivals and gatherings (with their attendees) whose purge date has passed."""
    now = now or utcnow()
    gathering_ids = list(session.execute(select(Gathering.id).where(Gathering.purge_after <= now)).scalars())
    attendees = rowcount(session.execute(delete(GatheringAttendee).where(
        GatheringAttendee.gathering_id.in_(gathering_ids)))) if gathering_ids else 0
    gatherings = rowcount(session.execute(delete(Gathering).where(Gathering.id.in_(gathering_ids)))) \
        if gathering_ids else 0
    arrivals = rowcount(session.execute(delete(Arrival).where(Arrival.purge_after <= now)))
    result = Purged(arrivals or 0, gatherings or 0, attendees or 0)
    if audited:
        audit.record(session, "purge", "registrations", None, arrivals=result.arrivals, gatherings=result.gatherings,
                     attendees=result.attendees)
    return result


def purge_registrations(session: Session, settings: Any, now: datetime) -> dict[str, int]:
    """Registrations past their purge date and visits past FANGKONG_VISIT_RETENTION_DAYS (core.retention)."""
    cutoff = now - timedelta(days=settings.visit_retention_days)
    visits = rowcount(session.execute(delete(Visit).where(Visit.checked_in_at < cutoff))) or 0
    purged = purge_expired(session, now, audited=False)
    return {"arrivals": purged.arrivals, "gatherings": purged.gatherings, "attendees": purged.attendees,
            "visits": visits}
