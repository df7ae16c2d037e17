"""Gatherings on a person's timeline: each gathering attended."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.i18n import N_
from fangkong.people.timeline import TimelineEntry
from fangkong.registration.gatherings.models import Gathering, GatheringAttendee
from fangkong.registration.gatherings.service import KINDS


def gathering_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    rows = session.execute(select(Gathering.id, Gathering.starts_at, Gathering.kind, Gathering.title, Gathering.address)
                           .join(GatheringAttendee, GatheringAttendee.gathering_id == Gathering.id)
                           .where(GatheringAttendee.person_id == person_id)).all()
    return [TimelineEntry(at, N_("Gathering attended"), (KINDS[kind], title, address), f"/gatherings/{gid}")
            for gid, at, kind, title, address in rows]
