"""What person files, observation and follow-up contribute to the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fangkong.core.access import FOLLOWUP_RECORD, PERSON_READ, can, restrict
from fangkong.core.capability import Capability, OfflinePage, Tile
from fangkong.core.i18n import N_
from fangkong.core.models import Role, User
from fangkong.core.scheduler import Job
from fangkong.core.web.limits import Upload
from fangkong.people import (
    api,
    exports,
    figures,
    followup_api,
    followup_imports,
    followup_web,
    loops,
    selfreport_web,
    web,
)
from fangkong.people.care import scoped
from fangkong.people.care_models import FollowUp
from fangkong.people.cli import followups_app
from fangkong.people.followups import follow_up_entries, local_today
from fangkong.people.models import Person


def _tiles(session: Session, user: User, _settings: Any) -> list[Tile]:
    tiles = []
    if can(user, FOLLOWUP_RECORD):  # today's round: who is still to be followed up
        stmt = scoped(select(func.count(FollowUp.id), func.sum(case((FollowUp.done_at.is_(None), 1), else_=0)))
                      .join(Person, Person.id == FollowUp.person_id).where(FollowUp.day == local_today()),
                      user, FollowUp.observation_id, only_mine=user.role == Role.COMMUNITY)
        due, left = session.execute(stmt).one()
        tiles += [Tile(int(left or 0), N_("Follow-ups still to do today"), "/followups", alert=bool(left), order=7),
                  Tile(int(due or 0), N_("Follow-ups due today"), "/followups", order=8)]
    if can(user, PERSON_READ):
        persons = session.execute(restrict(select(func.count(Person.id)), user, Person.unit_id)).scalar_one()
        tiles.append(Tile(persons, N_("Person files in your jurisdiction"), "/people", order=90))
    return tiles


CAPABILITY = Capability(
    name="people",
    exports=exports.EXPORTS,
    pages=(web.router, followup_web.router, selfreport_web.router),
    api=(api.router, followup_api.router),
    nav=(*web.NAV, *followup_web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.people.models", "fangkong.people.care_models", "fangkong.people.referral_models",
            "fangkong.people.selfreport_models"),
    timeline=(follow_up_entries,),
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
