"""Record linkage for incoming records: link each to a person file, or open a new, unconfirmed one.

The rule (issues 4 and 5): same normalised ID number; else same document; else same phone and name;
else name, birth date and address close enough, scored (people.scoring): a certain match links, an
uncertain one opens a new file and puts the pair in the review queue, anything else opens a new file.
Precision before recall: only strong evidence links automatically, and never across two different
valid ID numbers. Works in bulk: one query per key kind and chunk, whatever the number of records
(blocking on the pinyin name key, on birth date and surname, and on the phone), then one vectorised
scoring pass over every candidate pair.

Concurrent callers (two check-in workers, two tablets at one checkpoint) never open two files for one
new person: on PostgreSQL the identities about to get a new file are locked (transaction-scoped
advisory locks, one per ID number, document or phone and name) and looked up again; a file another
transaction opened meanwhile is linked instead. SQLite writers are serialised by BEGIN IMMEDIATE.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Column, String, and_, bindparam, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.codes import parse_id_number
from fangkong.core.db import in_chunks, insert_returning_ids, one_of
from fangkong.people.folding import name_key, surname_key
from fangkong.people.linkage import key_table, match_fuzzy, queue_pairs
from fangkong.people.models import Person


@dataclass(frozen=True)
class IncomingRecord:
    name: str | None
    id_number: str | None  # normalised already
    phone: str | None  # normalised already
    address: str | None
    unit_id: int  # jurisdiction for a new file
    doc_type: str | None = None  # non-residents: passport, permits …
    doc_number: str | None = None
    birth_date: date | None = None  # when known without an ID number (else taken from it)


@dataclass(frozen=True)
class Link:
    person_id: int
    how: str  # id_number | document | phone_name | fuzzy | new
    review: tuple[int, ...] = ()  # files an officer should compare with this (new) one


def link_persons(session: Session, records: list[IncomingRecord], audit_new: bool = True) -> list[Link]:
    """Return a person file for each record, creating unconfirmed files where nothing matches.

    Each new file gets its `persons/create` audit row here, the one place bulk-created files are made
    (arrivals, leads, gatherings, visits); `audit_new=False` for a caller that attributes the rows to
    several actors itself (the passage group commit)."""
    by_id = _existing_by_id(session, {r.id_number for r in records if r.id_number})
    by_doc = _existing_by_doc(session, {(r.doc_type, r.doc_number) for r in records
                                        if not r.id_number and r.doc_type and r.doc_number})
    by_phone_name = _existing_by_phone_name(session, {(r.phone, r.name) for r in records
                                                      if not r.id_number and r.phone and r.name})
    links: list[Link | None] = []
    unmatched: list[int] = []
    for index, record in enumerate(records):
        if record.id_number and record.id_number in by_id:
            links.append(Link(by_id[record.id_number], "id_number"))
        elif not record.id_number and (record.doc_type, record.doc_number) in by_doc:
            links.append(Link(by_doc[(record.doc_type, record.doc_number)], "document"))
        elif not record.id_number and (record.phone, record.name) in by_phone_name:
            links.append(Link(by_phone_name[(record.phone, record.name)], "phone_name"))
        else:
            links.append(None)
            unmatched.append(index)
    fuzzy = match_fuzzy(session, [records[i] for i in unmatched])
    to_create: dict[tuple[str, ...], int] = {}  # key -> index in `new_rows`
    new_rows: list[dict[str, object]] = []
    pending: list[tuple[int, tuple[str, ...], list[tuple[int, float, str]]]] = []  # (record, key, to review)
    creating = [index for index, found in zip(unmatched, fuzzy, strict=True) if found.person_id is None]
    opened_meanwhile = _lock_identities(session, [records[i] for i in creating])
    for index, found in zip(unmatched, fuzzy, strict=True):
        if found.person_id is not None:
            links[index] = Link(found.person_id, "fuzzy")
            continue
        record = records[index]
        if (meanwhile := opened_meanwhile.get(_identity(record, index))) is not None:
            links[index] = meanwhile
            continue
        key = _identity(record, index)
        if key not in to_create:
            to_create[key] = len(new_rows)
            new_rows.append(_new_person(record))
        pending.append((index, key, found.review))
    if new_rows:
        ids = insert_returning_ids(session, Person, new_rows)
        if audit_new:
            audit.record_created(session, Person, [{**row, "id": i} for row, i in zip(new_rows, ids, strict=True)])
        for index, key, review in pending:
            links[index] = Link(ids[to_create[key]], "new", tuple(other for other, _s, _r in review))
        queue_pairs(session, [(other, ids[to_create[key]], score, reasons)
                              for _i, key, review in pending for other, score, reasons in review])
    return [link for link in links if link is not None]


# Advisory-lock class for "a new file for this identity" (two-key form: its own key space, apart from
# the audit chain's single-key lock). Identities hash into a bounded number of locks: a batch of 50,000
# new people took 50,000 locks and ran PostgreSQL out of its shared lock table (max_locks_per_transaction);
# two identities sharing a bucket only wait for each other.
_PG_IDENTITY_LOCK = 0x70657273  # "pers"
_PG_IDENTITY_BUCKETS = 512


def _lock_identities(session: Session, records: list[IncomingRecord]) -> dict[tuple[str | None, ...], Link]:
    """On PostgreSQL, lock the identities of records about to get a new file until the transaction
    ends, then return the files that other transactions opened for them in the meantime."""
    keys = {key for index, r in enumerate(records) if (key := _identity(r, index))[0] != "row"}
    if not keys or session.get_bind().dialect.name != "postgresql":
        return {}
    hashes = sorted({int.from_bytes(hashlib.blake2b("\x1f".join(k).encode(), digest_size=4).digest(), "big")
                     % _PG_IDENTITY_BUCKETS for k in keys})  # one order everywhere: no lock cycles
    session.connection().execute(
        text("SELECT pg_advisory_xact_lock(:cls, h) FROM unnest(:hashes) WITH ORDINALITY AS t(h, n) ORDER BY n")
        .bindparams(bindparam("hashes", type_=ARRAY(INTEGER))), {"cls": _PG_IDENTITY_LOCK, "hashes": hashes})
    found: dict[tuple[str | None, ...], Link] = {}
    found.update({("id", n): Link(pid, "id_number") for n, pid in _existing_by_id(
        session, {k[1] for k in keys if k[0] == "id"}).items()})
    found.update({("doc", t, n): Link(pid, "document") for (t, n), pid in _existing_by_doc(
        session, {(k[1], k[2]) for k in keys if k[0] == "doc"}).items()})
    found.update({("pn", p, n): Link(pid, "phone_name") for (p, n), pid in _existing_by_phone_name(
        session, {(k[1], k[2]) for k in keys if k[0] == "pn"}).items()})
    return found


def _existing_by_id(session: Session, numbers: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in in_chunks(session, sorted(numbers)):
        # on the session's connection: a Core query of two columns needs none of the ORM's execution layer
        found.update({number: pid for number, pid in session.connection().execute(
            select(Person.id_number, Person.id).where(one_of(session, Person.id_number, chunk))) if number})
    return found


def _identity(record: IncomingRecord, index: int) -> tuple[str, ...]:
    """Return what makes records of one batch one new file: the ID number, the document, phone and name.

    A record with none of them is its own file: two 张伟 without ID or phone may be two people.
    """
    if record.id_number:
        return ("id", record.id_number)
    if record.doc_type and record.doc_number:
        return ("doc", record.doc_type, record.doc_number)
    if record.phone and record.name:
        return ("pn", record.phone, record.name)
    return ("row", str(index))


Pair = tuple[str | None, str | None]  # (document type, number) or (phone, name): both set when looked up


def _existing_by_doc(session: Session, docs: set[Pair]) -> dict[Pair, int]:
    found: dict[Pair, int] = {}
    values = sorted(docs, key=lambda d: (d[0] or "", d[1] or ""))
    for start in range(0, len(values), 400):
        chunk = values[start:start + 400]
        rows = session.execute(select(Person.doc_type, Person.doc_number, Person.id)
                               .where(tuple_(Person.doc_type, Person.doc_number).in_(chunk))).all()
        found.update({(t, n): pid for t, n, pid in rows})
    return found


def _existing_by_phone_name(session: Session, pairs: set[Pair]) -> dict[Pair, int]:
    """Return the (oldest) file per (phone, name), by one join against a temporary table of the pairs."""
    found: dict[Pair, int] = {}
    if not pairs:
        return found
    rows = [{"phone": phone, "name": name} for phone, name in sorted(pairs, key=lambda p: (p[0] or "", p[1] or ""))]
    with key_table(session, [Column("phone", String(11)), Column("name", String(100))], rows) as t:
        stmt = (select(Person.phone, Person.name, Person.id)
                .join(t, and_(Person.phone == t.c.phone, Person.name == t.c.name)).order_by(Person.id))
        for phone, name, person_id in session.connection().execute(stmt):
            found.setdefault((phone, name), person_id)
    return found


def _new_person(record: IncomingRecord) -> dict[str, object]:
    birth, sex = record.birth_date, None
    if record.id_number:
        rid = parse_id_number(record.id_number)
        birth, sex = rid.birth_date, rid.sex
    name = record.name or ""
    return {"name": name, "name_key": name_key(name), "surname_key": surname_key(name),
            "id_number": record.id_number, "phone": record.phone, "sex": sex,
            "doc_type": None if record.id_number else record.doc_type,
            "doc_number": None if record.id_number else record.doc_number,
            "birth_date": birth, "current_address": record.address, "unit_id": record.unit_id, "unconfirmed": True}
