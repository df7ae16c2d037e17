"""What waits for a checkpoint officer and for health on their home pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import Checkpoint, Passage
from fangkong.checkpoints.service import visible_checkpoints
from fangkong.core.access import REFERRAL_ACK, REFERRAL_READ, can
from fangkong.core.capability import Tile
from fangkong.core.db import utcnow
from fangkong.core.i18n import N_
from fangkong.core.models import Role, User
from fangkong.observation.models import Referral


def home_tiles(session: Session, user: User, settings: Any) -> list[Tile]:
    if not can(user, REFERRAL_READ) or user.role not in (Role.CHECKPOINT, Role.HEALTH):
        return []
    now = utcnow()
    waiting = select(func.count(Referral.id)).where(Referral.acknowledged_at.is_(None))
    late = waiting.where(Referral.at < now - timedelta(minutes=settings.referral_overdue_minutes))
    if user.role == Role.CHECKPOINT:
        mine = visible_checkpoints(user).with_only_columns(Checkpoint.id)
        waiting, late = (q.where(Referral.checkpoint_id.in_(mine)) for q in (waiting, late))
        passages = session.execute(select(func.count(Passage.id)).where(
            Passage.checkpoint_id.in_(mine), Passage.at >= now - timedelta(hours=24))).scalar_one()
        first = session.execute(mine.limit(1)).scalar()
        tiles = [Tile(passages, N_("Passages registered (24 h)"), f"/checkpoints/{first}" if first else "/checkpoints",
                      order=1)]
    else:
        tiles = []
    n_waiting, n_late = session.execute(waiting).scalar_one(), session.execute(late).scalar_one()
    label = N_("Referrals waiting for you") if can(user, REFERRAL_ACK) else N_("Referrals health has not taken")
    tiles += [Tile(n_waiting, label, "/referrals", alert=n_waiting > 0 and user.role == Role.HEALTH, order=2),
              Tile(n_late, N_("Referrals overdue"), "/referrals", alert=n_late > 0, order=3)]
    return tiles
