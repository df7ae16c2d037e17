"""The in-memory presence index the engine queries: records in compact NumPy arrays, sorted two ways.

By place: records are sorted by (place, duration class, t_in), and `seg_off` gives where each (place,
class) segment starts. A duration class holds the stays of one length band (up to 2, 8, 32 … minutes,
×4 each; the last open). Within a segment the stays that may still be present at time T began at or
after T − (the class's longest stay), so one search per class (in the layer's fence, every 32nd t_in)
bounds an exposure's candidates at a busy place to a few times the stays that really overlap, however
long the place's longest stay (issue 22: one running maximum of t_out per place let a single all-day
stay widen every search at that place).

By person: `prec` holds the records again grouped by person (offsets in `person_off`) and ordered by
t_in, for trajectories and for a contact's own stays.

An index has two layers: `main`, built over the store's final parts (rebuilt by the nightly compaction),
and `delta`, built over the parts written since (today's and yesterday's platform records, files imported
during the day). The engine reads both at once; a new record only rebuilds the small delta.

About 24.4 bytes per record (12 by place, 12 by person, 0.4 for the fence); times are uint32 epoch
seconds (1970–2106).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Generic, TypeVar

import numpy as np

from fangkong.core.protocol import PLACE_KINDS
from fangkong.tracing import kernels
from fangkong.tracing.terms import PersonKey

MAX_TIME = 0xFFFFFFFF
CLASS_BOUNDS = kernels.CLASS_BOUNDS
CLASSES = kernels.CLASSES
K = TypeVar("K")


@dataclass(frozen=True)
class Keys(Generic[K]):
    """A dictionary: code -> key (person: int or str; place: str), and back."""

    values: Sequence[K]

    def __len__(self) -> int:
        return len(self.values)

    @cached_property
    def codes(self) -> dict[K, int]:
        return {key: code for code, key in enumerate(self.values)}

    @cached_property
    def array(self) -> np.ndarray:
        """Return the keys as an object array, to decode many codes at once."""
        out = np.empty(len(self.values), dtype=object)
        out[:] = list(self.values)
        return out

    def decode(self, codes: np.ndarray) -> list[K]:
        """Return the keys of an array of codes."""
        return self.array[codes].tolist()

    def code(self, key: K) -> int:
        """Return the code of a key, or -1 when the key is unknown."""
        return self.codes.get(key, -1)

    def extended(self, more: Sequence[K]) -> Keys[K]:
        """Return these keys followed by `more` (dictionaries only grow), reusing the work done for these."""
        out = Keys([*self.values, *more])
        if "codes" in self.__dict__:
            codes = dict(self.codes)
            codes.update((key, len(self.values) + i) for i, key in enumerate(more))
            out.__dict__["codes"] = codes
        return out


@dataclass(frozen=True)
class Layer:
    """One layer's records (see the module docstring). Codes past a layer's dictionaries have no records.

    Each record is kept twice, as three uint32 side by side so that one cache line brings all of a record:
    `rec` (t_in, t_out, person) in place order for the contacts at a place, and `prec` (place, t_in,
    t_out) in person order for a person's own stays. The kernels are bound by memory latency, not by
    arithmetic: a record read in one miss instead of three is most of their speed (issue 22).
    """

    rec: np.ndarray  # uint32 (n, 3): t_in, t_out, person; by (place, class, t_in)
    seg_off: np.ndarray  # int64, places × CLASSES + 1 offsets: segment (place p, class c) is row p * CLASSES + c
    class_longest: np.ndarray  # int64, the longest stay of each class in seconds
    fence: np.ndarray  # uint32, rec[::FENCE, 0]: where the kernels' searches run
    prec: np.ndarray  # uint32 (n, 3): place, t_in, t_out; by (person, t_in)
    person_off: np.ndarray  # int64, persons + 1 offsets into prec

    @property
    def records(self) -> int:
        return len(self.rec)

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Return the arrays in the order the kernels take them, as read-only views (a layer loaded from
        disk is memory-mapped read-only, and the kernels are compiled for one type of both layers)."""
        return tuple(_read_only(getattr(self, f.name)) for f in fields(self))

    def columns(self) -> tuple[np.ndarray, ...]:
        """Return (person, place, t_in, t_out) as int64 columns, in person order (Spark, tests)."""
        persons = np.repeat(np.arange(len(self.person_off) - 1, dtype=np.int64), np.diff(self.person_off))
        return persons, *(self.prec[:, i].astype(np.int64) for i in range(3))


ARRAYS = tuple(f.name for f in fields(Layer))


def _read_only(array: np.ndarray) -> np.ndarray:
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def empty_layer() -> Layer:
    """Return a layer without records (every code is past its dictionaries)."""
    none = np.zeros((0, 3), np.uint32)
    return Layer(none, np.zeros(1, np.int64), np.zeros(CLASSES, np.int64), np.zeros(0, np.uint32), none,
                 np.zeros(1, np.int64))


@dataclass(frozen=True)
class PresenceIndex:
    main: Layer
    delta: Layer
    place_kind: np.ndarray  # int8 kind code (PLACE_KINDS) per place code
    persons: Keys[PersonKey]
    places: Keys[str]

    @property
    def records(self) -> int:
        return self.main.records + self.delta.records

    def nbytes(self) -> int:
        """Return the memory the index arrays take (dictionaries not counted)."""
        return self.main.nbytes() + self.delta.nbytes() + self.place_kind.nbytes

    def kind_name(self, place: int) -> str:
        return PLACE_KINDS[int(self.place_kind[place])]

    def with_delta(self, delta: Layer, place_kind: np.ndarray, persons: Keys[PersonKey], places: Keys[str]
                   ) -> PresenceIndex:
        """Return this index's main layer with another delta (and the dictionaries that cover both)."""
        return replace(self, delta=delta, place_kind=np.asarray(place_kind, np.int8), persons=persons, places=places)


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


def _interleaved(*columns: np.ndarray) -> np.ndarray:
    out = np.empty((len(columns[0]), len(columns)), np.uint32)
    for i, column in enumerate(columns):
        out[:, i] = column
    return out


def build_layer(person: np.ndarray, place: np.ndarray, t_in: np.ndarray, t_out: np.ndarray, n_persons: int,
                n_places: int) -> Layer:
    """Return a layer over records given as code arrays (person, place codes; uint32-range times).

    Two argsorts of one int64 composite key each: measured on this 2-core machine (2026-12-02, 30 M
    records), cutting the rows into ranges sorted in threads was slower (the threads' first-touched
    memory costs more than the sorting saves).
    """
    if len(t_in) == 0:
        return replace(empty_layer(), seg_off=np.zeros(n_places * CLASSES + 1, np.int64),
                       person_off=np.zeros(n_persons + 1, np.int64))
    t_in64, place64 = np.asarray(t_in, np.int64), np.asarray(place, np.int64)
    duration = np.asarray(t_out, np.int64) - t_in64
    segment = place64 * CLASSES + np.searchsorted(CLASS_BOUNDS, duration, side="left")
    longest = kernels.class_longest(duration, segment)
    del duration
    order = np.argsort((segment << 32) | t_in64)
    seg_off = np.zeros(n_places * CLASSES + 1, np.int64)
    np.cumsum(np.bincount(segment, minlength=n_places * CLASSES), out=seg_off[1:])
    del segment
    rec = _interleaved(t_in64[order], np.asarray(t_out)[order], np.asarray(person)[order])
    del order
    person64 = np.asarray(person, np.int64)
    by_person = np.argsort((person64 << 32) | t_in64)
    prec = _interleaved(place64[by_person], t_in64[by_person], np.asarray(t_out)[by_person])
    del by_person
    person_off = np.zeros(n_persons + 1, np.int64)
    np.cumsum(np.bincount(person64, minlength=n_persons), out=person_off[1:])
    return Layer(rec, seg_off, longest, np.ascontiguousarray(rec[::kernels.FENCE, 0]), prec, person_off)


def build_index(person: np.ndarray, place: np.ndarray, t_in: np.ndarray, t_out: np.ndarray,
                place_kind: np.ndarray, persons: Keys[PersonKey], places: Keys[str]) -> PresenceIndex:
    """Return a one-layer index over records given as code arrays."""
    main = build_layer(person, place, t_in, t_out, len(persons), len(places))
    return PresenceIndex(main, empty_layer(), np.asarray(place_kind, np.int8), persons, places)


def index_records(rows: Sequence[tuple[PersonKey, str, str, int, int]]) -> PresenceIndex:
    """Return the index over (person, place, place_kind, t_in, t_out) rows, encoding keys as they come.

    For small data (tests, the reference's inputs); the store encodes files column-wise instead.
    """
    persons: dict[PersonKey, int] = {}
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
