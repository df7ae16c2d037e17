"""The venues' contribution to a person's timeline: check-ins (and check-outs) at venues."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.clock import local_time
from fangkong.core.i18n import N_
from fangkong.people.timeline import TimelineEntry
from fangkong.registration.venues.models import Venue, Visit
from fangkong.registration.venues.service import KINDS


def visit_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    rows = session.execute(select(Visit.checked_in_at, Visit.checked_out_at, Venue.name, Venue.kind)
                           .join(Venue, Venue.id == Visit.venue_id).where(Visit.person_id == person_id)
                           .order_by(Visit.checked_in_at.desc()).limit(500)).all()
    return [TimelineEntry(at, N_("Venue check-in"),
                          (name, KINDS.get(kind, ""), *((N_("until"), local_time(out, "%H:%M")) if out else ())))
            for at, out, name, kind in rows]
