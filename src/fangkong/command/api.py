"""Command's API: the jurisdiction's figures for a day (the daily report as data), a unit's daily report,
and the dashboard data."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fangkong.command import reports, summary
from fangkong.command.web import kinds_of, parse_day
from fangkong.core.web.params import EventDay
from fangkong.core.web.work import guard, work

router = APIRouter(prefix="/api/v1", tags=["command"], dependencies=[guard()])


class ReportIn(BaseModel):
    day: EventDay
    values: dict[str, int] = Field(default_factory=dict, max_length=100,
                                   description="Figures only the unit knows (editable figure keys)")
    note: str = Field("", max_length=1000)
    zero: bool = Field(False, description="A zero report (零报告): nothing to report today")
    reason: str = Field("", max_length=500, description="Why a submitted report is corrected")
    version: int | None = Field(None, ge=1, le=1_000_000, description="The version being corrected")


class ReportOut(BaseModel):
    id: int
    unit_id: int
    day: date
    version: int
    zero_report: bool
    late: bool
    values: dict[str, int]


@router.get("/figures", dependencies=[guard(reports.COMMAND_READ)])
def figures(request: Request, day: str = Query("", max_length=10, description="YYYY-MM-DD, default today")
            ) -> dict[str, Any]:
    """The jurisdiction's daily report as data: each figure by child unit, total, running total."""
    with work(request) as w:
        s = summary.build_summary(w.session, w.user, parse_day(day), kinds_of(request), request.app.state.settings)
        return summary.summary_json(s)


@router.post("/daily-reports", status_code=201, response_model=ReportOut,
             dependencies=[guard(reports.COMMAND_REPORT)])
def submit(request: Request, body: ReportIn) -> ReportOut:
    """Submit (or correct, with a reason) the user's unit's daily report."""
    with work(request) as w:
        sub = reports.Submission(values={k: str(v) for k, v in body.values.items()}, note=body.note,
                                 zero=body.zero, reason=body.reason, version=body.version)
        r = reports.submit_report(w.session, w.user, parse_day(body.day.isoformat()), sub, kinds_of(request),
                                  request.app.state.settings)
        return ReportOut(id=r.id, unit_id=r.unit_id, day=r.day, version=r.version, zero_report=r.zero_report,
                         late=r.late, values=summary.values_of(r))
