"""The checkpoints' contribution to a person's timeline: passages and referrals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints.flags import FLAG_LABELS
from fangkong.checkpoints.models import Checkpoint, Passage, PassagePerson
from fangkong.checkpoints.service import DISPOSITIONS
from fangkong.core.i18n import N_
from fangkong.observation.models import Referral
from fangkong.people.timeline import TimelineEntry


def passage_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    rows = session.execute(select(Passage.at, Passage.plate, Checkpoint.name, PassagePerson.temperature_c,
                                  PassagePerson.disposition, PassagePerson.flags)
                           .join(Passage, Passage.id == PassagePerson.passage_id)
                           .join(Checkpoint, Checkpoint.id == Passage.checkpoint_id)
                           .where(PassagePerson.person_id == person_id)).all()
    entries = [TimelineEntry(at, N_("Checkpoint passage"),
                             (name, plate or "", f"{temperature:.1f} °C", DISPOSITIONS[disposition],
                              *(FLAG_LABELS[f] for f in flags.split(",") if f)))
               for at, plate, name, temperature, disposition, flags in rows]
    for referral in session.execute(select(Referral).where(Referral.person_id == person_id,
                                                           Referral.acknowledged_at.is_not(None))).scalars():
        entries.append(TimelineEntry(referral.acknowledged_at, N_("Received by health"),  # type: ignore[arg-type]
                                     (referral.acknowledged_by or "",)))
    return entries
