"""Merge and un-merge person files, with exactly what moved kept, so an un-merge restores it.

What points at a person is found from the schema, not from a list: every foreign key to `persons.id`
in `Base.metadata` (passages, leads, referrals, risk statuses, observations, and whatever table a later
capability adds). A table missing from the metadata cannot be forgotten silently either: deleting the
merged file would then violate its foreign key and the whole merge rolls back.

The merged file is deleted (its row is kept in the merge record), so no list, search or match can
meet it again; its pages redirect to the surviving file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import PERSON_MERGE, get_visible, in_jurisdiction, require
from fangkong.core.db import Base, utcnow
from fangkong.core.errors import Conflict, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, User
from fangkong.people.models import MatchPair, Person, PersonMerge, RiskStatus

# Fields the survivor takes from the merged file where it has none; id_number and the document go
# together with what they imply (birth date, sex).
FILLED = ("id_number", "doc_type", "doc_number", "phone", "sex", "birth_date", "current_address",
          "household_address", "area_code")
MIN_REASON = 2  # 同一人 says it all
DIFFERENT_IDS = N_("These files have different valid ID numbers: they are two people and cannot be merged.")
SAME_FILE = N_("A file cannot be merged into itself.")
REASON_REQUIRED = N_("Say why (at least {n} characters).")
ALREADY_UNDONE = N_("This merge has been undone already.")
SURVIVOR_GONE = N_("The surviving file was merged into another since; undo that merge first.")
NUMBER_TAKEN = N_("Another file holds this file's ID number or document now; it cannot be restored.")


def person_references() -> list[tuple[Table, str]]:
    """Return (table, column) of every foreign key to persons.id in the schema."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "persons" and fk.column.name == "id":
                found.append((table, fk.parent.name))
    return sorted(found, key=lambda tc: (tc[0].name, tc[1]))


def _reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if len(text) < MIN_REASON:
        raise ValidationFailed.one("reason", REASON_REQUIRED, n=MIN_REASON)
    return text[:500]


def merge_persons(session: Session, user: User, survivor_id: int, merged_id: int, reason: str,
                  pair_id: int | None = None) -> PersonMerge:
    """Merge file `merged_id` into `survivor_id`: re-point every linked record, fill the survivor's gaps."""
    require(user, PERSON_MERGE)
    if survivor_id == merged_id:
        raise ValidationFailed.one("merged_id", SAME_FILE)
    survivor = get_visible(session, user, Person, survivor_id, PERSON_MERGE)
    merged = get_visible(session, user, Person, merged_id, PERSON_MERGE)
    text = _reason(reason)
    if survivor.id_number and merged.id_number and survivor.id_number != merged.id_number:
        raise Conflict(DIFFERENT_IDS)
    row = _row_of(merged)
    moves = _move(session, merged.id, survivor.id)
    closed = _close_duplicates(session, survivor.id)
    session.delete(merged)
    session.flush()
    before = _fill(survivor, row)
    before["__closed__"] = closed
    record = PersonMerge(survivor_id=survivor.id, merged_id=row["id"], pair_id=pair_id, reason=text,
                         merged_row=json.dumps(row, default=_json, ensure_ascii=False),
                         survivor_before=json.dumps(before, default=_json, ensure_ascii=False),
                         moves=json.dumps(moves), merged_by=user.display_name)
    session.add(record)
    session.execute(update(MatchPair).where(MatchPair.status == "pending",
                                            MatchPair.left_id == min(survivor.id, row["id"]),
                                            MatchPair.right_id == max(survivor.id, row["id"]))
                    .values(status="merged", decided_at=utcnow(), decided_by=user.display_name))
    session.flush()
    audit.record(session, "merge", "persons", survivor.id, merged_id=row["id"], merge_id=record.id,
                 moved={key: len(ids) for key, ids in moves.items()})
    return record


def _row_of(person: Person) -> dict[str, Any]:
    return {c.key: getattr(person, c.key) for c in Person.__mapper__.column_attrs}


def _json(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _move(session: Session, source: int, target: int) -> dict[str, list[Any]]:
    moves: dict[str, list[Any]] = {}
    for table, column in person_references():
        pk = next(iter(table.primary_key.columns))
        ids = list(session.execute(select(pk).where(table.c[column] == source)).scalars())
        if ids:
            session.execute(update(table).where(table.c[column] == source).values({column: target}))
            moves[f"{table.name}.{column}"] = ids
    session.expire_all()  # ORM objects loaded before the Core updates are stale now
    return moves


def one_open_tables() -> list[tuple[Table, str]]:
    """Return the tables of which a person has at most one row open at a time, with the column that closes
    one: the risk status, and any table whose info names `one_open_per_person` (observation's, declared
    there so that person files need not know them). After a merge the survivor keeps the newest."""
    found = [(RiskStatus.__table__, "ended_at")]
    found += [(table, table.info["one_open_per_person"]) for table in Base.metadata.sorted_tables
              if "one_open_per_person" in table.info]
    return found


def _close_duplicates(session: Session, person_id: int) -> dict[str, list[int]]:
    now, closed = utcnow(), {}
    for table, column in one_open_tables():
        open_ids = list(session.execute(select(table.c.id).where(table.c.person_id == person_id,
                                                                 table.c[column].is_(None))
                                        .order_by(table.c.id.desc())).scalars())
        if len(open_ids) > 1:
            session.execute(update(table).where(table.c.id.in_(open_ids[1:])).values({column: now}))
            closed[table.name] = open_ids[1:]
    return closed


def _fill(survivor: Person, merged: dict[str, Any]) -> dict[str, Any]:
    before: dict[str, Any] = {"unconfirmed": survivor.unconfirmed}
    for key in FILLED:
        if getattr(survivor, key) is None and merged.get(key) is not None:
            if key in ("doc_type", "doc_number") and (survivor.doc_type or survivor.doc_number):
                continue
            before[key] = None
            setattr(survivor, key, merged[key])
    survivor.unconfirmed = False  # an officer has looked at it now
    return before


@dataclass(frozen=True)
class MergeView:
    id: int
    survivor_id: int
    merged_id: int
    merged_name: str
    reason: str
    merged_at: datetime
    merged_by: str
    moved: dict[str, int]
    unmerged_at: datetime | None
    unmerged_by: str | None
    unmerge_reason: str | None

    @classmethod
    def of(cls, m: PersonMerge) -> MergeView:
        return cls(m.id, m.survivor_id, m.merged_id, json.loads(m.merged_row).get("name", ""), m.reason,
                   m.merged_at, m.merged_by, {k: len(v) for k, v in json.loads(m.moves).items()},
                   m.unmerged_at, m.unmerged_by, m.unmerge_reason)


def merges_into(session: Session, person_id: int) -> list[MergeView]:
    """Return the merges into a person file, newest first (the caller has checked the person is visible)."""
    rows = session.execute(select(PersonMerge).where(PersonMerge.survivor_id == person_id)
                           .order_by(PersonMerge.merged_at.desc(), PersonMerge.id.desc())).scalars()
    return [MergeView.of(m) for m in rows]


def merged_into(session: Session, person_id: int) -> int | None:
    """Return the file a merged-away file now lives in (following later merges), or None."""
    seen: set[int] = set()
    current = person_id
    while current not in seen:
        seen.add(current)
        survivor = session.execute(select(PersonMerge.survivor_id).where(
            PersonMerge.merged_id == current, PersonMerge.unmerged_at.is_(None))
            .order_by(PersonMerge.id.desc()).limit(1)).scalar_one_or_none()
        if survivor is None:
            return current if current != person_id else None
        current = survivor
    return None


def unmerge(session: Session, user: User, merge_id: int, reason: str) -> PersonMerge:
    """Undo a merge: restore the merged file and move back exactly the records that moved."""
    require(user, PERSON_MERGE)
    record = session.get(PersonMerge, merge_id)
    if record is None:
        raise NotFound()
    survivor = session.get(Person, record.survivor_id)
    if survivor is None:
        if merged_into(session, record.survivor_id) is None:
            raise NotFound()
        get_visible(session, user, Person, merged_into(session, record.survivor_id) or 0, PERSON_MERGE)
        raise Conflict(SURVIVOR_GONE)
    get_visible(session, user, Person, survivor.id, PERSON_MERGE)
    row = _parse_row(json.loads(record.merged_row))
    unit = session.get(Unit, row["unit_id"])
    if unit is None or not in_jurisdiction(user, unit):
        raise NotFound()
    text = _reason(reason)
    if record.unmerged_at is not None:
        raise Conflict(ALREADY_UNDONE)
    before = json.loads(record.survivor_before)
    _restore_survivor(survivor, row, before)
    session.flush()
    _refuse_taken(session, row)
    session.execute(insert(Person.__table__), [row])
    for key, ids in json.loads(record.moves).items():
        table_name, column = key.split(".", 1)
        table = Base.metadata.tables[table_name]
        pk = next(iter(table.primary_key.columns))
        for start in range(0, len(ids), 500):
            session.execute(update(table).where(pk.in_(ids[start:start + 500]), table.c[column] == survivor.id)
                            .values({column: row["id"]}))
    closers = {table.name: column for table, column in one_open_tables()}
    for table_name, ids in before.get("__closed__", {}).items():
        table = Base.metadata.tables[table_name]
        column = closers[table_name]
        session.execute(update(table).where(table.c.id.in_(ids)).values({column: None}))
    session.expire_all()
    _never_again(session, user, record)
    record.unmerged_at, record.unmerged_by, record.unmerge_reason = utcnow(), user.display_name, text
    session.flush()
    audit.record(session, "unmerge", "persons", survivor.id, merged_id=row["id"], merge_id=record.id)
    return record


def _parse_row(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("created_at", "updated_at"):
        if row.get(key):
            row[key] = datetime.fromisoformat(row[key])
    if row.get("birth_date"):
        row["birth_date"] = date.fromisoformat(row["birth_date"])
    return row


def _restore_survivor(survivor: Person, row: dict[str, Any], before: dict[str, Any]) -> None:
    for key, old in before.items():
        if key == "__closed__":
            continue
        if key == "unconfirmed":
            survivor.unconfirmed = bool(old)
            continue
        current = getattr(survivor, key)
        taken = row.get(key)
        if key == "birth_date" and isinstance(taken, str):
            taken = date.fromisoformat(taken)
        if current == taken:  # still what the merge put there, not edited since
            setattr(survivor, key, old)


def _refuse_taken(session: Session, row: dict[str, Any]) -> None:
    if row.get("id_number") and session.execute(select(Person.id).where(
            Person.id_number == row["id_number"])).first():
        raise Conflict(NUMBER_TAKEN)
    if row.get("doc_number") and session.execute(select(Person.id).where(
            Person.doc_type == row["doc_type"], Person.doc_number == row["doc_number"])).first():
        raise Conflict(NUMBER_TAKEN)


def _never_again(session: Session, user: User, record: PersonMerge) -> None:
    """An undone merge says the two are different people: the pair is rejected for good."""
    left, right = min(record.survivor_id, record.merged_id), max(record.survivor_id, record.merged_id)
    pair = session.execute(select(MatchPair).where(MatchPair.left_id == left, MatchPair.right_id == right)
                           ).scalar_one_or_none()
    if pair is None:
        pair = MatchPair(left_id=left, right_id=right, score=0.0, reasons="unmerged")
        session.add(pair)
    pair.status, pair.decided_at, pair.decided_by = "rejected", utcnow(), user.display_name
