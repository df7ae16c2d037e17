"""The engine's inner loops, compiled with Numba (issue 22): one pass per hop over the stays of a batch.

A layer is passed as the tuple `index.Layer.arrays()` gives; the engine always passes two (main and
delta), so a record is found whichever layer holds it. Every kernel runs without the GIL, so the engine
traces parts of a batch in threads. Compiled once per machine (the cache sits beside this file).

Why compiled loops rather than array operations: the second hop's candidates at busy places are tens of
millions of (stay, record) pairs per thousand cases. As arrays they were expanded, filtered, packed and
sorted to find the distinct links (issue 7's engine: most of its time). Here each candidate is checked
where it is read, and a link is kept only the first time its person is seen for that close contact (a
stamp per person), so nothing is materialised but the answer.
"""

from __future__ import annotations

import numba
import numpy as np

CLASSES = 7
# a stay of d seconds is in class c when CLASS_BOUNDS[c - 1] < d <= CLASS_BOUNDS[c] (2, 8, 32 … 2,048 minutes)
CLASS_BOUNDS = np.array([120 << (2 * k) for k in range(CLASSES - 1)], np.int64)

_jit = numba.njit(cache=True, nogil=True)
_inline = numba.njit(cache=True, nogil=True, inline="always")  # helpers: no call, no reference counting


@_jit
def class_longest(duration: np.ndarray, segment: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Return the longest duration of each class (segment = place × CLASSES + class)."""
    out = np.zeros(CLASSES, np.int64)
    for i in range(len(duration)):
        c = segment[i] % CLASSES
        if duration[i] > out[c]:
            out[c] = duration[i]
    return out


LINKS_PER_CONTACT = 512  # room reserved for hop two's links per close contact (grown when it runs out)
FENCE = 32  # every FENCE-th t_in of a layer is copied into its fence: searches run there, in cache


@_inline
def _lower(values, fence, lo, hi, value):  # pragma: no cover - compiled
    """First i in [lo, hi) with values[i, 0] >= value (hi when none); values[:, 0] (t_in) sorted on [lo, hi).

    A binary search over the fence entries inside [lo, hi) (fence[j] = values[j × FENCE, 0]), then a scan
    of at most one block: the fence of a city's month fits the cache where the records do not.
    """
    f_lo, f_hi = (lo + FENCE - 1) // FENCE, (hi + FENCE - 1) // FENCE
    a, size = f_lo, f_hi - f_lo  # branch-free halving (a conditional move, not a mispredicted jump)
    while size > 1:
        half = size >> 1
        a = a + half if np.int64(fence[a + half - 1]) < value else a
        size -= half
    if size == 1 and np.int64(fence[a]) < value:
        a += 1
    start = max(lo, (a - 1) * FENCE) if a > f_lo else lo
    end = min(hi, a * FENCE) if a < f_hi else hi
    while start < end and np.int64(values[start, 0]) < value:
        start += 1
    return start


@_jit
def _grow(array, n, more):  # pragma: no cover - compiled
    """Return the array if it has room for `more` rows after n, or a copy at least twice as long.

    Called once per range of rows, not per row: an array handed back and forth costs reference counting.
    """
    if n + more <= len(array):
        return array
    bigger = np.empty(max(64, 2 * len(array), n + more), array.dtype)
    bigger[:n] = array[:n]
    return bigger


@_inline
def _room(layers, place):  # pragma: no cover - compiled
    """Return how many records all layers hold at a place (an upper bound on one stay's hits there)."""
    total = 0
    for layer in layers:
        seg_off = layer[1]
        base = place * CLASSES
        if base + CLASSES < len(seg_off):
            total += seg_off[base + CLASSES] - seg_off[base]
    return total


@_inline
def _collect(layer, place, wa, wb, m, who, start, end, n):  # pragma: no cover
    """Append the records at `place` whose overlap with [wa, wb] lasts at least m: (person, start, end).

    Per duration class, a contact must arrive by wb − m and still be there at wa + m, so it arrived at or
    after wa + m − (the class's longest stay): two binary searches bound the candidates. The buffers
    have room for every record at the place (`_room`); the count after the new rows is returned.
    """
    rec, seg_off, longest, fence, _prec, _person_off = layer
    base = place * CLASSES
    last_in = wb - m
    if base + CLASSES >= len(seg_off) or last_in < 0:
        return n
    first_out = wa + m
    for c in range(CLASSES):
        s0, s1 = seg_off[base + c], seg_off[base + c + 1]
        if s0 == s1:
            continue
        for r in range(_lower(rec, fence, s0, s1, first_out - longest[c]), s1):
            arrived = np.int64(rec[r, 0])
            if arrived > last_in:
                break
            s = max(wa, arrived)
            e = min(wb, np.int64(rec[r, 1]))
            if e - s >= m:
                who[n], start[n], end[n] = rec[r, 2], s, e
                n += 1
    return n


@_inline
def _meet(layers, pl, a, b, place_kind, tolerance, min_overlap, who, start, end):
    """Return the buffers and how many records of every layer met the stay [a, b] at place pl (its kind's
    τ widens the stay, its m is the least overlap); the buffers grow to hold every record there."""
    tau, m = tolerance[place_kind[pl]], min_overlap[place_kind[pl]]
    room = _room(layers, pl)
    if room > len(who):
        who, start, end = _grow(who, 0, room), _grow(start, 0, room), _grow(end, 0, room)
    hits = 0
    for other in layers:
        hits = _collect(other, pl, a - tau, b + tau, m, who, start, end, hits)
    return who, start, end, hits


@_jit
def close_hits(layers, index_person, w0, w1, place_kind, tolerance, min_overlap):
    """Return hop one's exposures (case, person, start, end, place), duplicates included.  # pragma: no cover

    Case i's stays are index_person[i]'s clipped to [w0[i], w1[i]); each is widened by τ and met with the
    records at its place (τ and m by the place's kind).
    """
    n = 0
    o_case, o_person = np.empty(1024, np.int64), np.empty(1024, np.int64)
    o_start, o_end, o_place = np.empty(1024, np.int64), np.empty(1024, np.int64), np.empty(1024, np.int64)
    who, start, end = np.empty(256, np.int64), np.empty(256, np.int64), np.empty(256, np.int64)
    for case in range(len(index_person)):
        p = index_person[case]
        if p < 0:
            continue
        for own in layers:
            prec, person_off = own[4], own[5]
            if p + 1 >= len(person_off):
                continue
            for k in range(person_off[p], person_off[p + 1]):
                t_in, t_out = np.int64(prec[k, 1]), np.int64(prec[k, 2])
                if t_in >= w1[case]:
                    break
                if t_out < w0[case]:
                    continue
                pl = np.int64(prec[k, 0])
                who, start, end, hits = _meet(layers, pl, max(t_in, w0[case]), min(t_out, w1[case]), place_kind,
                                              tolerance, min_overlap, who, start, end)
                if n + hits > len(o_case):
                    o_case, o_person = _grow(o_case, n, hits), _grow(o_person, n, hits)
                    o_start, o_end, o_place = _grow(o_start, n, hits), _grow(o_end, n, hits), _grow(o_place, n, hits)
                for h in range(hits):
                    if who[h] == p:
                        continue
                    o_case[n], o_person[n], o_start[n], o_end[n], o_place[n] = case, who[h], start[h], end[h], pl
                    n += 1
    return o_case[:n], o_person[:n], o_start[:n], o_end[:n], o_place[:n]


@_jit
def secondary_links(layers, close_case, close_person, close_first, isolation, index_person, persons,
                    place_kind, tolerance, min_overlap):
    """Return hop two's distinct links (case, person, via), grouped by case then via.  # pragma: no cover

    Rows are the close contacts, sorted by case: each is traced from its first exposure to its isolation.
    A person met is kept once per close contact (stamp = row + 1) and only if neither the case's index
    person nor one of its close contacts (stamp = case + 1, set when the case's rows begin).
    """
    seen = np.zeros(persons, np.int32)
    is_close = np.zeros(persons, np.int32)
    n = 0
    # Room for LINKS_PER_CONTACT links per close contact: memory is only committed where it is written
    # (and first-touched memory costs more here than the trace), so a generous guess copies nothing.
    guess = max(1024, LINKS_PER_CONTACT * len(close_case))
    o_case, o_person, o_via = np.empty(guess, np.int32), np.empty(guess, np.int32), np.empty(guess, np.int32)
    who, start, end = np.empty(256, np.int64), np.empty(256, np.int64), np.empty(256, np.int64)
    rows = len(close_case)
    row = 0
    while row < rows:
        case = close_case[row]
        last = row
        while last < rows and close_case[last] == case:
            is_close[close_person[last]] = case + 1
            last += 1
        index = index_person[case]
        for g in range(row, last):
            v, w0, w1 = close_person[g], close_first[g], isolation[g]
            for own in layers:
                prec, person_off = own[4], own[5]
                if v + 1 >= len(person_off):
                    continue
                for k in range(person_off[v], person_off[v + 1]):
                    t_in, t_out = np.int64(prec[k, 1]), np.int64(prec[k, 2])
                    if t_in >= w1:
                        break
                    if t_out < w0:
                        continue
                    pl = np.int64(prec[k, 0])
                    who, start, end, hits = _meet(layers, pl, max(t_in, w0), min(t_out, w1), place_kind, tolerance,
                                                  min_overlap, who, start, end)
                    if n + hits > len(o_case):
                        o_case, o_person = _grow(o_case, n, hits), _grow(o_person, n, hits)
                        o_via = _grow(o_via, n, hits)
                    for h in range(hits):
                        q = who[h]
                        if seen[q] == g + 1:
                            continue
                        seen[q] = g + 1
                        if is_close[q] == case + 1 or q == index:
                            continue
                        o_case[n], o_person[n], o_via[n] = case, q, v
                        n += 1
        row = last
    return o_case[:n], o_person[:n], o_via[:n]
