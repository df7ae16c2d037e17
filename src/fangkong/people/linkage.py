"""The fuzzy tier of record linkage, in bulk: block, fetch the candidates, score every pair at once.

Blocking keys (each one indexed query per chunk of keys, never one per record):
- the toneless pinyin of the folded name (catches traditional/simplified spellings and homophones),
- the birth date with the surname's pinyin (catches a wrong character in the given name),
- the phone number (catches a name written differently by the same caller).
Candidates then go through people.scoring; `decide` picks the automatic link, if any.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.db import in_chunks, insert_rows, one_of
from fangkong.people.folding import fold_address, fold_name, name_key, surname_key
from fangkong.people.models import MatchPair, Person
from fangkong.people.scoring import CERTAIN, UNCERTAIN, Side, decide, score_pairs

if TYPE_CHECKING:
    from fangkong.people.matching import IncomingRecord

REVIEW_MAX = 3  # candidates per record put in the review queue
_COLUMNS = (Person.id, Person.name, Person.name_key, Person.birth_date, Person.current_address, Person.phone,
            Person.id_number, Person.doc_type, Person.doc_number, Person.sex)


@dataclass(frozen=True)
class FuzzyResult:
    person_id: int | None  # linked automatically
    review: list[tuple[int, float, str]] = field(default_factory=list)  # (file, score, reasons) to review


@dataclass
class _Candidates:
    """The candidate files found, one row each, and which rows every blocking key points to."""

    rows: list[Any] = field(default_factory=list)
    position: dict[int, int] = field(default_factory=dict)
    by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_birth: dict[tuple[Any, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    by_phone: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

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
    if not len(rec_index):
        return [FuzzyResult(None) for _ in records]
    scores = score_pairs(_record_side(records, keys).take(rec_index), _candidate_side(found.rows).take(cand_index))
    results: list[FuzzyResult] = []
    bounds = np.searchsorted(rec_index, np.arange(len(records) + 1))
    for r in range(len(records)):
        lo, hi = bounds[r], bounds[r + 1]
        verdicts = scores.verdict[lo:hi].tolist()
        chosen = decide(verdicts)
        if chosen >= 0:
            results.append(FuzzyResult(found.rows[cand_index[lo + chosen]].id))
            continue
        order = sorted((i for i, v in enumerate(verdicts) if v >= UNCERTAIN), key=lambda i: -scores.score[lo + i])
        results.append(FuzzyResult(None, [(found.rows[cand_index[lo + i]].id, float(scores.score[lo + i]),
                                           ",".join(scores.reasons[lo + i])) for i in order[:REVIEW_MAX]]))
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
    names = sorted({k.name_key for k in keys if k.name_key})
    for chunk in in_chunks(session, names):
        for row in session.execute(select(*_COLUMNS).where(one_of(session, Person.name_key, chunk))):
            found.by_name[row.name_key].append(found.add(row))
    births = sorted({(k.birth, k.surname_key) for k in keys if k.birth and k.surname_key})
    for start in range(0, len(births), 400):
        stmt = select(*_COLUMNS, Person.surname_key).where(
            tuple_(Person.birth_date, Person.surname_key).in_(births[start:start + 400]))
        for row in session.execute(stmt):
            found.by_birth[(row.birth_date, row.surname_key)].append(found.add(row))
    phones = sorted({k.phone for k in keys if k.phone})
    for chunk in in_chunks(session, phones):
        for row in session.execute(select(*_COLUMNS).where(one_of(session, Person.phone, chunk))):
            found.by_phone[row.phone].append(found.add(row))
    return found


def _pairs(keys: list[_Keys], found: _Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Return (record index, candidate row) of every pair to score, sorted by record."""
    recs: list[int] = []
    cands: list[int] = []
    for r, k in enumerate(keys):
        rows = set(found.by_name.get(k.name_key, ()))
        if k.birth:
            rows.update(found.by_birth.get((k.birth, k.surname_key), ()))
        if k.phone:
            rows.update(found.by_phone.get(k.phone, ()))
        recs.extend([r] * len(rows))
        cands.extend(rows)
    return np.asarray(recs, dtype=np.int64), np.asarray(cands, dtype=np.int64)


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
