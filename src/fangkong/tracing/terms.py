"""The words of tracing (issue 7): index case, contact rules, exposure, close and secondary contacts, trajectory.

Times are whole seconds since the Unix epoch (UTC) throughout the engine; `format_time` gives ISO 8601 in
local time for people and JSON. A person key is an int or a str; a place key is a str.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.protocol import DEFAULT_PROFILE, PLACE_KINDS, Profile, get_profile

PersonKey = int | str
NO_ISOLATION = 2**62  # "isolation time defaults to the end of the data": an instant after every stay
MINUTE, DAY = 60, 86_400


@dataclass(frozen=True)
class IndexCase:
    """A case to trace: onset (or sampling, if asymptomatic) and isolation, in epoch seconds.

    `contacts_isolated`, when known, closes every close contact's window (otherwise the end of the data).
    """

    person: PersonKey
    onset: int
    isolated: int | None = None
    contacts_isolated: int | None = None


@dataclass(frozen=True)
class ContactRules:
    """Look-back and, per place kind (PLACE_KINDS order), tolerance τ and minimum overlap m, in seconds."""

    lookback_s: int
    tolerance_s: tuple[int, ...]
    min_overlap_s: tuple[int, ...]

    def for_kind(self, kind: str) -> tuple[int, int]:
        """Return (τ, m) in seconds for a place kind."""
        i = PLACE_KINDS.index(kind)
        return self.tolerance_s[i], self.min_overlap_s[i]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Return τ and m per kind code as int64 arrays (for vectorised lookups)."""
        return np.asarray(self.tolerance_s, np.int64), np.asarray(self.min_overlap_s, np.int64)


def contact_rules(profile: Profile | str = DEFAULT_PROFILE, *, lookback_days: int | None = None,
                  tolerance_minutes: int | None = None, min_overlap_minutes: int | None = None) -> ContactRules:
    """Return the profile's contact rules, with overrides applied to every place kind."""
    if isinstance(profile, str):
        profile = get_profile(profile)
    for name, value in (("lookback_days", lookback_days), ("tolerance_minutes", tolerance_minutes),
                        ("min_overlap_minutes", min_overlap_minutes)):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be 0 or more, not {value}")
    rules = [profile.contact[kind] for kind in PLACE_KINDS]
    tolerance = [tolerance_minutes if tolerance_minutes is not None else r.tolerance_minutes for r in rules]
    overlap = [min_overlap_minutes if min_overlap_minutes is not None else r.min_overlap_minutes for r in rules]
    days = profile.lookback_days if lookback_days is None else lookback_days
    return ContactRules(days * DAY, tuple(t * MINUTE for t in tolerance), tuple(m * MINUTE for m in overlap))


@dataclass(frozen=True, order=True)
class Exposure:
    """Evidence of one contact: the overlap at a place of the widened index stay with the contact's stay."""

    start: int
    end: int
    place: str


@dataclass(frozen=True)
class CloseContact:
    person: PersonKey
    first_exposure: int
    exposures: tuple[Exposure, ...]  # ordered by start, end, place


@dataclass(frozen=True)
class SecondaryContact:
    person: PersonKey
    via: tuple[PersonKey, ...]  # the close contacts it came through, in person order


@dataclass(frozen=True)
class Trace:
    """The result of tracing one index case: close contacts by first exposure, secondary contacts by person."""

    index: PersonKey
    window_start: int
    isolated: int | None
    close: tuple[CloseContact, ...]
    secondary: tuple[SecondaryContact, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the issue's JSON shape: index, close (with exposures), secondary (with via)."""
        return {
            "index": self.index,
            "close": [{"person": c.person, "first_exposure": format_time(c.first_exposure),
                       "exposures": [{"place": e.place, "start": format_time(e.start), "end": format_time(e.end)}
                                     for e in c.exposures]} for c in self.close],
            "secondary": [{"person": s.person, "via": list(s.via)} for s in self.secondary],
        }


@dataclass(frozen=True)
class Stay:
    """One presence record of a trajectory."""

    place: str
    kind: str
    t_in: int
    t_out: int


def person_order(key: PersonKey) -> tuple[int, int, str]:
    """Return a sort key that orders int persons numerically before str persons (mixed keys do not compare)."""
    return (0, key, "") if isinstance(key, int) else (1, 0, key)


def sorted_trace(index: PersonKey, window_start: int, isolated: int | None,
                 close: dict[PersonKey, set[Exposure]], via: dict[PersonKey, set[PersonKey]]) -> Trace:
    """Return a Trace in canonical order from contacts and their evidence (shared by every engine)."""
    contacts = [CloseContact(p, min(e.start for e in ex), tuple(sorted(ex))) for p, ex in close.items()]
    contacts.sort(key=lambda c: (c.first_exposure, person_order(c.person)))
    secondary = [SecondaryContact(p, tuple(sorted(v, key=person_order))) for p, v in via.items()]
    secondary.sort(key=lambda s: person_order(s.person))
    return Trace(index, window_start, isolated, tuple(contacts), tuple(secondary))


def format_time(epoch: int) -> str:
    """Return ISO 8601 in local time with its offset (2022-03-01T09:00:00+08:00)."""
    return datetime.fromtimestamp(epoch, LOCAL_TZ).isoformat()
