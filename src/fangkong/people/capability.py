"""What person files, observation and follow-up contribute to the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.access import PERSON_READ, can, restrict
from fangkong.core.capability import Capability, Tile
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.people import api, figures, followup_api, followup_web, web
from fangkong.people.cli import followups_app
from fangkong.people.followups import follow_up_entries
from fangkong.people.models import Person


def _tiles(session: Session, user: User, _settings: Any) -> list[Tile]:
    if not can(user, PERSON_READ):
        return []
    persons = session.execute(restrict(select(func.count(Person.id)), user, Person.unit_id)).scalar_one()
    return [Tile(persons, N_("Person files in your jurisdiction"), "/people", order=90)]


CAPABILITY = Capability(
    name="people",
    pages=(web.router, followup_web.router),
    api=(api.router, followup_api.router),
    nav=(*web.NAV, *followup_web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.people.models", "fangkong.people.care_models", "fangkong.people.referral_models"),
    timeline=(follow_up_entries,),
    cli=(lambda app, _platform: app.add_typer(followups_app, name="followups"),),
    tiles=_tiles,
    figures=figures.daily_figures,
    figure_kinds=figures.KINDS,
)
