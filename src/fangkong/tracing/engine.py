"""The embedded tracing engine: trajectory, close and secondary contacts over a PresenceIndex (issues 7, 22).

One case and a batch of a thousand run the same code. Hop one (kernels.close_hits) meets each stay of
each index case in its window with the records at its place, bounded by duration class (see index.py);
the exposures are few and are sorted and made distinct as arrays. Hop two (kernels.secondary_links)
does the same from every close contact's window and keeps each link once as it is found.
"""

from __future__ import annotations

import gc
import itertools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from fangkong.tracing import kernels
from fangkong.tracing.index import PresenceIndex
from fangkong.tracing.terms import (
    NO_ISOLATION,
    CloseContact,
    ContactRules,
    Exposure,
    IndexCase,
    PersonKey,
    SecondaryContact,
    Stay,
    Trace,
    person_order,
)

_I64 = np.int64
K = TypeVar("K")  # a dictionary's key type (tracing.index.Keys)


@dataclass(frozen=True)
class TraceArrays:
    """A batch's result as code arrays (case = row of the batch)."""

    exp_case: np.ndarray  # one row per distinct exposure, sorted by case, person, start, end, place
    exp_person: np.ndarray
    exp_start: np.ndarray
    exp_end: np.ndarray
    exp_place: np.ndarray
    close_case: np.ndarray  # one row per (case, close contact), sorted
    close_person: np.ndarray
    close_first: np.ndarray
    sec_case: np.ndarray  # one row per (case, secondary contact, via), grouped by case then via
    sec_person: np.ndarray
    sec_via: np.ndarray


def _first_rows(*keys: np.ndarray) -> np.ndarray:
    """Return a mask of the rows that differ from the previous row in any key (keys sorted together)."""
    first = np.ones(len(keys[0]), bool)
    if len(first) > 1:
        same = np.ones(len(first) - 1, bool)
        for key in keys:
            same &= key[1:] == key[:-1]
        first[1:] = ~same
    return first


def _rules(ix: PresenceIndex, rules: ContactRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tolerance, overlap = rules.arrays()
    return ix.place_kind, tolerance, overlap


def _layers(ix: PresenceIndex) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    return ix.main.arrays(), ix.delta.arrays()


def _close(ix: PresenceIndex, index: np.ndarray, w0: np.ndarray, w1: np.ndarray, rules: ContactRules
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct exposures (case, person, start, end, place), sorted, of hop one."""
    columns = kernels.close_hits(_layers(ix), index, w0, w1, *_rules(ix, rules))
    order = np.lexsort(columns[::-1])
    columns = tuple(c[order] for c in columns)
    first = _first_rows(*columns)
    case, person, start, end, place = (c[first] for c in columns)
    return case, person, start, end, place


def _secondary(ix: PresenceIndex, index: np.ndarray, close_case: np.ndarray, close_person: np.ndarray,
               close_first: np.ndarray, isolation: np.ndarray, rules: ContactRules
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (case, secondary person, via), distinct: hop two from each close contact's window."""
    return kernels.secondary_links(_layers(ix), close_case, close_person, close_first, isolation, index,
                                   len(ix.persons), *_rules(ix, rules))


def _isolation_of(ix: PresenceIndex, persons: np.ndarray, contact_isolation: Mapping[PersonKey, int] | None
                  ) -> np.ndarray:
    out = np.full(len(persons), NO_ISOLATION, _I64)
    if contact_isolation:
        codes = {ix.persons.code(p): t for p, t in contact_isolation.items()}
        for i, code in enumerate(persons.tolist()):
            out[i] = codes.get(code, NO_ISOLATION)
    return out


PARALLEL_CASES = 64  # from this many cases a batch is cut into parts traced on all cores at once


def trace_arrays(ix: PresenceIndex, cases: Sequence[IndexCase], rules: ContactRules, hops: int = 2,
                 contact_isolation: Mapping[PersonKey, int] | None = None,
                 workers: int | None = None) -> TraceArrays:
    """Return the traces of a batch of index cases as code arrays (all cases vectorised together).

    Cases are independent, and NumPy's sorts, searches and gathers release the GIL: a large batch is cut
    into contiguous parts (a few per core, so that one heavy part does not leave a core idle) traced in
    threads, and the parts' rows laid end to end with their case rows shifted (still sorted by case).
    """
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(cases) < PARALLEL_CASES:
        return _trace_arrays(ix, cases, rules, hops, contact_isolation)
    bounds = np.linspace(0, len(cases), 3 * workers + 1).astype(int).tolist()
    parts = [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]
    with ThreadPoolExecutor(workers) as pool:
        traced = list(pool.map(lambda part: _trace_arrays(ix, cases[part[0]:part[1]], rules, hops,
                                                          contact_isolation), parts))
    columns = []
    for field_name in TraceArrays.__dataclass_fields__:
        shifted = field_name in ("exp_case", "close_case", "sec_case")
        columns.append(np.concatenate([getattr(t, field_name) + lo if shifted else getattr(t, field_name)
                                       for t, (lo, _hi) in zip(traced, parts, strict=True)]))
    return TraceArrays(*columns)


def _trace_arrays(ix: PresenceIndex, cases: Sequence[IndexCase], rules: ContactRules, hops: int,
                  contact_isolation: Mapping[PersonKey, int] | None) -> TraceArrays:
    index = np.array([ix.persons.code(c.person) for c in cases], _I64)
    onset = np.array([c.onset for c in cases], _I64)
    w1 = np.array([NO_ISOLATION if c.isolated is None else c.isolated for c in cases], _I64)
    exp = _close(ix, index, onset - rules.lookback_s, w1, rules)
    first = _first_rows(exp[0], exp[1])
    close_case, close_person, close_first = exp[0][first], exp[1][first], exp[2][first]
    if hops >= 2:
        isolation = _isolation_of(ix, close_person, contact_isolation)
        by_case = np.array([NO_ISOLATION if c.contacts_isolated is None else c.contacts_isolated for c in cases], _I64)
        isolation = np.minimum(isolation, by_case[close_case]) if len(cases) else isolation
        sec = _secondary(ix, index, close_case, close_person, close_first, isolation, rules)
    else:
        sec = (np.zeros(0, _I64),) * 3
    return TraceArrays(*exp, close_case, close_person, close_first, *sec)


def _slice(case_column: np.ndarray, case: int) -> slice:
    lo, hi = np.searchsorted(case_column, [case, case + 1])
    return slice(int(lo), int(hi))


def _ranks(keys: Sequence[K], codes: np.ndarray, sort_key: Callable[[K], Any]) -> np.ndarray:
    """Return, for each code, its rank among the given codes when their keys are ordered by `sort_key`.

    Only the codes a batch touched are ranked (a few thousand, not a city's million).
    """
    unique = np.unique(codes)
    names = [keys[c] for c in unique.tolist()]
    order = sorted(range(len(unique)), key=lambda i: sort_key(names[i]))
    rank = np.empty(len(unique), _I64)
    rank[order] = np.arange(len(unique))
    return rank[np.searchsorted(unique, codes)]


def _groups(column: np.ndarray) -> tuple[list[int], list[int]]:
    """Return the start and end of each run of equal values in a sorted column."""
    if len(column) == 0:
        return [], []
    cut = (np.flatnonzero(column[1:] != column[:-1]) + 1).tolist()
    return [0, *cut], [*cut, len(column)]


@contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: millions of new tuples, none of them in a cycle, would make it
    rescan the growing heap again and again (decoding a large batch went from 39 s to a few)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def decode(ix: PresenceIndex, cases: Sequence[IndexCase], arrays: TraceArrays, rules: ContactRules) -> list[Trace]:
    """Return one Trace per case from a batch's arrays, with keys in place of codes, in canonical order.

    The order is `model.sorted_trace`'s (the reference's), reached with array sorts over ranks of the keys
    rather than Python sorts of objects: decoding costs about as much as the trace itself, not ten times.
    """
    with _without_gc():
        return _decode(ix, cases, arrays, rules)


def _decode(ix: PresenceIndex, cases: Sequence[IndexCase], arrays: TraceArrays, rules: ContactRules) -> list[Trace]:
    a = arrays
    place_rank = _ranks(ix.places.values, a.exp_place, str)
    person_rank = _ranks(ix.persons.values, np.concatenate([a.exp_person, a.sec_person, a.sec_via]), person_order)
    n_exp, n_sec = len(a.exp_person), len(a.sec_person)
    exp_rank, sec_rank, via_rank = person_rank[:n_exp], person_rank[n_exp:n_exp + n_sec], person_rank[n_exp + n_sec:]
    # exposures by case, contact, then (start, end, place key); secondary links by case, contact, via
    e = np.lexsort((place_rank, a.exp_end, a.exp_start, exp_rank, a.exp_case))
    v = np.lexsort((via_rank, sec_rank, a.sec_case))
    exp_case, exp_person, exp_rank = a.exp_case[e], a.exp_person[e], exp_rank[e]
    exp_start, exp_end = a.exp_start[e], a.exp_end[e]
    exposures = [Exposure(s, t, p) for s, t, p in zip(exp_start.tolist(), exp_end.tolist(),
                                                       ix.places.decode(a.exp_place[e]), strict=True)]
    sec_case, sec_person = a.sec_case[v], a.sec_person[v]
    vias = ix.persons.decode(a.sec_via[v])
    traces = []
    for row, case in enumerate(cases):
        c = _slice(exp_case, row)
        starts, ends = _groups(exp_person[c])
        heads = np.asarray(starts, _I64) + c.start
        first = exp_start[heads]
        order = np.lexsort((exp_rank[heads], first)).tolist()
        keys = ix.persons.decode(exp_person[heads])
        firsts = first.tolist()
        close = tuple(CloseContact(keys[i], firsts[i], tuple(exposures[c.start + starts[i]:c.start + ends[i]]))
                      for i in order)
        s = _slice(sec_case, row)
        starts, ends = _groups(sec_person[s])
        keys = ix.persons.decode(sec_person[np.asarray(starts, _I64) + s.start])
        secondary = tuple(SecondaryContact(k, tuple(vias[s.start + i:s.start + j]))
                          for k, i, j in zip(keys, starts, ends, strict=True))
        traces.append(Trace(case.person, case.onset - rules.lookback_s, case.isolated, close, secondary))
    return traces


def trace_batch(ix: PresenceIndex, cases: Sequence[IndexCase], rules: ContactRules, hops: int = 2,
                contact_isolation: Mapping[PersonKey, int] | None = None) -> list[Trace]:
    """Return the trace of each index case (close contacts and, with hops=2, secondary contacts)."""
    return decode(ix, cases, trace_arrays(ix, cases, rules, hops, contact_isolation), rules)


def trace(ix: PresenceIndex, case: IndexCase, rules: ContactRules, hops: int = 2,
          contact_isolation: Mapping[PersonKey, int] | None = None) -> Trace:
    """Return the trace of one index case."""
    return trace_batch(ix, [case], rules, hops, contact_isolation)[0]


def trajectory(ix: PresenceIndex, person: PersonKey, start: int | None = None, end: int | None = None) -> list[Stay]:
    """Return a person's stays that meet [start, end), ordered by time in (then time out, place)."""
    code = ix.persons.code(person)
    lo, hi = -NO_ISOLATION if start is None else start, NO_ISOLATION if end is None else end
    stays = []
    for layer in (ix.main, ix.delta):
        if code < 0 or code + 1 >= len(layer.person_off):
            continue
        rows = np.asarray(layer.prec[layer.person_off[code]:layer.person_off[code + 1]], _I64)
        keep = (rows[:, 1] < hi) & (rows[:, 2] >= lo)
        stays += [Stay(str(ix.places.values[p]), ix.kind_name(p), a, b) for p, a, b in rows[keep].tolist()]
    return sorted(stays, key=lambda s: (s.t_in, s.t_out, s.place))


DIGEST_PRIME = 2_147_483_647


def links_digest(arrays: TraceArrays) -> tuple[int, int, int, int]:
    """Return (exposures, close contacts, secondary links, a sum over the links) to compare engines.

    The sum of ((case × 1,000,003 + person) × 999,983 + via) mod 2^31 − 1 does not depend on row order;
    the Spark backend computes the same (spark.trace_store_counts).
    """
    case, person, via = (a.astype(_I64) for a in (arrays.sec_case, arrays.sec_person, arrays.sec_via))
    mixed = ((case * 1_000_003 + person) * 999_983 + via) % DIGEST_PRIME
    return len(arrays.exp_case), len(arrays.close_person), len(arrays.sec_person), int(mixed.sum())
