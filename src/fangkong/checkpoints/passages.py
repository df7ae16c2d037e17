"""Registering a passage: the write path every tablet, device and sheet import goes through (issue 3).

It does what `service.register_passage_orm` does (flags, person files linked or created by ID number,
the people checked as presence rows, referrals to health, idempotency on the device's client id, an
audit row for every row written), in fewer round trips and less Python:
- the checkpoint, the officer's posting and the risk areas' version come in one query, the risk areas
  themselves from this process's memory (`flags.load_risk_index`);
- the passage is inserted first with ON CONFLICT DO NOTHING on its client id, so a retry, even one
  racing the first request, never makes a second passage: it waits for the first and returns it;
- rows go in through Core inserts (one statement per table) and the audit rows a flush would write are
  added by `audit.record_created`; the watch list is one query on the linked person files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fangkong.checkpoints.flags import load_risk_index, risk_version, watched_persons
from fangkong.checkpoints.models import Checkpoint, CheckpointPost, Passage, PassagePerson, Referral
from fangkong.checkpoints.service import (
    CheckedPerson,
    CheckResult,
    PassageInput,
    check_codes,
    flag_people,
    visible_checkpoints,
)
from fangkong.core import audit
from fangkong.core.access import PASSAGE_WRITE, require
from fangkong.core.context import current_actor
from fangkong.core.db import utcnow
from fangkong.core.errors import Conflict, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, User
from fangkong.people.matching import IncomingRecord, Link, link_persons
from fangkong.people.models import Person

OTHER_CHECKPOINT = N_("This client id was used for another checkpoint.")


@dataclass(frozen=True)
class SavedPerson:
    id: int
    person_id: int
    name: str
    id_number: str | None
    doc_type: str | None
    role: str
    temperature_c: float
    disposition: str
    flags: str


@dataclass(frozen=True)
class SavedPassage:
    """A passage as just written (what the API answers), without loading it back through the ORM."""

    id: int
    client_id: str
    checkpoint_id: int
    at: datetime
    plate: str | None
    plate_region: str | None
    origin: str | None
    destination: str | None
    flags: str
    people: list[SavedPerson] = field(default_factory=list)


def register_passage(session: Session, user: User, checkpoint_id: int,
                     data: PassageInput) -> tuple[SavedPassage | Passage, bool]:
    """Save a passage with its people, files and referrals; the same client id again returns the first."""
    require(user, PASSAGE_WRITE)
    client_id = data.client_id.strip()[:64]
    if not client_id:
        raise ValidationFailed.one("client_id", N_("This field is required."))
    found = _checkpoint(session, user, checkpoint_id)
    if found is None:
        raise NotFound()
    checkpoint, version = _Posted(found[0], found[1]), found[2]
    now = utcnow()
    checked = check_codes(data, load_risk_index(session, now, version))
    if checked.errors:
        existing = _existing(session, client_id, checkpoint.id)  # a retry is answered even if its body is wrong
        if existing is not None:
            return existing, False
        raise ValidationFailed(checked.errors)
    passage = _passage_row(client_id, checkpoint.id, data, checked, now)
    conn = session.connection()  # Core statements skip the ORM's execution layer
    passage_id = conn.execute(_insert_passage(conn.dialect.name), passage).scalar_one_or_none()
    if passage_id is None:
        existing = _existing(session, client_id, checkpoint.id)
        if existing is None:  # ON CONFLICT waited for the other insert, which committed: it is visible now
            raise RuntimeError("a passage conflicted on its client id but none has it")
        return existing, False
    passage["id"] = passage_id
    links = _link(session, checkpoint, checked, now)
    # a file opened just now has no lead and no risk status yet: only the files found can be on the watch list
    watch = watched_persons(session, {link.person_id for link in links if link.how != "new"})
    flag_people(checked, {p.id_number for p, link in zip(checked.people, links, strict=True)
                          if p.id_number and link.person_id in watch})
    people = _people_rows(session, passage_id, checked.people, links)
    audit.record_created(session, Passage, [passage])
    audit.record_created(session, PassagePerson, people)
    _refer(session, checkpoint.id, passage["at"], people)
    return _saved(passage, people), True


def _existing(session: Session, client_id: str, checkpoint_id: int) -> Passage | None:
    existing = session.execute(select(Passage).where(Passage.client_id == client_id)).scalar_one_or_none()
    if existing is not None and existing.checkpoint_id != checkpoint_id:
        raise Conflict(OTHER_CHECKPOINT)
    return existing


# The statements are built once (on first use) and executed with parameters: building and hashing a
# statement per request cost more Python than running it.

@dataclass(frozen=True)
class _Posted:
    id: int
    unit_id: int


@functools.cache
def _posted_checkpoint() -> Select[Any]:
    return (select(Checkpoint.id, Checkpoint.unit_id, risk_version())
            .join(CheckpointPost, CheckpointPost.checkpoint_id == Checkpoint.id)
            .where(CheckpointPost.user_id == bindparam("user_id"), Checkpoint.id == bindparam("checkpoint_id")))


def _checkpoint(session: Session, user: User, checkpoint_id: int) -> Any:
    """Return (id, unit id, risk areas' version) of the checkpoint if the user may register passages there."""
    if user.role == Role.CHECKPOINT:  # the officers posted there: the common case, one prepared statement
        return session.connection().execute(_posted_checkpoint(), {"user_id": user.id,
                                                                     "checkpoint_id": checkpoint_id}).first()
    return session.execute(visible_checkpoints(user).where(Checkpoint.id == checkpoint_id).with_only_columns(
        Checkpoint.id, Checkpoint.unit_id, risk_version())).first()


@functools.cache
def _insert_passage(dialect: str) -> Any:
    """INSERT … ON CONFLICT (client_id) DO NOTHING RETURNING id, in the session's dialect."""
    table = Passage.__table__
    dml = postgresql if dialect == "postgresql" else sqlite
    return dml.insert(table).on_conflict_do_nothing(index_elements=["client_id"]).returning(table.c.id)


@functools.cache
def _insert_people() -> Any:
    table = PassagePerson.__table__
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


def _passage_row(client_id: str, checkpoint_id: int, data: PassageInput, checked: CheckResult,
                 now: datetime) -> dict[str, Any]:
    return {"client_id": client_id, "checkpoint_id": checkpoint_id, "at": data.at or now, "lane": data.lane,
            "plate": checked.plate, "plate_region": checked.plate_region,
            "origin": " ".join(data.origin.split())[:100] or None,
            "destination": " ".join(data.destination.split())[:100] or None,
            "reason": " ".join(data.reason.split())[:100] or None,
            "flags": ",".join(f for f, on in (("risk_plate", checked.plate_level),
                                              ("risk_origin", checked.origin_level)) if on),
            "recorded_by": current_actor.get().username, "corrected_at": None}


def _link(session: Session, checkpoint: _Posted, checked: CheckResult, now: datetime) -> list[Link]:
    """Link each person to a file by ID number (or document), opening unconfirmed files; audit the new ones."""
    links = link_persons(session, [IncomingRecord(name=p.name, id_number=p.id_number, phone=None, address=None,
                                                  unit_id=checkpoint.unit_id, doc_type=p.doc_type,
                                                  doc_number=p.doc_number) for p in checked.people])
    created: dict[int, dict[str, Any]] = {}
    for person, link in zip(checked.people, links, strict=True):
        if link.how == "new" and link.person_id not in created:
            created[link.person_id] = {
                "id": link.person_id, "name": person.name, "id_number": person.id_number,
                "doc_type": None if person.id_number else person.doc_type,
                "doc_number": None if person.id_number else person.doc_number,
                "sex": person.sex, "birth_date": person.birth_date, "unit_id": checkpoint.unit_id,
                "unconfirmed": True}
    audit.record_created(session, Person, list(created.values()))
    return links


def _people_rows(session: Session, passage_id: int, people: list[CheckedPerson],
                 links: list[Link]) -> list[dict[str, Any]]:
    rows = [{"passage_id": passage_id, "person_id": link.person_id, "role": p.role, "name": p.name,
             "id_number": p.id_number, "doc_type": p.doc_type, "doc_number": p.doc_number,
             "temperature_c": p.temperature_c, "disposition": p.disposition, "flags": ",".join(p.flags)}
            for p, link in zip(people, links, strict=True)]
    ids = session.connection().execute(_insert_people(), rows).scalars().all()
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    return rows


def _refer(session: Session, checkpoint_id: int, at: datetime, people: list[dict[str, Any]]) -> None:
    """Hand the referred persons to health. Rare, so through the ORM (and its audit events) as before."""
    referred = [row for row in people if row["disposition"] == "referred"]
    for row in referred:
        session.add(Referral(passage_person_id=row["id"], person_id=row["person_id"], checkpoint_id=checkpoint_id,
                             at=at, reason=row["flags"] or "referred"))
    if referred:
        session.flush()


def _saved(passage: dict[str, Any], people: list[dict[str, Any]]) -> SavedPassage:
    return SavedPassage(
        id=passage["id"], client_id=passage["client_id"], checkpoint_id=passage["checkpoint_id"], at=passage["at"],
        plate=passage["plate"], plate_region=passage["plate_region"], origin=passage["origin"],
        destination=passage["destination"], flags=passage["flags"],
        people=[SavedPerson(id=r["id"], person_id=r["person_id"], name=r["name"], id_number=r["id_number"],
                            doc_type=r["doc_type"], role=r["role"], temperature_c=r["temperature_c"],
                            disposition=r["disposition"], flags=r["flags"]) for r in people])
