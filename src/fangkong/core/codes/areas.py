"""GB/T 2260 administrative division codes, with names and history (1981–2024).

The table ships with the package (data/areas.csv.gz, built by tools/build_code_data.py from the public
CC0 dataset) and is read once, on first use.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
from dataclasses import dataclass
from importlib import resources

DIRECT = "直辖"  # the dataset's prefecture column for counties directly under a province or municipality
LEVELS = ("province", "prefecture", "county")


@dataclass(frozen=True, slots=True)
class Area:
    """One code in one period of its history; a code can stand for different areas in different years."""

    code: str
    name: str
    province: str
    prefecture: str | None  # None for provinces and for counties directly under a province (直辖)
    level: str  # "province" | "prefecture" | "county"
    first_year: int
    retired_year: int | None  # exclusive: the code was last valid on 31 December of the year before
    successors: tuple[str, ...]  # codes that took over (all or part of) the area

    @property
    def full_name(self) -> str:
        """Return e.g. 甘肃省兰州市城关区, without repeating a name (北京市东城区, 甘肃省兰州市)."""
        parts = [self.province]
        if self.prefecture and self.prefecture != self.province:
            parts.append(self.prefecture)
        if self.name != parts[-1]:
            parts.append(self.name)
        return "".join(parts)

    @property
    def current(self) -> bool:
        """Return whether the code is still in use with this meaning."""
        return self.retired_year is None

    def valid_in(self, year: int) -> bool:
        """Return whether the code stood for this area at some time in `year`."""
        return self.first_year <= year and (self.retired_year is None or year < self.retired_year)


def _row_to_area(row: list[str]) -> Area:
    """Return the Area of one row of the packaged table."""
    code, province, prefecture, name, level, first, retired, successors = row
    return Area(code=code, name=name, province=province,
                prefecture=prefecture if prefecture and prefecture != DIRECT else None,
                level=level, first_year=int(first), retired_year=int(retired) if retired else None,
                successors=tuple(s.split("[")[0] for s in successors.split(";") if s))


@functools.cache
def _table() -> dict[str, tuple[Area, ...]]:
    """Return every period of every code, oldest first."""
    raw = resources.files("fangkong.core.codes").joinpath("data/areas.csv.gz").read_bytes()
    reader = csv.reader(io.StringIO(gzip.decompress(raw).decode("utf-8")))
    next(reader)  # header
    by_code: dict[str, list[Area]] = {}
    for row in reader:
        area = _row_to_area(row)
        by_code.setdefault(area.code, []).append(area)
    return {code: tuple(sorted(periods, key=lambda a: a.first_year)) for code, periods in by_code.items()}


@functools.cache
def _current() -> tuple[Area, ...]:
    """Return the areas in use today, in code order."""
    return tuple(sorted((p[-1] for p in _table().values() if p[-1].current), key=lambda a: a.code))


def lookup_area(code: str, year: int | None = None) -> Area | None:
    """Return the area `code` stood for in `year`; without a year the current one, else its latest period.

    With a year outside the code's periods (the table starts in 1981) the answer is None.
    """
    periods = _table().get((code or "").strip())
    if not periods:
        return None
    if year is not None:
        return next((a for a in periods if a.valid_in(year)), None)
    return periods[-1]  # oldest first, and only the latest period can still be current


def area_name(code: str, year: int | None = None) -> str | None:
    """Return the full name of the area (see lookup_area), e.g. 甘肃省兰州市城关区, or None."""
    area = lookup_area(code, year)
    return area.full_name if area else None


def children(code: str) -> list[Area]:
    """Return the areas in use directly below a current province or prefecture code, in code order.

    Below a province: its prefectures and the counties directly under it (all the districts of a
    municipality such as 北京市, or 仙桃市 under 湖北省). Below a county: nothing.
    """
    parent = lookup_area(code)
    if parent is None or not parent.current or parent.level == "county":
        return []
    if parent.level == "province":
        return [a for a in _current() if a.code[:2] == code[:2] and a.code != code
                and (a.level == "prefecture" or (a.level == "county" and a.prefecture is None))]
    return [a for a in _current() if a.code[:4] == code[:4] and a.level == "county"]


def provinces() -> list[Area]:
    """Return the province-level areas in use today (including 台湾省, 香港 and 澳门), in code order."""
    return [a for a in _current() if a.level == "province"]


def province_of(code: str, year: int | None = None) -> Area | None:
    """Return the province-level area of any code (its first two digits), or None."""
    code = (code or "").strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    return lookup_area(code[:2] + "0000", year)
