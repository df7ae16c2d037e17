"""The in-memory presence index the engine queries: records sorted two ways, in compact NumPy arrays.

By place: `key` = place << 32 | t_in, sorted, so one binary search finds the stays at a place that began
before a time. `run` = place << 32 | (running maximum of t_out within the place, in t_in order) is sorted
too, so a second binary search finds the first stay that may still be there at a time: together they
bound the candidates of an exposure without scanning the place. By person: `by_person` lists positions
in the place order, grouped by person (offsets in `person_off`) and ordered by t_in, for trajectories.

About 24 bytes per record (8 key, 8 run, 4 t_out, 4 person, 4 by_person); times are uint32 epoch seconds
(1970–2106).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from fangkong.core.protocol import PLACE_KINDS

MASK32 = np.int64(0xFFFFFFFF)
MAX_TIME = 0xFFFFFFFF


@dataclass(frozen=True)
class Keys:
    """A dictionary: code -> key (person: int or str; place: str), and back."""

    values: Sequence[object]

    def __len__(self) -> int:
        return len(self.values)

    @cached_property
    def codes(self) -> dict[object, int]:
        return {key: code for code, key in enumerate(self.values)}

    @cached_property
    def array(self) -> np.ndarray:
        """Return the keys as an object array, to decode many codes at once."""
        out = np.empty(len(self.values), dtype=object)
        out[:] = list(self.values)
        return out

    def decode(self, codes: np.ndarray) -> list[object]:
        """Return the keys of an array of codes."""
        return self.array[codes].tolist()

    def code(self, key: object) -> int:
        """Return the code of a key, or -1 when the key is unknown."""
        return self.codes.get(key, -1)


@dataclass(frozen=True)
class PresenceIndex:
    key: np.ndarray  # int64, place << 32 | t_in, sorted
    run: np.ndarray  # int64, place << 32 | running max of t_out within place, sorted
    t_out: np.ndarray  # uint32, by place order
    person: np.ndarray  # int32 person code, by place order
    by_person: np.ndarray  # int32 positions in place order, by (person, t_in)
    person_off: np.ndarray  # int64, n_persons + 1 offsets into by_person
    person_longest: np.ndarray  # int64, each person's longest stay (bounds a window search from below)
    place_kind: np.ndarray  # int8 kind code (PLACE_KINDS) per place code
    persons: Keys
    places: Keys

    @property
    def records(self) -> int:
        return len(self.key)

    def nbytes(self) -> int:
        """Return the memory the index arrays take (dictionaries not counted)."""
        arrays = (self.key, self.run, self.t_out, self.person, self.by_person, self.person_off, self.person_longest,
                  self.place_kind)
        return sum(a.nbytes for a in arrays)

    def kind_name(self, place: int) -> str:
        return PLACE_KINDS[int(self.place_kind[place])]


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory in this process (large blocks from the heap, never trimmed back).

    Building the index makes and drops arrays of gigabytes; on this machine kind memory touched for the
    first time costs about 3 s per GiB (2026-12-02), more than the sorts, and memory handed back to the
    kernel is first-touched again on the next allocation. For the analysts' one-shot commands and the
    benchmark, not the long-running server (it would keep its peak). False where glibc is not there.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, -1))


def _sort_order(high: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (order, sorted composite keys) of high << 32 | low.

    One argsort: measured on this 2-core machine (2026-12-02, 30 M records), cutting the rows into ranges
    sorted in threads, or packing row numbers into the keys for a SIMD value sort, were slower than this
    (5–7.5 s against 3.7–4.9 s a sort): the extra arrays cost more in first-touched memory than the
    sorting saved, and the threads' page faults queue behind each other.
    """
    composite = (high.astype(np.int64) << 32) | low.astype(np.int64)
    order = np.argsort(composite)
    return order, composite[order]


def build_index(person: np.ndarray, place: np.ndarray, t_in: np.ndarray, t_out: np.ndarray,
                place_kind: np.ndarray, persons: Keys, places: Keys) -> PresenceIndex:
    """Return the index over records given as code arrays (person, place codes; uint32-range times)."""
    order, key = _sort_order(place, t_in)
    out = np.ascontiguousarray(t_out[order], dtype=np.uint32)
    # A running max across the whole array is a running max within each place, because place is the
    # high half: a later place's values are all larger.
    run = np.maximum.accumulate((key & ~MASK32) | out.astype(np.int64))
    by_place_person = np.ascontiguousarray(person[order], dtype=np.int32)
    del order
    by_person, _ = _sort_order(by_place_person, key & MASK32)
    counts = np.bincount(by_place_person, minlength=len(persons))
    person_off = np.zeros(len(persons) + 1, np.int64)
    np.cumsum(counts, out=person_off[1:])
    by_person = by_person.astype(np.int32)
    return PresenceIndex(key, run, out, by_place_person, by_person, person_off,
                         _longest(key, out, by_person, person_off), np.asarray(place_kind, np.int8), persons, places)


def _longest(key: np.ndarray, t_out: np.ndarray, by_person: np.ndarray, person_off: np.ndarray) -> np.ndarray:
    """Return each person's longest stay in seconds (0 for a person without stays)."""
    if len(key) == 0:
        return np.zeros(len(person_off) - 1, np.int64)
    length = (t_out.astype(np.int64) - (key & MASK32))[by_person]
    starts = np.minimum(person_off[:-1], len(length) - 1)
    longest = np.maximum.reduceat(length, starts)
    return np.where(person_off[1:] > person_off[:-1], longest, 0)


def index_records(rows: Sequence[tuple[object, str, str, int, int]]) -> PresenceIndex:
    """Return the index over (person, place, place_kind, t_in, t_out) rows, encoding keys as they come.

    For small data (tests, the reference's inputs); the store encodes files column-wise instead.
    """
    persons: dict[object, int] = {}
    places: dict[str, int] = {}
    kinds: list[int] = []
    for person, place, kind, _, _ in rows:
        persons.setdefault(person, len(persons))
        if place not in places:
            places[place] = len(places)
            kinds.append(PLACE_KINDS.index(kind))
    columns = list(zip(*rows, strict=True)) or [(), (), (), (), ()]
    return build_index(np.array([persons[p] for p in columns[0]], np.int32),
                       np.array([places[p] for p in columns[1]], np.int64),
                       np.array(columns[3], np.int64), np.array(columns[4], np.int64),
                       np.array(kinds, np.int8), Keys(list(persons)), Keys(list(places)))

