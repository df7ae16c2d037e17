"""The platform's presence sources, in one list: each capability that records stays contributes one,
with the function that names its places for the pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from sqlalchemy.orm import Session

from fangkong.checkpoints.presence import passage_place_names, passage_presence
from fangkong.core.settings import Settings
from fangkong.registration.gatherings import gathering_place_names, gathering_presence
from fangkong.registration.visit_presence import visit_place_names, visit_presence
from fangkong.tracing.sync import Source

PlaceNamer = Callable[[Session, Iterable[str]], dict[str, str]]

PLACE_NAMERS: tuple[PlaceNamer, ...] = (passage_place_names, visit_place_names, gathering_place_names)


def presence_sources(settings: Settings) -> tuple[Source, ...]:
    """Return every source of the platform's stays, configured by the settings."""
    visits = partial(visit_presence, assumed_stay_minutes=settings.visit_assumed_stay_minutes)
    return (passage_presence, visits, gathering_presence)


def place_names(session: Session, keys: Iterable[str], namers: Iterable[PlaceNamer] = PLACE_NAMERS) -> dict[str, str]:
    """Return a display name for each place key a source knows; other keys (imported files) name themselves."""
    wanted = set(keys)
    names: dict[str, str] = {}
    for namer in namers:
        names.update(namer(session, wanted))
    return names
