"""What waits for a unit in its lead queue: open legs, the overdue ones, those due within the hour."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fangkong.core.access import LEAD_READ, can, restrict
from fangkong.core.capability import Tile
from fangkong.core.db import utcnow
from fangkong.core.i18n import N_
from fangkong.core.models import Role, User
from fangkong.leads.models import LeadLeg


def home_tiles(session: Session, user: User, _settings: Any) -> list[Tile]:
    if not can(user, LEAD_READ) or user.role == Role.COMMAND:
        return []
    now = utcnow()
    stmt = restrict(select(func.count(LeadLeg.id), func.sum(case((LeadLeg.due_at < now, 1), else_=0)),
                           func.sum(case((LeadLeg.due_at.between(now, now + timedelta(hours=1)), 1), else_=0)))
                    .where(LeadLeg.status == "open"), user, LeadLeg.unit_id)
    if user.role == Role.COMMUNITY:
        stmt = stmt.where(LeadLeg.kind == "community")
    total, overdue, soon = session.execute(stmt).one()
    return [Tile(int(total or 0), N_("Leads to verify"), "/leads", order=4),
            Tile(int(overdue or 0), N_("Leads overdue"), "/leads?state=overdue", alert=bool(overdue), order=5),
            Tile(int(soon or 0), N_("Leads due within the hour"), "/leads", alert=bool(soon), order=6)]
