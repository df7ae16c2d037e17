"""The daily deployment log (每日警力投入): per unit and day, prefilled from the rosters of the unit's
posts, corrected by the unit where the rosters fall short (patrols are never on a roster), rolled up
over the unit tree. A correction is a new row; the latest per figure counts and the older ones stay."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.access import require, restrict
from fangkong.core.context import current_actor
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, UnitKind, User
from fangkong.core.units import unit_tree
from fangkong.deployments.models import LogCorrection, Post, Shift, ShiftMember
from fangkong.deployments.posts import visible_unit
from fangkong.deployments.rules import CHOOSE, DEPLOYMENT_MANAGE, DEPLOYMENT_READ, OFFICERS, day_of, text

FIELDS = {"officer_shifts": N_("Officer shifts (警力人次)"), "vehicle_trips": N_("Vehicle trips (警车辆次)"),
          "drone_sorties": N_("Drone sorties (无人机架次)"), "drone_hours": N_("Drone hours"),
          "patrols": N_("Patrols"), "posts_manned": N_("Posts manned")}
BAD_FIGURE = N_("Give a number from 0 to {n}.")
MAX_FIGURE = 1_000_000
Figures = dict[str, float]


def roster_figures(session: Session, day: date, unit_ids: list[int] | None = None) -> dict[int, Figures]:
    """Return unit id -> the day's figures as the rosters of its posts give them."""
    base = select(Post.unit_id).join(Shift, Shift.post_id == Post.id).where(Shift.day == day)
    if unit_ids is not None:
        base = base.where(Post.unit_id.in_(unit_ids))
    out: dict[int, Figures] = defaultdict(lambda: dict.fromkeys(FIELDS, 0.0))
    members = (base.add_columns(ShiftMember.kind, func.count(ShiftMember.id), func.sum(ShiftMember.hours))
               .join(ShiftMember, ShiftMember.shift_id == Shift.id).group_by(Post.unit_id, ShiftMember.kind))
    for unit_id, kind, count, hours in session.execute(members):
        row = out[unit_id]
        if kind in OFFICERS:
            row["officer_shifts"] += count
        elif kind == "vehicle":
            row["vehicle_trips"] += count
        elif kind == "drone":
            row["drone_sorties"] += count
            row["drone_hours"] += float(hours or 0)
    manned = (base.add_columns(func.count(func.distinct(Shift.post_id)))
              .where(Shift.id.in_(select(ShiftMember.shift_id).where(ShiftMember.kind.in_(OFFICERS))))
              .group_by(Post.unit_id))
    for unit_id, posts in session.execute(manned):
        out[unit_id]["posts_manned"] = float(posts)
    return dict(out)


def latest_corrections(session: Session, day: date, unit_ids: list[int] | None = None
                       ) -> dict[int, dict[str, LogCorrection]]:
    """Return unit id -> figure -> the latest correction of the day."""
    stmt = select(LogCorrection).where(LogCorrection.day == day)
    if unit_ids is not None:
        stmt = stmt.where(LogCorrection.unit_id.in_(unit_ids))
    out: dict[int, dict[str, LogCorrection]] = defaultdict(dict)
    for c in session.execute(stmt.order_by(LogCorrection.id)).scalars():
        out[c.unit_id][c.field] = c  # later rows replace earlier ones
    return dict(out)


def effective_figures(session: Session, day: date, unit_ids: list[int] | None = None) -> dict[int, Figures]:
    """Return unit id -> the day's figures: the corrected value where there is one, else the rosters'."""
    rosters = roster_figures(session, day, unit_ids)
    corrected = latest_corrections(session, day, unit_ids)
    out: dict[int, Figures] = {}
    for unit_id in rosters.keys() | corrected.keys():
        row = dict(rosters.get(unit_id, dict.fromkeys(FIELDS, 0.0)))
        row.update({k: c.value for k, c in corrected.get(unit_id, {}).items() if k in FIELDS})
        out[unit_id] = row
    return out


@dataclass
class LogRow:
    """One unit's line of the log: its own figures and the roll-up over its subtree."""

    unit: Unit
    own: Figures
    total: Figures
    corrected: set[str] = field(default_factory=set)


def day_log(session: Session, user: User, day: date) -> list[LogRow]:
    """Return the day's log for every unit of the jurisdiction, in tree order, rolled up by subtree."""
    require(user, DEPLOYMENT_READ)
    units = [u for u in unit_tree(session, user) if u.kind != UnitKind.AGENCY]  # agencies keep no posts
    ids = [u.id for u in units]
    own = effective_figures(session, day, ids)
    corrected = latest_corrections(session, day, ids)
    rows = []
    for unit in units:
        total = dict.fromkeys(FIELDS, 0.0)
        for other in units:
            if other.path.startswith(unit.path) and other.id in own:
                for key in FIELDS:
                    total[key] += own[other.id][key]
        rows.append(LogRow(unit, own.get(unit.id, dict.fromkeys(FIELDS, 0.0)), total,
                           set(corrected.get(unit.id, {}))))
    return rows


def correct_log(session: Session, user: User, unit_id: int | None, day: date | str | None,
                values: dict[str, str | float | None], reason: str) -> list[LogCorrection]:
    """Record the unit's corrections of the day's figures (only those that change a figure)."""
    require(user, DEPLOYMENT_MANAGE)
    errors: list[FieldError] = []
    the_day = day_of(errors, "day", day)
    reason = text(errors, "reason", reason, 255)
    unit = visible_unit(session, user, unit_id)
    if unit is None:  # a choice of the form, like the post's unit: outside the jurisdiction is not offered
        errors.append(FieldError("unit_id", CHOOSE))
    numbers = _numbers(values, errors)
    if errors or the_day is None or unit is None:
        raise ValidationFailed(errors)
    current = effective_figures(session, the_day, [unit.id]).get(unit.id, dict.fromkeys(FIELDS, 0.0))
    made = [LogCorrection(unit_id=unit.id, day=the_day, field=key, value=value, previous=current[key],
                          reason=reason, corrected_by=current_actor.get().username)
            for key, value in numbers.items() if value != current[key]]
    session.add_all(made)
    session.flush()
    return made


def _numbers(values: dict[str, str | float | None], errors: list[FieldError]) -> dict[str, float]:
    out = {}
    for key, raw in values.items():
        if key not in FIELDS or raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            number = float(str(raw).strip())
        except ValueError:
            number = -1.0
        if not 0 <= number <= MAX_FIGURE:  # also refuses nan
            errors.append(FieldError(key, BAD_FIGURE, {"n": MAX_FIGURE}))
            continue
        out[key] = round(number, 1) if key == "drone_hours" else float(int(number))
    return out


def corrections_of(session: Session, user: User, unit_id: int, day: date) -> list[LogCorrection]:
    """Return every correction of a unit's day, oldest first (the history behind the figures)."""
    require(user, DEPLOYMENT_READ)
    stmt = restrict(select(LogCorrection).where(LogCorrection.unit_id == unit_id, LogCorrection.day == day),
                    user, LogCorrection.unit_id)
    return list(session.execute(stmt.order_by(LogCorrection.id)).scalars())
