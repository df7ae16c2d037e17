"""The daily roll-up: every capability's figures per unit and day, stored so that reading a dashboard or
a report sums a few hundred rows instead of scanning millions of raw ones.

A day is rebuilt whole (delete, insert) in one transaction, so a rebuild is idempotent and a reader
never sees half a day. The scheduler rebuilds today and yesterday every few minutes and the last week
each night; `fangkong figures rebuild` does any range on demand.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from fangkong.command.models import DailyFigure, DailyReport, RollupRun
from fangkong.core.capability import DayWindow, FigureKind, Platform
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import insert_rows, utcnow
from fangkong.core.models import Unit
from fangkong.core.scheduler import JobContext

ROLLUP_LOCK = 0x726F6C6C  # "roll"


def rebuild_day(session: Session, platform: Platform, day: date) -> int:
    """Replace the stored figures of `day` with what the capabilities count now; return the rows stored."""
    if session.get_bind().dialect.name == "postgresql":  # two rebuilds of one day wait for each other
        session.execute(text("SELECT pg_advisory_xact_lock(:cls, :day)"), {"cls": ROLLUP_LOCK, "day": day.toordinal()})
    sums: dict[tuple[int, str], int] = defaultdict(int)
    for unit_id, key, value in platform.figures(session, DayWindow(day)):
        sums[(unit_id, key)] += int(value)
    session.execute(delete(DailyFigure).where(DailyFigure.day == day))
    rows = [{"day": day, "unit_id": u, "key": k, "value": v} for (u, k), v in sums.items() if v]
    if rows:
        insert_rows(session, DailyFigure, rows)
    run = session.get(RollupRun, day) or RollupRun(day=day)
    run.built_at, run.rows = utcnow(), len(rows)
    session.add(run)
    return len(rows)


def rebuild_days(session: Session, platform: Platform, first: date, last: date) -> int:
    total, day = 0, first
    while day <= last:
        total += rebuild_day(session, platform, day)
        day += timedelta(days=1)
    return total


def recent_job(session: Session, ctx: JobContext) -> int:
    """Scheduler job: roll today and yesterday up again (late records, corrections)."""
    today = ctx.now.astimezone(LOCAL_TZ).date()
    return rebuild_days(session, ctx.platform, today - timedelta(days=1), today)


def nightly_job(session: Session, ctx: JobContext) -> int:
    """Scheduler job: the last week, once a night (stock figures settle, late check-outs arrive)."""
    today = ctx.now.astimezone(LOCAL_TZ).date()
    return rebuild_days(session, ctx.platform, today - timedelta(days=7), today)


def _in_subtree(path: str) -> Any:
    return DailyFigure.unit_id.in_(select(Unit.id).where(Unit.path.startswith(path, autoescape=True)))


def reported_values(session: Session, path: str, first: date, last: date,
                    editable: Iterable[str]) -> dict[date, dict[str, int]]:
    """Return the figures only units know (editable ones), summed per day over the subtree's reports."""
    keys = set(editable)
    out: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if not keys:
        return out
    rows = session.execute(select(DailyReport.day, DailyReport.values)
                           .join(Unit, Unit.id == DailyReport.unit_id)
                           .where(Unit.path.startswith(path, autoescape=True),
                                  DailyReport.day >= first, DailyReport.day <= last)).all()
    for day, values in rows:
        for key, value in json.loads(values).items():
            if key in keys:
                out[day][key] += int(value)
    return out


@dataclass(frozen=True)
class Series:
    days: list[date]
    values: dict[str, list[int]]  # key -> one value per day


def series(session: Session, kinds: dict[str, FigureKind], path: str, first: date, last: date) -> Series:
    """Return each figure per day over [first, last] for the subtree at `path` (zeros where none)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    index = {d: i for i, d in enumerate(days)}
    values = {k: [0] * len(days) for k in kinds}
    rows = session.execute(select(DailyFigure.day, DailyFigure.key, func.sum(DailyFigure.value))
                           .where(_in_subtree(path), DailyFigure.day >= first, DailyFigure.day <= last)
                           .group_by(DailyFigure.day, DailyFigure.key)).all()
    for day, key, value in rows:
        if key in values:
            values[key][index[day]] = int(value)
    editable = [k for k, kind in kinds.items() if kind.editable]
    for day, reported in reported_values(session, path, first, last, editable).items():
        for key, value in reported.items():
            values[key][index[day]] += value
    return Series(days, values)


def totals(session: Session, kinds: dict[str, FigureKind], path: str, day: date,
           since: date | None) -> tuple[dict[str, int], dict[str, int]]:
    """Return (the day's figures, running totals since `since`) for the subtree: stock figures are the
    day's state, never summed over days."""
    first = since if since is not None and since <= day else day
    s = series(session, kinds, path, first, day)
    today = {k: v[-1] for k, v in s.values.items()}
    running = {k: (sum(v) if kinds[k].kind == "flow" else v[-1]) for k, v in s.values.items()}
    return today, running


def by_child(session: Session, kinds: Sequence[str], parent: Unit, first: date,
             last: date) -> dict[int, dict[str, int]]:
    """Return the figures summed over [first, last] for each child unit's subtree (for bars and the map)."""
    children = session.execute(select(Unit.id, Unit.path).where(Unit.parent_id == parent.id,
                                                                Unit.kind != "agency")).all()
    out: dict[int, dict[str, int]] = {cid: dict.fromkeys(kinds, 0) for cid, _ in children}
    if not children:
        return out
    rows = session.execute(select(Unit.path, DailyFigure.key, func.sum(DailyFigure.value))
                           .join(Unit, Unit.id == DailyFigure.unit_id)
                           .where(Unit.path.startswith(parent.path, autoescape=True), DailyFigure.key.in_(kinds),
                                  DailyFigure.day >= first, DailyFigure.day <= last)
                           .group_by(Unit.path, DailyFigure.key)).all()
    by_path = sorted(children, key=lambda c: -len(c[1]))
    for path, key, value in rows:
        for cid, cpath in by_path:
            if path.startswith(cpath):
                out[cid][key] += int(value)
                break
    return out


def built_at(session: Session, day: date) -> Any:
    run = session.get(RollupRun, day)
    return run.built_at if run else None
