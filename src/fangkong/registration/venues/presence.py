"""Visits as presence records for tracing (core.presence contract).

A visit without a check-out counts as a stay of `assumed_stay_minutes` (setting
FANGKONG_VISIT_ASSUMED_STAY_MINUTES, default 60): most people never tap "check out", and a stay of
an hour at a market or a shop is the usual assumption of field tracers. Visits not yet linked to a
person file are linked here first, in the caller's transaction (the caller commits it), so tracing
never sees a visit without its person.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.presence import PresenceRecord
from fangkong.registration.venues.models import Venue, Visit
from fangkong.registration.venues.service import link_pending_visits

DEFAULT_STAY_MINUTES = 60


def visit_presence(session: Session, start: datetime, end: datetime,
                   assumed_stay_minutes: int = DEFAULT_STAY_MINUTES) -> list[PresenceRecord]:
    """Return the visits that began in [start, end) as presence records (place "venue:<id>")."""
    window = (Visit.checked_in_at >= start, Visit.checked_in_at < end)
    while link_pending_visits(session, limit=5000, where=window):
        pass
    stay = timedelta(minutes=assumed_stay_minutes)
    rows = session.execute(select(Visit.person_id, Visit.venue_id, Visit.checked_in_at, Visit.checked_out_at)
                           .where(*window).order_by(Visit.checked_in_at, Visit.id)).all()
    return [PresenceRecord(person=person_id, place=f"venue:{venue_id}", place_kind="venue", t_in=t_in,
                           t_out=t_out or t_in + stay, source="checkin")
            for person_id, venue_id, t_in, t_out in rows if person_id is not None]  # not linked: nobody to trace


def visit_place_names(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """Return the venue names of the "venue:<id>" place keys (with the address, as staff know venues)."""
    ids = {int(k[6:]) for k in keys if k.startswith("venue:") and k[6:].isdigit()}
    if not ids:
        return {}
    rows = session.execute(select(Venue.id, Venue.name, Venue.address).where(Venue.id.in_(ids)))
    return {f"venue:{vid}": f"{name} · {address}" if address else name for vid, name, address in rows}
