"""One person, everything known: a timeline gathered from every capability that holds records of the
person (checkpoint passages, leads, referrals …), and the household (same household address).

Capabilities contribute through a `TimelineSource` given to `create_app`; people imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import PERSON_READ, get_visible, restrict
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.people.models import Person
from fangkong.people.service import PersonView


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # msgid of what happened, e.g. "Checkpoint passage"
    parts: tuple[str, ...]  # shown joined by " · "; msgids among them are translated, data stays as is
    link: str | None = None


TimelineSource = Callable[[Session, int], list[TimelineEntry]]


def person_timeline(session: Session, user: User, person_id: int,
                    sources: list[TimelineSource]) -> tuple[list[TimelineEntry], list[PersonView]]:
    """Return the person's timeline (newest first) and household, recording the read."""
    person = get_visible(session, user, Person, person_id, PERSON_READ)
    entries = [entry for source in [*sources, merge_entries] for entry in source(session, person.id)]
    entries.sort(key=lambda e: e.at, reverse=True)
    household: list[PersonView] = []
    if person.household_address:
        stmt = restrict(select(Person).where(Person.household_address == person.household_address,
                                             Person.id != person.id), user, Person.unit_id).order_by(Person.birth_date)
        household = [PersonView.of(p) for p in session.execute(stmt.limit(30)).unique().scalars()]
    audit.record(session, "read", "persons", person.id, part="timeline")
    return entries, household


def merge_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    """Return the merges into this file (and their undoing) as timeline entries."""
    from fangkong.people.merging import merges_into

    entries = []
    for m in merges_into(session, person_id):
        entries.append(TimelineEntry(m.merged_at, N_("Merged from another file"),
                                     (f"#{m.merged_id}", m.merged_name, m.merged_by, m.reason)))
        if m.unmerged_at:
            entries.append(TimelineEntry(m.unmerged_at, N_("Merge undone"),
                                         (f"#{m.merged_id}", m.unmerged_by or "", m.unmerge_reason or "")))
    return entries
