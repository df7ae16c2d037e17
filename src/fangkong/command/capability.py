"""What command (指挥) contributes: the figures roll-up and its jobs, daily reports with zero reports and
reminders, response levels, the dashboard and the big screen. Command only reads the others' work."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.command import api, levels, reports, rollup, web
from fangkong.core.access import can
from fangkong.core.capability import Capability, DayWindow, Figure, FigureKind, Tile
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.core.scheduler import Job

# What only a unit knows (no platform record counts it): typed into the daily report. Police strength
# comes from the deployments capability's rosters and log; these are the community's side of the work.
KINDS = (
    FigureKind("command.cadres", N_("Community cadres on duty (person-shifts)"), N_("person-shifts"), editable=True),
    FigureKind("command.compounds_closed", N_("Compounds under closed management"), N_("compounds"), kind="stock",
               editable=True),
)


def _no_platform_figures(_session: Session, _window: DayWindow) -> Iterable[Figure]:
    return ()  # these figures come from the units' reports, not from platform records


def _tiles(session: Session, user: User, settings: Any) -> list[Tile]:
    from fangkong.command.web import today

    tiles = []
    if can(user, reports.COMMAND_REPORT) and user.unit.kind in reports.REPORTING_KINDS:
        done = reports.own_report(session, user.unit_id, today()) is not None
        tiles.append(Tile(N_("Submitted") if done else N_("Not yet submitted"), N_("Today's daily report"),
                          "/command/report", alert=not done, order=10))
    if can(user, reports.COMMAND_READ):
        status = reports.report_status(session, user, today(), settings)
        missing = sum(1 for s in status if s.report is None)
        tiles.append(Tile(missing, N_("Units without today's daily report"), "/command/reports",
                          alert=any(s.overdue for s in status), order=11))
    return tiles


CAPABILITY = Capability(
    name="command",
    pages=(web.router,),
    api=(api.router,),
    nav=tuple(web.NAV),
    templates=Path(__file__).parent / "templates",
    models=("fangkong.command.models",),
    permissions={"command": frozenset({reports.COMMAND_READ, levels.COMMAND_LEVEL, web.SCREEN_READ}),
                 "district": frozenset({reports.COMMAND_READ, reports.COMMAND_REPORT, web.SCREEN_READ}),
                 "station": frozenset({reports.COMMAND_REPORT}),
                 "screen": frozenset({web.SCREEN_READ})},
    jobs=(Job("figures.recent", 600, rollup.recent_job), Job("figures.nightly", 6 * 3600, rollup.nightly_job),
          Job("reports.deadline", 300, reports.deadline_job)),
    tiles=_tiles,
    figures=_no_platform_figures,
    figure_kinds=KINDS,
)
