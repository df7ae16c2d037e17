"""Presence records: the stays every source capability contributes to tracing (DESIGN §2).

Sources (checkpoints, registration) keep their own rows in their own tables, in the transaction that
acknowledges them. Each source module exposes

    <source>_presence(session, start: datetime, end: datetime) -> Iterable[PresenceRecord]

returning the stays that began in [start, end) (aware datetimes, UTC in the database), and

    <source>_place_names(session, keys: Iterable[str]) -> dict[str, str]

naming the place keys it writes, for the pages (keys it does not know it leaves out). Tracing pulls
from every source by calendar day and rewrites that day's part of the presence store, so a late commit
or a later check-out is picked up on the next sync. Sources import this module, never tracing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PresenceRecord:
    """One stay: a person (file id, or an external key) at a place, from t_in to t_out.

    `place` is a stable key naming its source's object, e.g. "checkpoint:12" or "venue:88";
    `place_kind` is one of core.protocol.PLACE_KINDS; times are aware datetimes or epoch seconds.
    """

    person: int | str
    place: str
    place_kind: str
    t_in: datetime | int
    t_out: datetime | int
    source: str = "platform"
