"""What person files and record linkage contribute to the platform (observation is `observation/`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.access import PERSON_READ, can, restrict
from fangkong.core.capability import Capability, Tile
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.people import api, exports, web
from fangkong.people.models import Person


def _tiles(session: Session, user: User, _settings: Any) -> list[Tile]:
    if not can(user, PERSON_READ):
        return []
    persons = session.execute(restrict(select(func.count(Person.id)), user, Person.unit_id)).scalar_one()
    return [Tile(persons, N_("Person files in your jurisdiction"), "/people", order=90)]


CAPABILITY = Capability(
    name="people",
    exports=exports.EXPORTS,
    pages=(web.router,),
    api=(api.router,),
    nav=tuple(web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.people.models",),
    tiles=_tiles,
)
