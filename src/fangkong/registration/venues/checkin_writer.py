"""Group commit for check-ins (core.group_commit): one writer thread inserts each batch of check-ins in
one transaction, with the batch's audit rows, and acknowledges every request only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database, utcnow
from fangkong.core.group_commit import GroupCommit
from fangkong.registration.venues.models import Visit


@dataclass(frozen=True)
class CheckinRow:
    client_id: str
    venue_id: int
    name: str
    phone: str
    ip: str | None
    request_id: str | None


@dataclass(frozen=True)
class Recorded:
    visit_id: int
    venue_id: int
    checked_in_at: datetime
    replayed: bool  # the nonce was already recorded: this is a retry


class NonceReused(Exception):
    """The nonce was recorded for another venue."""


class CheckinWriter(GroupCommit[CheckinRow, Recorded]):
    def __init__(self, db: Database, batch_max: int = 500,
                 idle_work: Callable[[], None] | None = None, idle_every: float = 2.0) -> None:
        super().__init__(db, write_checkins, "checkin-writer", batch_max, idle_work, idle_every)


def write_checkins(session: Session, rows: list[CheckinRow]) -> list[Recorded | BaseException]:
    """Insert a batch of check-ins with their audit rows; a nonce seen before answers as a replay."""
    now = utcnow()
    inserted = _insert(session, rows, now)
    missing = [r.client_id for r in rows if r.client_id not in inserted]
    earlier = _existing(session, missing) if missing else {}
    for row in rows:
        if row.client_id in inserted:
            with acting_as(Actor(username="public", ip=row.ip, request_id=row.request_id)):
                audit.record(session, "checkin", "visits", inserted[row.client_id], venue=row.venue_id)
    out: list[Recorded | BaseException] = []
    for row in rows:
        if row.client_id in inserted:
            out.append(Recorded(inserted[row.client_id], row.venue_id, now, False))
        else:
            visit_id, venue_id, at = earlier[row.client_id]
            out.append(NonceReused() if venue_id != row.venue_id else Recorded(visit_id, venue_id, at, True))
    return out


def _insert(session: Session, rows: list[CheckinRow], now: datetime) -> dict[str, int]:
    """Insert the batch in one statement; a nonce already recorded is skipped (ON CONFLICT DO NOTHING)."""
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in rows:
        if r.client_id not in seen:  # the same nonce twice in one batch: a double tap
            seen.add(r.client_id)
            values.append({"client_id": r.client_id, "venue_id": r.venue_id, "name": r.name, "phone": r.phone,
                           "checked_in_at": now})
    # One cached statement, executed with the batch's rows ("insertmanyvalues": a few multi-row INSERTs
    # rendered by the driver layer, never a statement compiled per batch size).
    stmt = make(Visit).on_conflict_do_nothing(index_elements=["client_id"]).returning(Visit.id, Visit.client_id)
    return {client_id: visit_id for visit_id, client_id in session.execute(stmt, values)}


def _existing(session: Session, client_ids: list[str]) -> dict[str, tuple[int, int, datetime]]:
    rows = session.execute(select(Visit.client_id, Visit.id, Visit.venue_id, Visit.checked_in_at)
                           .where(Visit.client_id.in_(client_ids))).all()
    return {c: (i, v, at) for c, i, v, at in rows}
