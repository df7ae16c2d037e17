"""Arrivals on a person's timeline: each arrival registration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.codes import area_name
from fangkong.core.i18n import N_
from fangkong.people.timeline import TimelineEntry
from fangkong.registration.arrivals.models import Arrival
from fangkong.registration.arrivals.service import LEVELS


def arrival_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    rows = session.execute(select(Arrival).where(Arrival.person_id == person_id)).unique().scalars()
    return [TimelineEntry(a.created_at, N_("Arrival registration"),
                          tuple(p for p in (area_name(a.origin_code or "") or a.origin_text or "", a.route or "",
                                            LEVELS.get(a.risk_level or "", "")) if p),
                          f"/arrivals/{a.id}") for a in rows]
