"""Registering a passage: the write path every tablet, device and sheet import goes through (issue 3).

It does what the first path did (`bench/checkpoints_orm_path.py`, now the benchmark's baseline: flags,
person files linked or created by ID number, the people checked as presence rows, referrals to health,
idempotency on the device's client id, an audit row for every row written), in fewer round trips and
less Python:
- the checkpoint, the officer's posting and the risk areas' version come in one query, the risk areas
  themselves from this process's memory (`core.riskareas.load_risk_index`);
- the passage is inserted first with ON CONFLICT DO NOTHING on its client id, so a retry, even one
  racing the first request, never makes a second passage: it waits for the first and returns it;
- rows go in through Core inserts (one statement per table) and the audit rows a flush would write are
  added by `audit.record_created`; the watch list is one query on the linked person files;
- it works on batches (`register_passages`): the API's group commit (`checkpoints.writer`) writes the
  passages of concurrent requests in one transaction with the statements of one, each request keeping
  its own actor in the audit rows and its own errors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fangkong.checkpoints.flags import watched_persons
from fangkong.checkpoints.models import Checkpoint, CheckpointPost, Passage, PassagePerson
from fangkong.checkpoints.service import (
    GREEN_LANE,
    GREEN_LANE_NEEDS_PASS,
    CheckResult,
    PassageInput,
    check_codes,
    flag_people,
    visible_checkpoints,
)
from fangkong.core import audit
from fangkong.core.access import PASSAGE_WRITE, require
from fangkong.core.context import Actor, acting_as, current_actor
from fangkong.core.db import utcnow
from fangkong.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, User
from fangkong.core.riskareas import load_risk_index, risk_version
from fangkong.observation.models import Referral
from fangkong.passes.verification import green_lane_allowed
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


@dataclass(frozen=True)
class PassageRequest:
    """One passage to register, with who sends it (the audit rows' actor)."""

    user: User
    checkpoint_id: int
    data: PassageInput
    actor: Actor


Registered = tuple["SavedPassage | Passage", bool]  # the passage, and whether this request created it


def register_passage(session: Session, user: User, checkpoint_id: int,
                     data: PassageInput) -> Registered:
    """Save a passage with its people, files and referrals; the same client id again returns the first."""
    outcome = register_passages(session, [PassageRequest(user, checkpoint_id, data, current_actor.get())])[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


@dataclass
class _Pending:
    index: int
    request: PassageRequest
    checkpoint: _Posted
    checked: CheckResult
    row: dict[str, Any]
    links: list[Link] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)


def register_passages(session: Session, requests: list[PassageRequest]) -> list[Registered | DomainError]:
    """Save a batch of passages in the session's transaction, with as many statements for the batch as
    one passage takes (the API's group commit). Each request gets its passage, or the error that stopped
    it (nothing of that request is written; the others go on); a database error fails the batch."""
    now = utcnow()
    outcomes: list[Registered | DomainError | None] = [None] * len(requests)
    pending: list[_Pending] = []
    posts: dict[tuple[int, int], Any] = {}
    for index, request in enumerate(requests):
        try:
            with acting_as(request.actor):
                found = _validated(session, request, now, posts)
        except DomainError as exc:
            outcomes[index] = exc
            continue
        if isinstance(found, _Pending):
            found.index = index
            pending.append(found)
        else:
            outcomes[index] = found  # a retry whose body is wrong: answered with the stored passage
    first: dict[str, _Pending] = {}
    repeats: list[_Pending] = []
    for p in pending:  # the same client id twice in one batch: a double tap
        if first.setdefault(p.row["client_id"], p) is not p:
            repeats.append(p)
    fresh = list(first.values())
    inserted = _insert_passages(session, [p.row for p in fresh])
    created: list[_Pending] = []
    for p in fresh:
        client_id, checkpoint_id = p.row["client_id"], p.checkpoint.id
        if client_id in inserted:
            p.row["id"] = inserted[client_id]
            created.append(p)
            continue
        try:  # recorded before (a retry), or by a transaction that ON CONFLICT waited for
            existing = _existing(session, client_id, checkpoint_id)
        except DomainError as exc:
            outcomes[p.index] = exc
            continue
        if existing is None:
            raise RuntimeError("a passage conflicted on its client id but none has it")
        outcomes[p.index] = (existing, False)
    _link_all(session, created)
    _people_rows(session, created)
    for p in created:
        with acting_as(p.request.actor):
            audit.record_created(session, Passage, [p.row])
            audit.record_created(session, PassagePerson, p.people)
            _refer(session, p.checkpoint.id, p.row["at"], p.people)
        outcomes[p.index] = (_saved(p.row, p.people), True)
    for p in repeats:
        earlier = outcomes[first[p.row["client_id"]].index]
        if isinstance(earlier, tuple) and earlier[0].checkpoint_id != p.checkpoint.id:
            earlier = Conflict(OTHER_CHECKPOINT)
        outcomes[p.index] = (earlier[0], False) if isinstance(earlier, tuple) else earlier
    return [o for o in outcomes if o is not None]


def _validated(session: Session, request: PassageRequest, now: datetime,
               posts: dict[tuple[int, int], Any]) -> _Pending | Registered:
    """Check access and the codes; return what to insert (or the stored passage of a retry)."""
    user, data = request.user, request.data
    require(user, PASSAGE_WRITE)
    client_id = data.client_id.strip()[:64]
    if not client_id:
        raise ValidationFailed.one("client_id", N_("This field is required."))
    key = (user.id, request.checkpoint_id)
    if key not in posts:
        posts[key] = _checkpoint(session, user, request.checkpoint_id)
    found = posts[key]
    if found is None:
        raise NotFound()
    checkpoint, version = _Posted(found[0], found[1]), found[2]
    checked = check_codes(data, load_risk_index(session, now, version))
    if any(p.disposition == GREEN_LANE for p in checked.people) and not (
            data.pass_verification_id and green_lane_allowed(session, data.pass_verification_id, checkpoint.id,
                                                             checked.plate, now)):
        checked.errors.append(FieldError("pass_token", GREEN_LANE_NEEDS_PASS))  # a pass verified here, just now
    if checked.errors:
        existing = _existing(session, client_id, checkpoint.id)  # a retry is answered even if its body is wrong
        if existing is not None:
            return existing, False
        raise ValidationFailed(checked.errors)
    return _Pending(-1, request, checkpoint, checked, _passage_row(client_id, checkpoint.id, data, checked, now,
                                                                   request.actor))


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
def _insert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT (client_id) DO NOTHING RETURNING id, client_id, in the session's dialect."""
    table = Passage.__table__
    dml = postgresql if dialect == "postgresql" else sqlite
    return dml.insert(table).on_conflict_do_nothing(index_elements=["client_id"]).returning(
        table.c.id, table.c.client_id)


def _insert_passages(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert the passages (one cached statement, executemany); return the new ids by client id. A client
    id recorded before is skipped, even one a concurrent transaction is inserting (ON CONFLICT waits)."""
    if not rows:
        return {}
    conn = session.connection()  # Core statements skip the ORM's execution layer
    return {client_id: passage_id for passage_id, client_id in conn.execute(_insert_statement(conn.dialect.name),
                                                                             rows)}


@functools.cache
def _insert_people() -> Any:
    table = PassagePerson.__table__
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


def _passage_row(client_id: str, checkpoint_id: int, data: PassageInput, checked: CheckResult,
                 now: datetime, actor: Actor) -> dict[str, Any]:
    return {"client_id": client_id, "checkpoint_id": checkpoint_id, "at": data.at or now, "lane": data.lane,
            "plate": checked.plate, "plate_region": checked.plate_region,
            "origin": " ".join(data.origin.split())[:100] or None,
            "destination": " ".join(data.destination.split())[:100] or None,
            "reason": " ".join(data.reason.split())[:100] or None,
            "flags": ",".join(f for f, on in (("risk_plate", checked.plate_level),
                                              ("risk_origin", checked.origin_level)) if on),
            "recorded_by": actor.username, "corrected_at": None}


def _link_all(session: Session, passages: list[_Pending]) -> None:
    """Link every person of the batch to a file by ID number (or document) in one pass, opening unconfirmed
    files (audited for the request that brought them); then flag those on the watch list."""
    records = [IncomingRecord(name=person.name, id_number=person.id_number, phone=None, address=None,
                              unit_id=p.checkpoint.unit_id, doc_type=person.doc_type, doc_number=person.doc_number)
               for p in passages for person in p.checked.people]
    links = iter(link_persons(session, records, audit_new=False))  # audited below, per actor
    opened: set[int] = set()
    for p in passages:
        p.links = [next(links) for _ in p.checked.people]
        created = []
        for person, link in zip(p.checked.people, p.links, strict=True):
            if link.how == "new" and link.person_id not in opened:
                opened.add(link.person_id)
                created.append({
                    "id": link.person_id, "name": person.name, "id_number": person.id_number,
                    "doc_type": None if person.id_number else person.doc_type,
                    "doc_number": None if person.id_number else person.doc_number,
                    "sex": person.sex, "birth_date": person.birth_date, "unit_id": p.checkpoint.unit_id,
                    "unconfirmed": True})
        with acting_as(p.request.actor):
            audit.record_created(session, Person, created)
    # a file opened just now has no lead and no risk status yet: only the files found can be on the watch list
    watch = watched_persons(session, {link.person_id for p in passages for link in p.links if link.how != "new"})
    for p in passages:
        flag_people(p.checked, {person.id_number for person, link in zip(p.checked.people, p.links, strict=True)
                                if person.id_number and link.person_id in watch})


def _people_rows(session: Session, passages: list[_Pending]) -> None:
    """Insert the people checked, all of the batch in one executemany; keep each passage's rows."""
    for p in passages:
        p.people = [{"passage_id": p.row["id"], "person_id": link.person_id, "role": person.role,
                     "name": person.name, "id_number": person.id_number, "doc_type": person.doc_type,
                     "doc_number": person.doc_number, "temperature_c": person.temperature_c,
                     "disposition": person.disposition, "flags": ",".join(person.flags),
                     "override_reason": person.override_reason}
                    for person, link in zip(p.checked.people, p.links, strict=True)]
    rows = [row for p in passages for row in p.people]
    if not rows:
        return
    ids = session.connection().execute(_insert_people(), rows).scalars().all()
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id


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
