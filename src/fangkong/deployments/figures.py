"""What deployments reports to the daily report and the dashboard (the capability's `figures` hook),
and the tiles on a unit's home page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core.access import can
from fangkong.core.capability import DayWindow, Figure, FigureKind, Tile
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.deployments import cases, daylog, posts, supervision
from fangkong.deployments.rules import CASE_READ, DEPLOYMENT_READ, SUPERVISION_READ

LOG_KEYS = {"officer_shifts": "deployments.officer_shifts", "vehicle_trips": "deployments.vehicle_trips",
            "drone_sorties": "deployments.drone_sorties", "drone_hours": "deployments.drone_hours",
            "patrols": "deployments.patrols", "posts_manned": "deployments.posts_manned"}
FIGURE_KINDS = (
    FigureKind("deployments.officer_shifts", N_("Officer shifts (警力人次)"), N_("person-shifts")),
    FigureKind("deployments.vehicle_trips", N_("Vehicle trips (警车辆次)"), N_("trips")),
    FigureKind("deployments.drone_sorties", N_("Drone sorties (无人机架次)"), N_("sorties")),
    FigureKind("deployments.drone_hours", N_("Drone hours"), N_("hours")),
    FigureKind("deployments.patrols", N_("Patrols"), N_("patrols")),
    FigureKind("deployments.posts_manned", N_("Posts manned"), N_("posts")),
    FigureKind("deployments.cases_registered", N_("Offence cases registered"), N_("offence cases"), incident=True),
    FigureKind("deployments.cases_solved", N_("Offence cases solved (破获)"), N_("offence cases")),
    FigureKind("deployments.persons_dealt", N_("Persons dealt with (处理)"), N_("persons")),
)


def day_figures(session: Session, window: DayWindow) -> Iterable[Figure]:
    """Return (unit id, key, value) for the day: the log's figures (corrected where corrected) and the cases."""
    for unit_id, row in daylog.effective_figures(session, window.day).items():
        for field, key in LOG_KEYS.items():
            if row[field]:
                yield unit_id, key, round(row[field])
    registered: dict[int, int] = {}
    for unit_id, _category, n in cases.registered(session, window.start, window.end):
        registered[unit_id] = registered.get(unit_id, 0) + n
    for unit_id, n in registered.items():
        yield unit_id, "deployments.cases_registered", n
    solved: dict[int, list[int]] = {}
    for unit_id, _category, n, persons in cases.solved_and_persons(session, window.start, window.end):
        counts = solved.setdefault(unit_id, [0, 0])
        counts[0] += n
        counts[1] += persons
    for unit_id, (n, persons) in solved.items():
        yield unit_id, "deployments.cases_solved", n
        if persons:
            yield unit_id, "deployments.persons_dealt", persons


def tiles(session: Session, user: User, _settings: Any) -> list[Tile]:
    """Posts below strength now (red when any), and overdue rectification items."""
    found = []
    if can(user, DEPLOYMENT_READ):
        short = len(posts.below_strength(session, user))
        found.append(Tile(short, N_("Posts below strength now"), "/deployments/alerts", alert=short > 0, order=60))
    if can(user, SUPERVISION_READ):
        overdue = len(supervision.open_items(session, user, overdue_only=True))
        if overdue:
            found.append(Tile(overdue, N_("Rectification items overdue"), "/supervision", alert=True, order=61))
    if can(user, CASE_READ):
        open_cases = cases.list_cases(session, user, status="filed", page_size=1).total
        found.append(Tile(open_cases, N_("Offence cases filed, not yet solved"), "/cases?status=filed", order=62))
    return found
