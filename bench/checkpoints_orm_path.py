"""The first passage write path (issue 3), kept out of the platform (issue 14: one write path): the
checkpoint benchmark's baseline and the reference `checkpoints.passages.register_passage` is tested
against. Not for use: on PostgreSQL two concurrent retries of one client id can both pass the lookup,
and the second then fails on the unique client id (the platform's path inserts with ON CONFLICT)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import Passage
from fangkong.checkpoints.service import PassageInput, _fill, _people, check_passage, get_checkpoint
from fangkong.core.access import PASSAGE_WRITE
from fangkong.core.context import current_actor
from fangkong.core.db import utcnow
from fangkong.core.errors import Conflict, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User


def register_passage_orm(session: Session, user: User, checkpoint_id: int,
                         data: PassageInput) -> tuple[Passage, bool]:
    """Save a passage through the ORM's unit of work; the same client id again returns the first."""
    checkpoint = get_checkpoint(session, user, checkpoint_id, PASSAGE_WRITE)
    client_id = data.client_id.strip()[:64]
    if not client_id:
        raise ValidationFailed.one("client_id", N_("This field is required."))
    existing = session.execute(select(Passage).where(Passage.client_id == client_id)).scalar_one_or_none()
    if existing is not None:
        if existing.checkpoint_id != checkpoint.id:
            raise Conflict(N_("This client id was used for another checkpoint."))
        return existing, False
    now = utcnow()
    checked = check_passage(session, data, now)
    if checked.errors:
        raise ValidationFailed(checked.errors)
    passage = Passage(client_id=client_id, checkpoint_id=checkpoint.id, at=data.at or now, lane=data.lane,
                      recorded_by=current_actor.get().username)
    _fill(passage, data, checked)
    _people(session, checkpoint, passage, checked)
    session.add(passage)
    session.flush()
    return passage, True
