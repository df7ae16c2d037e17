"""The fuzzy tier of record linkage, in bulk: block, fetch the candidates, score every pair at once.

Blocking keys (each one indexed query per chunk of keys, never one per record):
- the toneless pinyin of the folded name (catches traditional/simplified spellings and homophones),
- the birth date with the surname's pinyin (catches a wrong character in the given name),
- the phone number (catches a name written differently by the same caller).
Candidates then go through people.scoring; `decide` picks the automatic link, if any.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, and_, or_, select, text, tuple_
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.db import in_chunks, insert_rows, one_of
from fangkong.people.folding import fold_address, fold_name, name_key, surname_key
from fangkong.people.models import MatchPair, Person
from fangkong.people.scoring import CERTAIN, UNCERTAIN, Side, decide, near_numbers, score_pairs

if TYPE_CHECKING:
    from fangkong.people.matching import IncomingRecord

REVIEW_MAX = 3  # candidates per record put in the review queue
SMALL_BATCH = 20  # up to this many records, one OR-ed query instead of temporary key tables
_COLUMNS = (Person.id, Person.name, Person.name_key, Person.birth_date, Person.current_address, Person.phone,
            Person.id_number, Person.doc_type, Person.doc_number, Person.sex)


@dataclass(frozen=True)
class FuzzyResult:
    person_id: int | None  # linked automatically
    review: list[tuple[int, float, str]] = field(default_factory=list)  # (file, score, reasons) to review


@dataclass
class _Candidates:
    """The candidate files found (one row each, by id) and the (record, candidate row) pairs of the blocks."""

    rows: list[Any] = field(default_factory=list)
    recs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cands: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


@contextmanager
def key_table(session: Session, columns: list[Column[Any]], rows: list[dict[str, Any]]) -> Iterator[Table]:
    """Yield a temporary table holding `rows`, to join against instead of long IN lists.

    One join per blocking key finds every candidate of every record in one statement; row-value IN
    lists cost SQLite a scan per chunk, and parameter lists are capped.
    """
    table = Table(f"tmp_match_{uuid.uuid4().hex[:12]}", MetaData(), *columns, prefixes=["TEMPORARY"])
    conn = session.connection()
    table.create(conn)
    try:
        if rows:
            # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing would cost
            # more than the database spends on the rows.
            names = [c.name for c in columns]
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
                                 f"({', '.join([mark] * len(names))})",
                                 [tuple(row[n] for n in names) for row in rows])
        if conn.dialect.name == "postgresql" and len(rows) > 1000:  # a plan for big batches; small ones nest
            conn.exec_driver_sql(f"ANALYZE {table.name}")
        yield table
    finally:
        table.drop(conn)


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
    scores = score_pairs(_record_side(records, keys).with_lengths().take(rec_index), candidates.take(local))
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
    birth = record.birth_date
    if birth is None and record.id_number and len(record.id_number) == 18:  # normalised and valid already
        n = record.id_number
        birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    return _Keys(fold_name(record.name), name_key(record.name), surname_key(record.name), birth, record.phone or "")


def _fetch(session: Session, keys: list[_Keys]) -> _Candidates:
    """Find the candidates of every record by joins against temporary tables of the records' keys.

    Blocks (each one indexed join, whatever the number of records):
    - pinyin name and birth year (a typo or swap in month or day),
    - pinyin name and the birth date with two adjacent digits swapped (a swap in the year),
    - pinyin name alone, for records without a birth date,
    - birth date and surname (a wrong character in the given name),
    - phone.
    A one-digit typo in the year with a different given name falls through every block: a known gap.
    """
    if session.get_bind().dialect.name == "postgresql" and len(keys) <= PG_ARRAY_BATCH:
        return _with_rows(session, *_block_arrays(session, keys))
    if len(keys) <= SMALL_BATCH:
        return _with_rows(session, *_block_small(session, keys))
    rows = [{"rec": r, "name_key": k.name_key or None, "birth": k.birth, "surname_key": k.surname_key or None,
             "phone": k.phone or None, "y0": date(k.birth.year, 1, 1) if k.birth else None,
             "y1": date(k.birth.year, 12, 31) if k.birth else None} for r, k in enumerate(keys)]
    swaps = [{"rec": r, "name_key": k.name_key, "birth": v} for r, k in enumerate(keys)
             if k.birth and k.name_key for v in _swapped_dates(k.birth)]
    columns: list[Column[Any]] = [Column("rec", Integer), Column("name_key", String(64)), Column("birth", Date),
                                  Column("surname_key", String(16)), Column("phone", String(11)),
                                  Column("y0", Date), Column("y1", Date)]
    swap_columns: list[Column[Any]] = [Column("rec", Integer), Column("name_key", String(64)), Column("birth", Date)]
    with key_table(session, columns, rows) as t, key_table(session, swap_columns, swaps) as w:
        by_year = select(t.c.rec, Person.id).join(Person, and_(
            Person.name_key == t.c.name_key, Person.birth_date >= t.c.y0, Person.birth_date <= t.c.y1))
        by_swap = select(w.c.rec, Person.id).join(Person, and_(Person.name_key == w.c.name_key,
                                                               Person.birth_date == w.c.birth))
        by_name = (select(t.c.rec, Person.id).join(Person, Person.name_key == t.c.name_key)
                   .where(t.c.birth.is_(None)))
        by_birth = select(t.c.rec, Person.id).join(Person, and_(Person.birth_date == t.c.birth,
                                                                Person.surname_key == t.c.surname_key))
        by_phone = select(t.c.rec, Person.id).join(Person, Person.phone == t.c.phone)
        conn = session.connection()
        recs: list[int] = []
        ids: list[int] = []
        for stmt in (by_year, by_swap, by_name, by_birth, by_phone):
            # Pairs come back narrow (record, file id); the files' fields once per file below.
            for rec, person_id in conn.execute(stmt).all():
                recs.append(rec)
                ids.append(person_id)
    return _with_rows(session, recs, ids)


def _with_rows(session: Session, recs: list[int], ids: list[int]) -> _Candidates:
    """Fetch each candidate file once and express the pairs as (record, row) positions."""
    found = _Candidates()
    found.recs = np.asarray(recs, np.int64)
    wanted = np.asarray(ids, np.int64)
    unique = _distinct(wanted)
    for chunk in in_chunks(session, unique.tolist()):
        found.rows.extend(session.connection().execute(
            select(*_COLUMNS).where(one_of(session, Person.id, chunk)).order_by(Person.id)).all())
    found.cands = np.searchsorted(unique, wanted)
    return found


# PostgreSQL, up to PG_ARRAY_BATCH records: every block in one statement whose text never changes (the
# keys go in as arrays), so it is compiled once and prepared once per connection; the batches of the
# checkpoints' group commit and of the check-in linking take this path.
PG_ARRAY_BATCH = 2000
_BLOCKS_PG = text("""
WITH k AS MATERIALIZED (
  SELECT * FROM unnest(CAST(:rec AS integer[]), CAST(:name_key AS text[]), CAST(:birth AS date[]),
                       CAST(:surname_key AS text[]), CAST(:phone AS text[]))
         AS k(rec, name_key, birth, surname_key, phone))
SELECT k.rec, p.id FROM k JOIN persons p ON p.name_key = k.name_key
  AND p.birth_date BETWEEN make_date(CAST(extract(year FROM k.birth) AS integer), 1, 1)
                       AND make_date(CAST(extract(year FROM k.birth) AS integer), 12, 31)
UNION ALL
SELECT w.rec, p.id FROM unnest(CAST(:swap_rec AS integer[]), CAST(:swap_name_key AS text[]),
                               CAST(:swap_birth AS date[])) AS w(rec, name_key, birth)
  JOIN persons p ON p.name_key = w.name_key AND p.birth_date = w.birth
UNION ALL
SELECT k.rec, p.id FROM k JOIN persons p ON p.name_key = k.name_key WHERE k.birth IS NULL
UNION ALL
SELECT k.rec, p.id FROM k JOIN persons p ON p.birth_date = k.birth AND p.surname_key = k.surname_key
UNION ALL
SELECT k.rec, p.id FROM k JOIN persons p ON p.phone = k.phone
""")


def _block_arrays(session: Session, keys: list[_Keys]) -> tuple[list[int], list[int]]:
    """The blocks of `_fetch` in one statement with the keys as arrays (PostgreSQL)."""
    swaps = [(r, k.name_key, v) for r, k in enumerate(keys) if k.birth and k.name_key for v in _swapped_dates(k.birth)]
    params = {"rec": list(range(len(keys))), "name_key": [k.name_key or None for k in keys],
              "birth": [k.birth for k in keys], "surname_key": [k.surname_key or None for k in keys],
              "phone": [k.phone or None for k in keys], "swap_rec": [r for r, _n, _b in swaps],
              "swap_name_key": [n for _r, n, _b in swaps], "swap_birth": [b for _r, _n, b in swaps]}
    pairs = session.connection().execute(_BLOCKS_PG, params).all()
    return [rec for rec, _id in pairs], [person_id for _rec, person_id in pairs]


def _block_small(session: Session, keys: list[_Keys]) -> tuple[list[int], list[int]]:
    """Blocks for a handful of records (a checkpoint passage): one query with the blocks OR-ed, every
    record paired with every file found. Temporary tables would cost more than the search; the scoring
    decides anyway, blocking only saves work."""
    conditions = []
    for k in keys:
        if k.name_key and k.birth:
            conditions.append(and_(Person.name_key == k.name_key, Person.birth_date >= date(k.birth.year, 1, 1),
                                   Person.birth_date <= date(k.birth.year, 12, 31)))
            swaps = _swapped_dates(k.birth)
            if swaps:
                conditions.append(and_(Person.name_key == k.name_key, Person.birth_date.in_(swaps)))
        elif k.name_key:
            conditions.append(Person.name_key == k.name_key)
        if k.birth and k.surname_key:
            conditions.append(and_(Person.birth_date == k.birth, Person.surname_key == k.surname_key))
        if k.phone:
            conditions.append(Person.phone == k.phone)
    if not conditions:
        return [], []
    found = list(session.connection().execute(select(Person.id).where(or_(*conditions)).limit(5000)).scalars())
    return [r for r in range(len(keys)) for _ in found], [i for _ in keys for i in found]


def _swapped_dates(born: date) -> list[date]:
    """Return the valid dates that differ from `born` by two adjacent swapped digits reaching into the year."""
    digits = f"{born:%Y%m%d}"
    out = []
    for i in range(4):  # pairs (0,1) … (3,4): a swap touching the year
        if digits[i] == digits[i + 1]:
            continue
        text = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
        try:
            out.append(date(int(text[:4]), int(text[4:6]), int(text[6:])))
        except ValueError:
            continue
    return out


def _pairs(keys: list[_Keys], found: _Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Return (record index, candidate position) of every distinct pair, sorted by record."""
    width = max(1, len(found.rows))
    unique = _distinct(found.recs * width + found.cands)
    return unique // width, unique % width


def _distinct(values: np.ndarray) -> np.ndarray:
    """Return the sorted distinct values (sorting beats hashing for int64 here)."""
    ordered = np.sort(values)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if len(ordered) else ordered


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
    keep = ~both | (rec_birth == cand_birth)
    differ = np.flatnonzero(both & ~keep)
    keep[differ] = near_numbers(rec_birth[differ], cand_birth[differ], 8)[1]
    unknown = np.flatnonzero(~both)
    if len(unknown):
        rec_phone = np.fromiter((_phone_number(k.phone) for k in keys), np.int64, len(keys))
        cand_phone = np.fromiter((_phone_number(r.phone) for r in found.rows), np.int64, len(found.rows))
        has_address = np.fromiter((bool(r.current_address) for r in found.rows), bool, len(found.rows))
        a, b = rec_phone[recs[unknown]], cand_phone[cands[unknown]]
        equal, near = near_numbers(a, b, 11)
        keep[unknown] = ((a > 0) & (equal | near)) | has_address[cands[unknown]]
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


def _phone_number(phone: str | None) -> int:
    return int(phone) if phone and phone.isdigit() else 0


def _sex_of(id_number: str | None) -> str:
    """Return the sex an 18-digit ID number encodes (odd sequence: male); the number is valid already."""
    return ("M" if int(id_number[16]) % 2 else "F") if id_number and len(id_number) == 18 else ""


def _record_side(records: list[IncomingRecord], keys: list[_Keys]) -> Side:
    return Side(
        name=_objects([k.name for k in keys]), name_key=_objects([k.name_key for k in keys]),
        birth=np.asarray([_day_number(k.birth) for k in keys], np.int64),
        address=_objects([fold_address(r.address) for r in records]),
        phone=np.asarray([_phone_number(k.phone) for k in keys], np.int64),
        id_number=_objects([_document(r.id_number, r.doc_type, r.doc_number) for r in records]),
        sex=_objects([_sex_of(r.id_number) for r in records]),
    )


def _candidate_side(rows: list[Any]) -> Side:
    if not rows:
        return Side(*(_objects([]) for _ in range(7)))  # never scored: no pair points at it
    _ids, names, keys, births, addresses, phones, numbers, doc_types, doc_numbers, sexes = zip(
        *rows, strict=True)
    return Side(
        name=_objects([fold_name(n) for n in names]), name_key=_objects([k or "" for k in keys]),
        birth=np.asarray([_day_number(b) for b in births], np.int64),
        address=_objects([fold_address(a) for a in addresses]),
        phone=np.asarray([_phone_number(p) for p in phones], np.int64),
        id_number=_objects([_document(n, t, d) for n, t, d in zip(numbers, doc_types, doc_numbers, strict=True)]),
        sex=_objects([x or "" for x in sexes]),
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
