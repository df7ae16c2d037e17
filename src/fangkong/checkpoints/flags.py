"""What the checkpoint form flags before saving: fever, coming from or through a risk area (by plate,
by ID area, by declared origin), and the watch list (an open lead on the person).

The risk areas are read on every passage, but change a few times a day: each process keeps them in
memory and reloads them when their version (`risk_version`) changes, so the check costs no query of
its own on the passage path (issue 3: passages/s).
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, bindparam, func, or_, select, union
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import RiskArea
from fangkong.core.codes import Area, fold, lookup_area, provinces
from fangkong.core.codes.areas import children
from fangkong.core.i18n import N_
from fangkong.leads.models import Lead, LeadStatus
from fangkong.people.models import Person
from fangkong.people.status import active_risk_query

FEVER_C = 37.3
FLAG_LABELS = {
    "fever": N_("Fever"), "risk_plate": N_("Vehicle from a city with a risk area"),
    "risk_id": N_("ID issued in a risk area"), "risk_origin": N_("Coming from a risk area"),
    "watch": N_("On the watch list (open lead or risk status)"),
}


@dataclass
class RiskIndex:
    """Active risk areas, indexed for the three ways a passage can touch one."""

    areas: list[tuple[str, str | None, str]] = field(default_factory=list)  # (code, compound name, level)

    def level_for_code(self, code: str) -> str | None:
        """Return the highest level of a risk area that is this area, inside it, or contains it."""
        found = [lvl for c, _n, lvl in self.areas if _related(c, code)]
        return _highest(found)

    def level_for_text(self, text: str) -> str | None:
        words = fold(text or "", drop=" ")
        if not words:
            return None
        found = []
        for code, name, level in self.areas:
            if name and name in words:
                found.append(level)
                continue
            area = lookup_area(code)
            if area and any(n and n in words for n in _names(area)):
                found.append(level)
        return _highest(found)


def _names(area: Area) -> tuple[str, ...]:
    short = area.name[:-1] if len(area.name) > 2 and area.name[-1] in "市区县" else None
    prefecture = area.prefecture if area.prefecture not in (None, "直辖") else None
    return tuple(n for n in (area.name, short, prefecture, prefecture[:-1] if prefecture else None) if n)


def _level_prefix(code: str) -> str:
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def _related(risk_code: str, code: str) -> bool:
    a, b = _level_prefix(risk_code), _level_prefix(code)
    return a.startswith(b) or b.startswith(a)


def _highest(levels: list[str]) -> str | None:
    for level in ("high", "medium", "low"):
        if level in levels:
            return level
    return None


RELOAD_SECONDS = 60.0  # a backstop: the version catches every change made through the use cases


@dataclass(frozen=True)
class _Loaded:
    version: tuple[Any, ...]
    loaded: float  # time.monotonic()
    rows: tuple[tuple[str, str | None, str, datetime, datetime | None], ...]  # code, name, level, from, until


_cache: dict[str, _Loaded] = {}  # database URL -> the risk areas not yet ended when loaded
_lock = threading.Lock()


def risk_version() -> ScalarSelect[Any]:
    """Return a scalar subquery that changes whenever a risk area is added or ended.

    Risk areas are only ever added (a new id) or ended (`valid_until` set); both move this number, so
    a caller can fetch it in a query it makes anyway and pass it to `load_risk_index`.
    """
    return select(func.coalesce(func.max(RiskArea.id), 0) * 1_000_000
                  + func.count(RiskArea.valid_until)).scalar_subquery()


def load_risk_index(session: Session, now: datetime, version: Any = None) -> RiskIndex:
    """Return the risk areas in force at `now`, from this process's copy unless their version moved."""
    if version is None:
        version = session.execute(select(risk_version())).scalar_one()
    key = str(session.get_bind().engine.url)
    loaded = _cache.get(key)
    if loaded is None or loaded.version != (version,) or time.monotonic() - loaded.loaded > RELOAD_SECONDS:
        rows = session.execute(select(RiskArea.area_code, RiskArea.name, RiskArea.level, RiskArea.valid_from,
                                      RiskArea.valid_until)
                               .where(or_(RiskArea.valid_until.is_(None), RiskArea.valid_until > now))).all()
        loaded = _Loaded((version,), time.monotonic(), tuple(tuple(r) for r in rows))  # type: ignore[misc]
        with _lock:
            _cache[key] = loaded
    return RiskIndex([(c, n, lvl) for c, n, lvl, start, until in loaded.rows
                      if lvl in ("high", "medium") and start <= now and (until is None or until > now)])


@functools.cache
def _prefecture_codes() -> dict[str, str]:
    """Return full prefecture (or municipality) names → area code, to read a plate's region."""
    out = {}
    for province in provinces():
        out[province.full_name] = province.code
        for area in children(province.code):
            out[area.full_name] = area.code
    return out


def region_code(region: str | None) -> str | None:
    return _prefecture_codes().get(region or "")


def warm_up() -> None:
    """Build the code tables the flags read (areas, plate regions) before the first passage needs them."""
    lookup_area("110000")
    _prefecture_codes()


OPEN_LEAD = (LeadStatus.DISPATCHED, LeadStatus.MANUAL)


def _watch_list(person_ids: Any) -> Any:
    """Return a query of the persons among these (ids, or a query of ids) with an open lead or a risk status."""
    return union(select(Lead.person_id).where(Lead.person_id.in_(person_ids), Lead.status.in_(OPEN_LEAD)),
                 active_risk_query(person_ids))


def watched(session: Session, id_numbers: set[str]) -> set[str]:
    """Return the ID numbers among these on the watch list: an open lead, or a risk status in the files."""
    if not id_numbers:
        return set()
    known = select(Person.id).where(Person.id_number.in_(sorted(id_numbers)))
    found = session.execute(select(Person.id_number).where(Person.id.in_(_watch_list(known)))).scalars()
    return {number for number in found if number is not None}  # all are: `known` matched them by number


@functools.cache
def _watch_list_of_ids() -> Any:
    return _watch_list(bindparam("ids", expanding=True))  # built once: the passage path runs it every time


def watched_persons(session: Session, person_ids: set[int]) -> set[int]:
    """Return the person files among these on the watch list, in one query."""
    if not person_ids:
        return set()
    return set(session.connection().execute(_watch_list_of_ids(), {"ids": sorted(person_ids)}).scalars())


def person_flags(temperature_c: float | None, id_number: str | None, risk: RiskIndex, on_watch: set[str],
                 origin_level: str | None, plate_level: str | None) -> list[str]:
    flags = []
    if temperature_c is not None and temperature_c >= FEVER_C:
        flags.append("fever")
    if plate_level:
        flags.append("risk_plate")
    if id_number and risk.level_for_code(id_number[:6]):
        flags.append("risk_id")
    if origin_level:
        flags.append("risk_origin")
    if id_number and id_number in on_watch:
        flags.append("watch")
    return flags
