"""What observation contributes to the platform: risk status changes and the observation that follows,
care teams (三包一), daily follow-ups, referrals to health and self-report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fangkong.core.access import FOLLOWUP_RECORD, can
from fangkong.core.capability import Capability, OfflinePage, Tile
from fangkong.core.i18n import N_
from fangkong.core.models import Role, User
from fangkong.core.scheduler import Job
from fangkong.core.web.limits import Upload
from fangkong.observation import (
    exports,
    figures,
    followup_api,
    followup_imports,
    followup_web,
    loops,
    selfreport_web,
    status_api,
    status_web,
)
from fangkong.observation.care import scoped
from fangkong.observation.cli import followups_app
from fangkong.observation.followups import follow_up_entries, local_today
from fangkong.observation.models import FollowUp
from fangkong.people.models import Person


def _tiles(session: Session, user: User, _settings: Any) -> list[Tile]:
    if not can(user, FOLLOWUP_RECORD):
        return []
    # today's round: who is still to be followed up
    stmt = scoped(select(func.count(FollowUp.id), func.sum(case((FollowUp.done_at.is_(None), 1), else_=0)))
                  .join(Person, Person.id == FollowUp.person_id).where(FollowUp.day == local_today()),
                  user, FollowUp.observation_id, only_mine=user.role == Role.COMMUNITY)
    due, left = session.execute(stmt).one()
    return [Tile(int(left or 0), N_("Follow-ups still to do today"), "/followups", alert=bool(left), order=7),
            Tile(int(due or 0), N_("Follow-ups due today"), "/followups", order=8)]


CAPABILITY = Capability(
    name="observation",
    exports=exports.EXPORTS,
    pages=(status_web.router, followup_web.router, selfreport_web.router),
    api=(status_api.router, followup_api.router),
    nav=(*status_web.NAV, *followup_web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.observation.models",),
    timeline=(follow_up_entries,),
    person_panels=(status_web.risk_panel,),
    cli=(lambda app, _platform: app.add_typer(followups_app, name="followups"),),
    jobs=(Job("referrals.overdue", 60, loops.referral_overdue_job),
          Job("followups.lists", 900, loops.follow_up_lists_job),
          Job("selfreport.call_list", 300, loops.self_report_call_job)),
    tiles=_tiles,
    offline=(OfflinePage("/followups", frozenset({"station", "health", "community"})),),  # the daily round
    figures=figures.daily_figures,
    figure_kinds=figures.KINDS,
    uploads=(Upload(r"/followups/import"),),
    imports=followup_imports.IMPORTS,  # a big filled-in follow-up sheet is read and recorded as a background job
)
