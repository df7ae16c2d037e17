"""Where a lead goes: the unit whose jurisdiction holds the person's current address.

The city's own tree says it: district units carry a GB/T 2260 county code, station units own named
streets, towns and communities. An address is read for a county name, then for the longest owned
area name (full name first, then without its 街道/镇/乡 suffix). An address naming another
province or another prefecture is outside the city. Anything else goes to the command centre's
manual queue, with the phone's or ID's origin as a hint only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.codes import children, fold, lookup_area, provinces
from fangkong.core.models import Unit, UnitArea, UnitKind

SUFFIXES = ("街道", "镇", "乡", "社区", "村")


@dataclass(frozen=True)
class Placement:
    kind: str  # station | district | outside | unknown
    unit_id: int | None


@dataclass
class Jurisdiction:
    city_unit_id: int
    city_name: str
    province_name: str
    districts: dict[str, tuple[int, str]] = field(default_factory=dict)  # county name -> (unit id, code)
    areas: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # county code -> [(area name, unit id)]
    community_units: dict[int, int] = field(default_factory=dict)  # district unit id -> community agency id
    parents: dict[int, int | None] = field(default_factory=dict)
    foreign_names: tuple[str, ...] = ()

    def locate(self, address: str | None) -> Placement:
        """Return the unit responsible for an address."""
        text = fold(address or "", drop=" \t")
        if not text:
            return Placement("unknown", None)
        for prefix in (self.province_name, self.province_name.rstrip("省"), self.city_name):
            if text.startswith(prefix):
                text = text[len(prefix):]
        district = next(((uid, code) for name, (uid, code) in self.districts.items() if name in text), None)
        codes = [district[1]] if district else list(self.areas)
        station = self._station(text, codes)
        if station is not None:
            return Placement("station", station)
        if district is not None:
            return Placement("district", district[0])
        if any(name in text for name in self.foreign_names):
            return Placement("outside", None)
        return Placement("unknown", None)

    def _station(self, text: str, codes: list[str]) -> int | None:
        candidates = [(name, uid) for code in codes for name, uid in self.areas.get(code, [])]
        for name, uid in sorted(candidates, key=lambda c: -len(c[0])):
            if name in text:
                return uid
        stems: dict[str, set[int]] = {}
        for name, uid in candidates:
            stem = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s) and len(name) - len(s) >= 2), None)
            if stem:
                stems.setdefault(stem, set()).add(uid)
        for stem, uids in sorted(stems.items(), key=lambda s: -len(s[0])):
            if stem in text and len(uids) == 1:
                return next(iter(uids))
        return None

    def community_unit(self, station_unit_id: int) -> int | None:
        """Return the community agency beside a station's district, for the community leg."""
        district = self.parents.get(station_unit_id)
        return self.community_units.get(district) if district is not None else None


def load_jurisdiction(session: Session) -> Jurisdiction:
    """Read the city's unit tree into an index for locating addresses."""
    units = list(session.execute(select(Unit)).scalars())
    city = next(u for u in units if u.parent_id is None)
    city_area = lookup_area(city.area_code or "")
    province = lookup_area((city.area_code or "")[:2] + "0000")
    j = Jurisdiction(city.id, city_area.name if city_area else city.name, province.name if province else "")
    j.parents = {u.id: u.parent_id for u in units}
    district_ids = {u.id for u in units if u.kind == UnitKind.DISTRICT}
    for unit in units:
        if unit.kind == UnitKind.DISTRICT and unit.area_code:
            area = lookup_area(unit.area_code)
            if area:
                j.districts[area.name] = (unit.id, unit.area_code)
        if unit.kind == UnitKind.AGENCY and unit.parent_id in district_ids:
            j.community_units[unit.parent_id] = unit.id  # the district's community work station
    for unit_area in session.execute(select(UnitArea)).scalars():
        j.areas.setdefault(unit_area.area_code, []).append((unit_area.name, unit_area.unit_id))
    j.foreign_names = _foreign_names(city.area_code or "")
    return j


@functools.cache  # pure code data: computed once per process, not on every registration or import
def _foreign_names(city_code: str) -> tuple[str, ...]:
    names = [p.name for p in provinces() if p.code[:2] != city_code[:2]]
    names += [p.name.rstrip("省市") for p in provinces() if p.code[:2] != city_code[:2] and len(p.name) > 2]
    names += [a.name for a in children(city_code[:2] + "0000") if a.code != city_code]
    return tuple(n for n in names if len(n) >= 2)
