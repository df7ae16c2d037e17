"""The fuzzy tier of record linkage, in bulk: block, fetch the candidates, score every pair at once.

Blocking keys (each one indexed query per chunk of keys, never one per record):
- the toneless pinyin of the folded name (catches traditional/simplified spellings and homophones),
- the birth date with the surname's pinyin (catches a wrong character in the given name),
- the phone number (catches a name written differently by the same caller).
Candidates then go through people.scoring; `decide` picks the automatic link, if any.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Column, Integer, MetaData, String, Table, and_, extract, insert, or_, select, tuple_
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.db import in_chunks, insert_rows, one_of
from fangkong.people.folding import fold_address, fold_name, name_key, surname_key
from fangkong.people.models import MatchPair, Person
from fangkong.people.scoring import CERTAIN, UNCERTAIN, Side, decide, near_numbers, score_pairs

if TYPE_CHECKING:
    from fangkong.people.matching import IncomingRecord

REVIEW_MAX = 3  # candidates per record put in the review queue
_COLUMNS = (Person.id, Person.name, Person.name_key, Person.birth_date, Person.current_address, Person.phone,
            Person.id_number, Person.doc_type, Person.doc_number, Person.sex)


@dataclass(frozen=True)
class FuzzyResult:
    person_id: int | None  # linked automatically
    review: list[tuple[int, float, str]] = field(default_factory=list)  # (file, score, reasons) to review


class _Blocks:
    """Candidate positions per blocking key, as one flat array with offsets (CSR), built while fetching."""

    def __init__(self) -> None:
        self.members: dict[Any, list[int]] = defaultdict(list)

    def freeze(self) -> None:
        self.index = {key: b for b, key in enumerate(self.members)}
        sizes = np.fromiter((len(v) for v in self.members.values()), np.int64, len(self.members))
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.flat = np.fromiter((m for v in self.members.values() for m in v), np.int64, int(self.offsets[-1]))

    def expand(self, keys: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Return (record index, candidate position) for every record's block (no Python loop per pair)."""
        blocks = np.fromiter((self.index.get(k, -1) if k else -1 for k in keys), np.int64, len(keys))
        recs = np.flatnonzero(blocks >= 0)
        b = blocks[recs]
        counts = self.offsets[b + 1] - self.offsets[b]
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        starts = np.repeat(self.offsets[b] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        return np.repeat(recs, counts), self.flat[starts + np.arange(total)]


@dataclass
class _Candidates:
    """The candidate files found, one row each, the blocks pointing to them, and the name pairs."""

    rows: list[Any] = field(default_factory=list)
    position: dict[int, int] = field(default_factory=dict)
    name_pairs: tuple[list[int], list[int]] = field(default_factory=lambda: ([], []))
    by_birth: _Blocks = field(default_factory=_Blocks)
    by_phone: _Blocks = field(default_factory=_Blocks)

    def add(self, row: Any) -> int:
        at = self.position.get(row.id)
        if at is None:
            at = self.position[row.id] = len(self.rows)
            self.rows.append(row)
        return at


def match_fuzzy(session: Session, records: list[IncomingRecord]) -> list[FuzzyResult]:
    """Return, per record, the file it links to automatically (if any) and the files to review."""
    if not records:
        return []
    keys = [_record_keys(r) for r in records]
    found = _fetch(session, keys)
    rec_index, cand_index = _pairs(keys, found)
    rec_index, cand_index = _prefilter(keys, found, rec_index, cand_index)
    if not len(rec_index):
        return [FuzzyResult(None) for _ in records]
    used, local = np.unique(cand_index, return_inverse=True)
    candidates = _candidate_side([found.rows[i] for i in used.tolist()])
    scores = score_pairs(_record_side(records, keys).take(rec_index), candidates.take(local))
    results: list[FuzzyResult] = []
    bounds = np.searchsorted(rec_index, np.arange(len(records) + 1))
    verdicts_all = scores.verdict.tolist()
    for r in range(len(records)):
        lo, hi = int(bounds[r]), int(bounds[r + 1])
        verdicts = verdicts_all[lo:hi]
        if not any(verdicts):
            results.append(FuzzyResult(None))
            continue
        chosen = decide(verdicts)
        if chosen >= 0:
            results.append(FuzzyResult(found.rows[cand_index[lo + chosen]].id))
            continue
        order = sorted((i for i, v in enumerate(verdicts) if v >= UNCERTAIN), key=lambda i: -scores.score[lo + i])
        results.append(FuzzyResult(None, [(found.rows[cand_index[lo + i]].id, float(scores.score[lo + i]),
                                           ",".join(scores.reasons_of(lo + i))) for i in order[:REVIEW_MAX]]))
    return results


@dataclass(frozen=True)
class _Keys:
    name: str
    name_key: str
    surname_key: str
    birth: Any  # date | None
    phone: str


def _record_keys(record: IncomingRecord) -> _Keys:
    from fangkong.core.codes import parse_id_number

    birth = record.birth_date
    if birth is None and record.id_number:
        birth = parse_id_number(record.id_number).birth_date
    return _Keys(fold_name(record.name), name_key(record.name), surname_key(record.name), birth, record.phone or "")


def _fetch(session: Session, keys: list[_Keys]) -> _Candidates:
    found = _Candidates()
    _fetch_by_name(session, keys, found)
    births = sorted({(k.birth, k.surname_key) for k in keys if k.birth and k.surname_key})
    for start in range(0, len(births), 400):
        stmt = select(*_COLUMNS, Person.surname_key).where(
            tuple_(Person.birth_date, Person.surname_key).in_(births[start:start + 400]))
        for row in session.connection().execute(stmt):
            found.by_birth.members[(row.birth_date, row.surname_key)].append(found.add(row))
    phones = sorted({k.phone for k in keys if k.phone})
    for chunk in in_chunks(session, phones):
        for row in session.connection().execute(select(*_COLUMNS).where(one_of(session, Person.phone, chunk))):
            found.by_phone.members[row.phone].append(found.add(row))
    for blocks in (found.by_birth, found.by_phone):
        blocks.freeze()
    return found


def _fetch_by_name(session: Session, keys: list[_Keys], found: _Candidates) -> None:
    """Join the records' name keys (a temporary table) to the files with the same pinyin name.

    Where both birth dates are known, only files born the same year or on the same month and day come
    back: one wrong or two swapped digits leave one of the two intact (unless the swap straddles the
    year and the month, which this block then misses). Common names make big blocks; the database
    filters them, so that only plausible pairs cross into Python.
    """
    rows = [{"rec": r, "name_key": k.name_key, "y": k.birth.year if k.birth else None,
             "m": k.birth.month if k.birth else None, "d": k.birth.day if k.birth else None}
            for r, k in enumerate(keys) if k.name_key]
    if not rows:
        return
    table = Table(f"tmp_match_{uuid.uuid4().hex[:12]}", MetaData(), Column("rec", Integer),
                  Column("name_key", String(64)), Column("y", Integer), Column("m", Integer), Column("d", Integer),
                  prefixes=["TEMPORARY"])
    conn = session.connection()
    table.create(conn)
    try:
        conn.execute(insert(table), rows)
        born = Person.birth_date
        stmt = (select(table.c.rec, *_COLUMNS).join(Person, Person.name_key == table.c.name_key)
                .where(or_(table.c.y.is_(None), born.is_(None), extract("year", born) == table.c.y,
                           and_(extract("month", born) == table.c.m, extract("day", born) == table.c.d))))
        recs, cands = found.name_pairs
        for row in conn.execute(stmt):
            recs.append(row.rec)
            cands.append(found.add(row))
    finally:
        table.drop(conn)


def _pairs(keys: list[_Keys], found: _Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Return (record index, candidate position) of every distinct pair, sorted by record."""
    parts = [(np.asarray(found.name_pairs[0], np.int64), np.asarray(found.name_pairs[1], np.int64)),
             found.by_birth.expand([(k.birth, k.surname_key) if k.birth else None for k in keys]),
             found.by_phone.expand([k.phone for k in keys])]
    recs = np.concatenate([p[0] for p in parts])
    cands = np.concatenate([p[1] for p in parts])
    width = max(1, len(found.rows))
    unique = np.unique(recs * width + cands)
    return unique // width, unique % width


def _day_number(day: Any) -> int:
    return day.year * 10000 + day.month * 100 + day.day if day else 0


def _prefilter(keys: list[_Keys], found: _Candidates, recs: np.ndarray,
               cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the pairs that cannot reach the review threshold, before the costly string comparisons.

    A pair needs a birth date that agrees (equal or one typo) when both are known; without one on
    either side, it needs the phone to agree or an address to compare.
    """
    rec_birth = np.fromiter((_day_number(k.birth) for k in keys), np.int64, len(keys))[recs]
    cand_birth = np.fromiter((_day_number(r.birth_date) for r in found.rows), np.int64, len(found.rows))[cands]
    both = (rec_birth > 0) & (cand_birth > 0)
    equal, near = near_numbers(rec_birth, cand_birth, 8)
    keep = np.where(both, equal | near, True)
    rec_phone = np.fromiter((int(k.phone) if k.phone.isdigit() else 0 for k in keys), np.int64, len(keys))[recs]
    cand_phone = np.fromiter((int(r.phone) if r.phone and r.phone.isdigit() else 0 for r in found.rows), np.int64,
                             len(found.rows))[cands]
    phone_equal, phone_near = near_numbers(rec_phone, cand_phone, 11)
    has_address = np.fromiter((bool(r.current_address) for r in found.rows), bool, len(found.rows))[cands]
    keep &= both | ((rec_phone > 0) & (phone_equal | phone_near)) | has_address
    return recs[keep], cands[keep]


def _objects(values: Iterable[str]) -> np.ndarray:
    items = list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _document(id_number: str | None, doc_type: str | None, doc_number: str | None) -> str:
    if id_number:
        return id_number
    return f"doc:{doc_type}:{doc_number}" if doc_type and doc_number else ""


def _record_side(records: list[IncomingRecord], keys: list[_Keys]) -> Side:
    from fangkong.core.codes import parse_id_number

    return Side(
        name=_objects(k.name for k in keys), name_key=_objects(k.name_key for k in keys),
        birth=_objects(k.birth.strftime("%Y%m%d") if k.birth else "" for k in keys),
        address=_objects(fold_address(r.address) for r in records),
        phone=_objects(k.phone for k in keys),
        id_number=_objects(_document(r.id_number, r.doc_type, r.doc_number) for r in records),
        sex=_objects(parse_id_number(r.id_number).sex if r.id_number else "" for r in records),
    )


def _candidate_side(rows: list[Any]) -> Side:
    return Side(
        name=_objects(fold_name(r.name) for r in rows), name_key=_objects(r.name_key or "" for r in rows),
        birth=_objects(r.birth_date.strftime("%Y%m%d") if r.birth_date else "" for r in rows),
        address=_objects(fold_address(r.current_address) for r in rows),
        phone=_objects(r.phone or "" for r in rows),
        id_number=_objects(_document(r.id_number, r.doc_type, r.doc_number) for r in rows),
        sex=_objects(r.sex or "" for r in rows),
    )


def queue_pairs(session: Session, pairs: list[tuple[int, int, float, str]]) -> int:
    """Put (older file, newer file, score, reasons) pairs in the review queue, unless already decided."""
    wanted: dict[tuple[int, int], tuple[float, str]] = {}
    for a, b, score, reasons in pairs:
        if a != b:
            wanted.setdefault((min(a, b), max(a, b)), (score, reasons))
    if not wanted:
        return 0
    known: set[tuple[int, int]] = set()
    keys = sorted(wanted)
    for start in range(0, len(keys), 400):
        known.update(session.execute(select(MatchPair.left_id, MatchPair.right_id).where(
            tuple_(MatchPair.left_id, MatchPair.right_id).in_(keys[start:start + 400]))).all())
    rows = [{"left_id": a, "right_id": b, "score": round(score, 2), "reasons": reasons[:255], "status": "pending"}
            for (a, b), (score, reasons) in wanted.items() if (a, b) not in known]
    insert_rows(session, MatchPair, rows)
    if rows:
        audit.record(session, "match_queue", "person_match_pairs", None, pairs=len(rows))
    return len(rows)


__all__ = ["CERTAIN", "FuzzyResult", "match_fuzzy", "queue_pairs"]
