"""Registration's contribution to a person's timeline: arrivals registered and gatherings attended."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.codes import area_name
from fangkong.core.i18n import N_
from fangkong.people.timeline import TimelineEntry
from fangkong.registration.arrivals import LEVELS
from fangkong.registration.gatherings import KINDS
from fangkong.registration.models import Arrival, Gathering, GatheringAttendee


def arrival_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    rows = session.execute(select(Arrival).where(Arrival.person_id == person_id)).unique().scalars()
    return [TimelineEntry(a.created_at, N_("Arrival registration"),
                          tuple(p for p in (area_name(a.origin_code or "") or a.origin_text or "", a.route or "",
                                            LEVELS.get(a.risk_level or "", "")) if p),
                          f"/arrivals/{a.id}") for a in rows]


def gathering_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    rows = session.execute(select(Gathering.id, Gathering.starts_at, Gathering.kind, Gathering.title, Gathering.address)
                           .join(GatheringAttendee, GatheringAttendee.gathering_id == Gathering.id)
                           .where(GatheringAttendee.person_id == person_id)).all()
    return [TimelineEntry(at, N_("Gathering attended"), (KINDS[kind], title, address), f"/gatherings/{gid}")
            for gid, at, kind, title, address in rows]
