"""Risk areas (中高风险地区) as the command centre declares them, and the index every passage and arrival is
checked against: checkpoints flag a passage from or through one, registration grades an arrival by one.

The risk areas are read on every passage, but change a few times a day: each process keeps them in
memory and reloads them when their version (`risk_version`) changes, so the check costs no query of
its own on the passage path (issue 3: passages/s). Declaring and ending them is checkpoints' page.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from fangkong.core.codes import Area, fold, lookup_area
from fangkong.core.db import Base, UTCDateTime, utcnow


class RiskArea(Base):
    """A risk area as the command centre declares it: a GB/T 2260 area, or a named compound/village in one."""

    __tablename__ = "risk_areas"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str | None] = mapped_column(String(100))  # a compound or village, or None for the whole area
    level: Mapped[str] = mapped_column(String(8))  # high | medium | low
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)



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
