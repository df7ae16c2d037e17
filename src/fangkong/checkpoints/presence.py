"""Checkpoint passages as presence records for tracing (core/presence.py is the contract).

Each person checked is at the checkpoint for a moment (place kind `checkpoint`: others in the same queue
within the profile's tolerance are contacts); when a passage carries more than one person, they also
shared the vehicle (place kind `vehicle`, one place per passage).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import Checkpoint, Passage, PassagePerson
from fangkong.core.presence import PresenceRecord

SOURCE = "checkpoint"


def passage_presence(session: Session, start: datetime, end: datetime) -> list[PresenceRecord]:
    """Return the presence records of the passages registered in [start, end)."""
    shared = (select(PassagePerson.passage_id).group_by(PassagePerson.passage_id)
              .having(func.count() > 1).scalar_subquery())
    rows = session.execute(
        select(PassagePerson.person_id, Passage.id, Passage.checkpoint_id, Passage.at,
               Passage.id.in_(shared).label("shared"))
        .join(Passage, Passage.id == PassagePerson.passage_id)
        .where(Passage.at >= start, Passage.at < end)
        .order_by(Passage.id, PassagePerson.id)).all()
    out: list[PresenceRecord] = []
    for person_id, passage_id, checkpoint_id, at, shared_vehicle in rows:
        out.append(PresenceRecord(person_id, f"checkpoint:{checkpoint_id}", "checkpoint", at, at, SOURCE))
        if shared_vehicle:
            out.append(PresenceRecord(person_id, f"passage:{passage_id}", "vehicle", at, at, SOURCE))
    return out


def passage_place_names(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """Return display names for the place keys this source writes (checkpoints, and vehicles by plate)."""
    checkpoints, passages = _ids(keys, "checkpoint:"), _ids(keys, "passage:")
    names: dict[str, str] = {}
    if checkpoints:
        for cid, name in session.execute(select(Checkpoint.id, Checkpoint.name).where(Checkpoint.id.in_(checkpoints))):
            names[f"checkpoint:{cid}"] = name
    if passages:
        rows = session.execute(select(Passage.id, Passage.plate, Checkpoint.name)
                               .join(Checkpoint, Checkpoint.id == Passage.checkpoint_id)
                               .where(Passage.id.in_(passages)))
        for pid, plate, checkpoint in rows:
            names[f"passage:{pid}"] = f"{plate or '—'} @ {checkpoint}"
    return names


def _ids(keys: Iterable[str], prefix: str) -> set[int]:
    return {int(k[len(prefix):]) for k in keys if k.startswith(prefix) and k[len(prefix):].isdigit()}
