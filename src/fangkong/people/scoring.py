"""Scoring rules for record linkage: how alike an incoming record and a candidate person file are.

Evidence adds up in points per field (a simple Fellegi–Sunter style weighting, tuned by hand on the
generated benchmark set, bench/matching_bench.py). Some disagreements veto a pair outright, whatever the
rest says: two different valid ID numbers (never the same person), different sexes, names that are not
even close, birth dates that differ by more than one typo. Vectorised: a whole block of candidate pairs
is scored at once (NumPy for the digit rules, rapidfuzz for the string similarities).

Verdicts (issue 5: precision before recall, never merge two people automatically):
- CERTAIN: link automatically. Only on strong evidence: the record has no valid ID number of its own
  (one that has would have matched by it), the folded names are identical, and either the phone agrees
  (the landed phone-and-name rule, with traditional/simplified folded) or both the birth date and the
  address agree; and no other candidate is even uncertain.
- UNCERTAIN: a pair for the review queue.
- NO: not the same person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

NO, UNCERTAIN, CERTAIN = 0, 1, 2
UNCERTAIN_SCORE = 6.0
CERTAIN_SCORE = 9.0
VETO = -100.0

# points per piece of evidence (the reason names are shown in the review queue)
WEIGHTS = {
    "name_exact": 5.0,     # identical once traditional/simplified, width and spaces are folded
    "name_pinyin": 3.0,    # same toneless pinyin: a homophone typed by a phonetic input method
    "name_close": 1.0,     # one character off, or the pinyin ≥ 80 % alike
    "birth_exact": 4.0,
    "birth_near": 1.0,     # one digit wrong or two adjacent digits swapped
    "address_same": 3.0,   # ≥ 90 % alike
    "address_close": 1.5,  # ≥ 75 % alike
    "address_other": -2.0,  # both known and < 50 % alike
    "phone_same": 4.0,
    "phone_near": 1.5,
    "phone_other": -1.0,   # people change phones: weak evidence against
}
NAME_CLOSE = 0.8


@dataclass
class Side:
    """One side of a list of pairs, field by field (empty string = unknown)."""

    name: np.ndarray  # object arrays of str: folded (people.folding.fold_name)
    name_key: np.ndarray  # toneless pinyin
    birth: np.ndarray  # int64 YYYYMMDD, 0 when unknown
    address: np.ndarray  # folded (people.folding.fold_address)
    phone: np.ndarray  # int64, 0 when unknown
    id_number: np.ndarray  # the resident ID number, or "doc:<type>:<number>" for other documents
    sex: np.ndarray
    name_len: np.ndarray | None = None  # length of `name`; computed before `take` when sides are big

    @classmethod
    def of(cls, rows: list[dict[str, str]]) -> Side:
        """Build a side from one dict per pair (for tests and small calls)."""
        def number(row: dict[str, str], key: str) -> int:
            value = row.get(key, "")
            return int(value) if value.isdigit() else 0

        side = {k: _objects([row.get(k, "") for row in rows]) for k in ("name", "name_key", "address", "id_number",
                                                                         "sex")}
        return cls(name=side["name"], name_key=side["name_key"],
                   birth=np.asarray([number(r, "birth") for r in rows], np.int64), address=side["address"],
                   phone=np.asarray([number(r, "phone") for r in rows], np.int64), id_number=side["id_number"],
                   sex=side["sex"])

    def with_lengths(self) -> Side:
        self.name_len = _lengths(self.name)
        return self

    def take(self, index: np.ndarray) -> Side:
        """Return the side of the pairs whose rows are `index` (NumPy fancy indexing, no Python loop)."""
        taken: dict[str, Any] = {k: None if getattr(self, k) is None else getattr(self, k)[index]
                                 for k in self.__dataclass_fields__}
        return Side(**taken)


def _objects(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@dataclass
class Scores:
    score: np.ndarray
    verdict: np.ndarray
    hits: dict[str, np.ndarray] = field(default_factory=dict)  # reason -> which pairs it holds for

    def reasons_of(self, i: int) -> list[str]:
        """Return the names of the rules that held for pair i (only asked for the pairs shown)."""
        return [reason for reason, mask in self.hits.items() if mask[i]]


def near_digits(a: np.ndarray, b: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (equal, near) per pair of digit strings: near = one digit wrong or one adjacent swap."""
    n = len(a)
    if n == 0:
        return np.zeros(0, bool), np.zeros(0, bool)
    return _near(_digits(a, width), _digits(b, width))


def near_numbers(a: np.ndarray, b: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (equal, near) per pair of numbers read as `width` digits (birth dates as YYYYMMDD, phones)."""
    equal = a == b
    near = np.zeros(len(a), bool)
    differ = np.flatnonzero(~equal & (a > 0) & (b > 0))  # the digit matrices only where needed
    if len(differ):
        powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
        near[differ] = _near((a[differ, None] // powers) % 10, (b[differ, None] // powers) % 10)[1]
    return equal, near


def _near(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    differ = left != right
    count = differ.sum(axis=1)
    swapped = (differ[:, :-1] & differ[:, 1:] & (left[:, :-1] == right[:, 1:])
               & (left[:, 1:] == right[:, :-1])).any(axis=1)
    return count == 0, (count == 1) | ((count == 2) & swapped)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    padded = "".join((v if len(v) == width else "\0" * width) for v in values)
    return np.frombuffer(padded.encode("latin-1", "replace"), dtype=np.uint8).reshape(len(values), width)


def _known(values: np.ndarray) -> np.ndarray:
    return np.asarray(values != "", dtype=bool)


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a == b, dtype=bool)


def _similarity(a: np.ndarray, b: np.ndarray, scorer: object) -> np.ndarray:
    if not len(a):
        return np.zeros(0, np.float32)
    return process.cpdist(a, b, scorer=scorer, dtype=np.float32, workers=1)  # type: ignore[arg-type]


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not len(a):
        return np.zeros(0, np.int32)
    return process.cpdist(a, b, scorer=Levenshtein.distance, dtype=np.int32, workers=1)


def _lengths(values: np.ndarray) -> np.ndarray:
    return np.fromiter((len(v) for v in values), np.int32, len(values))


def score_pairs(rec: Side, cand: Side) -> Scores:
    """Score each pair (rec[i], cand[i]); verdicts here are per pair (see `decide` for the ambiguity rule)."""
    n = len(rec.name)
    points = np.zeros(n, np.float64)
    hits: dict[str, np.ndarray] = {}

    def add(reason: str, mask: np.ndarray) -> None:
        hits[reason] = mask
        points[mask] += WEIGHTS[reason]

    name_exact = _equal(rec.name, cand.name) & _known(rec.name)
    name_pinyin = ~name_exact & _equal(rec.name_key, cand.name_key) & _known(rec.name_key)
    # One character off (any name of two characters or more), or pinyin nearly the same.
    lengths = rec.name_len if rec.name_len is not None else _lengths(rec.name)
    one_off = (_distance(rec.name, cand.name) == 1) & (lengths >= 2)
    close = _similarity(rec.name_key, cand.name_key, Levenshtein.normalized_similarity)
    name_close = ~name_exact & ~name_pinyin & _known(rec.name) & (one_off | (close >= NAME_CLOSE))
    add("name_exact", name_exact)
    add("name_pinyin", name_pinyin)
    add("name_close", name_close)
    veto = ~(name_exact | name_pinyin | name_close)

    both_birth = (rec.birth > 0) & (cand.birth > 0)
    birth_equal, birth_near = near_numbers(rec.birth, cand.birth, 8)
    add("birth_exact", both_birth & birth_equal)
    add("birth_near", both_birth & birth_near)
    veto |= both_birth & ~birth_equal & ~birth_near

    both_address = _known(rec.address) & _known(cand.address)
    address = _similarity(rec.address, cand.address, fuzz.ratio) / 100.0
    add("address_same", both_address & (address >= 0.9))
    add("address_close", both_address & (address >= 0.75) & (address < 0.9))
    add("address_other", both_address & (address < 0.5))

    both_phone = (rec.phone > 0) & (cand.phone > 0)
    phone_equal, phone_near = near_numbers(rec.phone, cand.phone, 11)
    add("phone_same", both_phone & phone_equal)
    add("phone_near", both_phone & phone_near)
    add("phone_other", both_phone & ~phone_equal & ~phone_near)

    # Two different valid ID numbers are never the same person; nor are a man and a woman.
    veto |= _known(rec.id_number) & _known(cand.id_number) & ~_equal(rec.id_number, cand.id_number)
    veto |= _known(rec.sex) & _known(cand.sex) & ~_equal(rec.sex, cand.sex)
    points[veto] = VETO

    strong = name_exact & (hits["phone_same"] | (hits["birth_exact"] & hits["address_same"]))
    certain = strong & ~_known(rec.id_number) & (points >= CERTAIN_SCORE)
    verdict = np.where(certain, CERTAIN, np.where(points >= UNCERTAIN_SCORE, UNCERTAIN, NO)).astype(np.int8)
    return Scores(points, verdict, hits)


def decide(verdicts: list[int]) -> int:
    """Return the index of the candidate to link automatically, or -1.

    A record links automatically only when exactly one candidate is certain and no other is even
    uncertain: two plausible files for one record is a question for an officer, not for the machine.
    """
    plausible = [i for i, v in enumerate(verdicts) if v >= UNCERTAIN]
    if len(plausible) == 1 and verdicts[plausible[0]] == CERTAIN:
        return plausible[0]
    return -1
