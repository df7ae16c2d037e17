"""Brute-force tracing, written straight from the rule in issue 7, to check the fast engines against.

Quadratic on purpose: every stay of the index against every record. Use on small data only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fangkong.tracing.terms import (
    NO_ISOLATION,
    ContactRules,
    Exposure,
    IndexCase,
    PersonKey,
    Stay,
    Trace,
    sorted_trace,
)


@dataclass(frozen=True)
class Record:
    """A presence record: person, place, place kind, time in, time out (epoch seconds, closed interval)."""

    person: PersonKey
    place: str
    kind: str
    t_in: int
    t_out: int


def clip(record: Record, start: int, end: int) -> tuple[int, int] | None:
    """Return the stay clipped to the half-open window [start, end), or None when it lies outside."""
    if record.t_in >= end or record.t_out < start:
        return None
    return max(record.t_in, start), min(record.t_out, end)


def exposure(stay: tuple[int, int], other: Record, tolerance: int, min_overlap: int) -> tuple[int, int] | None:
    """Return the overlap of [a − τ, b + τ] with the other stay if it lasts at least m (touching counts at m = 0)."""
    start, end = max(stay[0] - tolerance, other.t_in), min(stay[1] + tolerance, other.t_out)
    return (start, end) if end - start >= min_overlap else None


def contacts_of(records: Sequence[Record], person: PersonKey, start: int, end: int,
                rules: ContactRules) -> dict[PersonKey, set[Exposure]]:
    """Return everyone exposed to `person` over [start, end), with the exposures."""
    found: dict[PersonKey, set[Exposure]] = {}
    for mine in records:
        stay = clip(mine, start, end) if mine.person == person else None
        if stay is None:
            continue
        tolerance, min_overlap = rules.for_kind(mine.kind)
        for other in records:
            if other.person == person or other.place != mine.place:
                continue
            hit = exposure(stay, other, tolerance, min_overlap)
            if hit is not None:
                found.setdefault(other.person, set()).add(Exposure(hit[0], hit[1], mine.place))
    return found


def trace(records: Sequence[Record], case: IndexCase, rules: ContactRules, hops: int = 2,
          contact_isolation: dict[PersonKey, int] | None = None) -> Trace:
    """Return the trace of one index case by the issue's rule, the slow way."""
    isolation = NO_ISOLATION if case.isolated is None else case.isolated
    window_start = case.onset - rules.lookback_s
    close = contacts_of(records, case.person, window_start, isolation, rules)
    via: dict[PersonKey, set[PersonKey]] = {}
    if hops >= 2:
        for contact, exposures in close.items():
            first = min(e.start for e in exposures)
            end = (contact_isolation or {}).get(contact, NO_ISOLATION)
            if case.contacts_isolated is not None:
                end = min(end, case.contacts_isolated)
            for other in contacts_of(records, contact, first, end, rules):
                if other != case.person and other not in close:
                    via.setdefault(other, set()).add(contact)
    return sorted_trace(case.person, window_start, case.isolated, close, via)


def trajectory(records: Sequence[Record], person: PersonKey, start: int | None = None,
               end: int | None = None) -> list[Stay]:
    """Return a person's stays within [start, end), ordered by time in (then time out, place)."""
    lo, hi = start if start is not None else -NO_ISOLATION, end if end is not None else NO_ISOLATION
    stays = [Stay(r.place, r.kind, r.t_in, r.t_out) for r in records
             if r.person == person and clip(r, lo, hi) is not None]
    return sorted(stays, key=lambda s: (s.t_in, s.t_out, s.place))
