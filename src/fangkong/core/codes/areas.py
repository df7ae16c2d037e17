"""GB/T 2260 administrative division codes, with names and history (1981–2024)."""

from __future__ import annotations

import csv
import functools
import gzip
import io
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    province: str
    prefecture: str | None
    level: str  # "province" | "prefecture" | "county"
    first_year: int
    retired_year: int | None  # exclusive: the code was last valid on 31 December of the year before
    successors: tuple[str, ...]

    @property
    def full_name(self) -> str:
        """Return e.g. 甘肃省兰州市城关区 (no repeated names for municipalities or prefecture rows)."""
        parts = [self.province]
        if self.prefecture and self.prefecture not in ("直辖", self.province):
            parts.append(self.prefecture)
        if self.name not in parts:
            parts.append(self.name)
        return "".join(parts)

    def valid_in(self, year: int) -> bool:
        return self.first_year <= year and (self.retired_year is None or year < self.retired_year)


@functools.cache
def _table() -> dict[str, tuple[Area, ...]]:
    raw = resources.files("fangkong.core.codes").joinpath("data/areas.csv.gz").read_bytes()
    by_code: dict[str, list[Area]] = {}
    for row in csv.DictReader(io.StringIO(gzip.decompress(raw).decode())):
        area = Area(
            code=row["code"], name=row["name"], province=row["province"],
            prefecture=row["prefecture"] or None, level=row["level"], first_year=int(row["first_year"]),
            retired_year=int(row["retired_year"]) if row["retired_year"] else None,
            successors=tuple(s.split("[")[0] for s in row["successors"].split(";") if s),
        )
        by_code.setdefault(area.code, []).append(area)
    return {code: tuple(sorted(rows, key=lambda a: a.first_year)) for code, rows in by_code.items()}


def lookup_area(code: str, year: int | None = None) -> Area | None:
    """Return the area a code stood for in `year` (default: now, else its latest period)."""
    periods = _table().get((code or "").strip())
    if not periods:
        return None
    if year is not None:
        return next((a for a in periods if a.valid_in(year)), None)
    current = [a for a in periods if a.retired_year is None]
    return current[-1] if current else periods[-1]


def area_name(code: str, year: int | None = None) -> str | None:
    area = lookup_area(code, year)
    return area.full_name if area else None


def children(code: str) -> list[Area]:
    """Return the areas currently in use directly below a province or prefecture code."""
    parent = lookup_area(code)
    if parent is None:
        return []
    if parent.level == "province":
        prefix, wanted = code[:2], ("prefecture",)
        found = [a for a in _current() if a.code[:2] == prefix and a.level in wanted]
        if not found:  # municipalities: counties hang directly below the province
            found = [a for a in _current() if a.code[:2] == prefix and a.level == "county"]
        return found
    return [a for a in _current() if a.code[:4] == code[:4] and a.level == "county"]


def provinces() -> list[Area]:
    return [a for a in _current() if a.level == "province"]


def province_of(code: str) -> Area | None:
    return lookup_area(code[:2] + "0000")


@functools.cache
def _current() -> tuple[Area, ...]:
    return tuple(sorted((p[-1] for p in _table().values() if p[-1].retired_year is None), key=lambda a: a.code))
