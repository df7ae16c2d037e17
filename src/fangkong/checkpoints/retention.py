"""Retention of passages: a passage and its people are deleted FANGKONG_PASSAGE_RETENTION_DAYS after it
(core.retention runs it). A referral made at the checkpoint is health's record and stays; it only loses
its link to the deleted passage person."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import Passage, PassagePerson
from fangkong.core.db import rowcount
from fangkong.people.referral_models import Referral

BATCH = 5000


def purge_passages(session: Session, settings: Any, now: datetime) -> dict[str, int]:
    """Delete passages older than the retention period, with their people; return the counts."""
    cutoff = now - timedelta(days=settings.passage_retention_days)
    passages = people = 0
    while ids := list(session.execute(select(Passage.id).where(Passage.at < cutoff).limit(BATCH)).scalars()):
        old_people = select(PassagePerson.id).where(PassagePerson.passage_id.in_(ids))
        session.execute(update(Referral).where(Referral.passage_person_id.in_(old_people))
                        .values(passage_person_id=None))
        people += rowcount(session.execute(delete(PassagePerson).where(PassagePerson.passage_id.in_(ids)))) or 0
        passages += rowcount(session.execute(delete(Passage).where(Passage.id.in_(ids)))) or 0
    return {"passages": passages, "passage_people": people}
