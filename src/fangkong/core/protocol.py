"""Protocol profiles (PROTOCOL.md): the national protocol's editions and local variants, as data.

A deployment picks one (FANGKONG_PROTOCOL_PROFILE, default edition-9); tracing reads its contact rules,
observation its periods, leads the `deadlines` profile. The figures live in `data/protocol.toml`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

DEFAULT_PROFILE = "edition-9"
PLACE_KINDS = ("venue", "checkpoint", "vehicle", "household", "grid")
OBSERVATION_KINDS = ("centralised_quarantine", "home_quarantine", "health_monitoring")
MIDNIGHT: Literal["midnight"] = "midnight"
FEVER_C = 37.3  # 发热: an axillary temperature at or above this is a fever, wherever it is taken


@dataclass(frozen=True)
class ContactRule:
    """How close in time two stays at one place must be to count as an exposure (issue 7)."""

    tolerance_minutes: int  # τ: the index stay is widened by this on both sides
    min_overlap_minutes: int  # m: 0 means touching intervals count


@dataclass(frozen=True)
class ObservationRule:
    kind: str  # centralised_quarantine | home_quarantine | health_monitoring
    days: int
    then_home_monitoring_days: int = 0
    test_days: tuple[int, ...] = ()  # days of observation (1 = the first day) with a test


@dataclass(frozen=True)
class Profile:
    name: str
    lookback_days: int
    contact: Mapping[str, ContactRule]  # place kind -> rule
    observation: Mapping[str, ObservationRule]  # risk status -> rule
    grid_size_m: int = 800


Clock = timedelta | Literal["midnight"]


@dataclass(frozen=True)
class DeadlineClocks:
    """Up to three clocks for one lead priority, each a duration after dispatch or local midnight."""

    verify: Clock
    report: Clock | None = None
    acknowledge: Clock | None = None


class UnknownProfile(KeyError):
    """A profile name that is not shipped; the message lists the valid names."""

    def __str__(self) -> str:
        return str(self.args[0])


def _load() -> dict[str, Any]:
    text = resources.files("fangkong.core").joinpath("data/protocol.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _resolved(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Return a profile's table with its `extends` chain merged in (the child wins, status by status)."""
    table = dict(raw[name])
    parent = table.pop("extends", None)
    if parent is None:
        return table
    merged = _resolved(raw, parent)
    for key, value in table.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    return merged


def _profile(name: str, table: Mapping[str, Any]) -> Profile:
    contact = {kind: ContactRule(**table["contact"][kind]) for kind in PLACE_KINDS}
    observation = {status: ObservationRule(rule["kind"], rule["days"], rule.get("then_home_monitoring_days", 0),
                                           tuple(rule.get("test_days", ())))
                   for status, rule in table.get("observation", {}).items()}
    for status, rule in observation.items():
        if rule.kind not in OBSERVATION_KINDS:
            raise ValueError(f"protocol profile {name}: {status} has unknown observation kind {rule.kind!r}")
    return Profile(name, table["lookback_days"], MappingProxyType(contact), MappingProxyType(observation),
                   table.get("grid_size_m", 800))


def _clock(value: int | str | None) -> Clock | None:
    if value is None:
        return None
    if value == MIDNIGHT:
        return MIDNIGHT
    if isinstance(value, int) and value > 0:
        return timedelta(minutes=value)
    raise ValueError(f"deadline clock must be minutes > 0 or 'midnight', not {value!r}")


@cache
def _profiles() -> Mapping[str, Profile]:
    raw = _load()["profiles"]
    return MappingProxyType({name: _profile(name, _resolved(raw, name)) for name in raw})


@cache
def deadlines() -> Mapping[str, DeadlineClocks]:
    """Return the `deadlines` profile: priority -> its clocks (acknowledge, verify, report)."""
    table = _load()["deadlines"]
    return MappingProxyType({priority: DeadlineClocks(verify=_clock(clocks["verify"]) or MIDNIGHT,
                                                      report=_clock(clocks.get("report")),
                                                      acknowledge=_clock(clocks.get("acknowledge")))
                             for priority, clocks in table.items()})


def list_profiles() -> list[str]:
    """Return the names of the shipped protocol profiles."""
    return sorted(_profiles())


def get_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """Return a protocol profile by name; an unknown name lists the known ones."""
    try:
        return _profiles()[name]
    except KeyError:
        raise UnknownProfile(f"unknown protocol profile {name!r}; known: {', '.join(list_profiles())}") from None
