"""Command's pages: the dashboard (指挥), the daily report form (日报) and who has reported, the printable
and Excel situation report, response levels, and the big screen (大屏)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.command import dashboard, levels, reports, rollup, summary
from fangkong.core import audit
from fangkong.core.access import require
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import utcnow
from fangkong.core.errors import Conflict, FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit
from fangkong.core.web.params import MAX_ID
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import checked_form, work

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Command"), "/command", frozenset({"command", "district"})),
       NavItem(N_("Daily report"), "/command/report", frozenset({"district", "station"})),
       NavItem(N_("Big screen"), "/screen", frozenset({"screen"}))]
SCREEN_READ = "command.screen"
BAD_DAY = N_("Use the form YYYY-MM-DD, a day since 2019-12-01.")
UnitQ = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def parse_day(text: str | None) -> date:
    """Return the day asked for (default today), refusing what no report can be about."""
    if not text:
        return today()
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed.one("day", BAD_DAY) from None
    if not date(2019, 12, 1) <= day <= today() + timedelta(days=1):
        raise ValidationFailed.one("day", BAD_DAY)
    return day


# The situation report's order of sections, as the seeds report them: checkpoints first.
SECTIONS = ("checkpoints", "passes", "leads", "observation", "tracing", "registration", "deployments", "command")


def kinds_of(request: Request) -> dict[str, Any]:
    """Return every declared figure, grouped by section in the report's order."""
    kinds = request.app.state.platform.figure_kinds
    rank = {name: i for i, name in enumerate(SECTIONS)}
    return dict(sorted(kinds.items(), key=lambda kv: rank.get(kv[0].split(".")[0], len(SECTIONS))))


@router.get("/command", response_class=HTMLResponse)
def dashboard_page(request: Request, unit: UnitQ = None, key: str = "") -> Response:
    with work(request) as w:
        require(w.user, reports.COMMAND_READ)
        focus = dashboard.focus_unit(w.session, w.user, unit)
        data = dashboard.dashboard_data(w.session, w.user, focus, kinds_of(request), today(), key,
                                        request.app.state.settings)
    return render(request, "command/dashboard.html", {"data": data, "data_json": _json(data)})


@router.get("/command/data")
def dashboard_json(request: Request, unit: UnitQ = None, key: str = "") -> JSONResponse:
    with work(request) as w:
        require(w.user, reports.COMMAND_READ)
        focus = dashboard.focus_unit(w.session, w.user, unit)
        data = dashboard.dashboard_data(w.session, w.user, focus, kinds_of(request), today(), key,
                                        request.app.state.settings)
    return JSONResponse(data)


def _json(data: Any) -> str:
    """JSON for a <script type="application/json"> block: '<' escaped so no tag can close it."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


# --- the daily report -------------------------------------------------------------------------------

def _report_context(request: Request, w: Any, day: date) -> dict[str, Any]:
    kinds = kinds_of(request)
    figures, _ = rollup.totals(w.session, kinds, w.user.unit.path, day, None)
    report = reports.own_report(w.session, w.user.unit_id, day)
    return {"day": day, "kinds": kinds, "figures": figures, "report": report,
            "values": summary.values_of(report) if report else {},
            "editable": reports.editable_kinds(kinds), "deadline": reports.deadline(request.app.state.settings, day),
            "revisions": reports.revisions(w.session, report) if report else [],
            "built_at": rollup.built_at(w.session, day), "errors": [], "form": {}}


@router.get("/command/report", response_class=HTMLResponse)
def report_form(request: Request, day: str = "") -> Response:
    with work(request) as w:
        require(w.user, reports.COMMAND_REPORT)
        ctx = _report_context(request, w, parse_day(day))
    return render(request, "command/report.html", ctx)


@router.post("/command/report", response_class=HTMLResponse)
def submit_report(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    get = lambda k: str(form.get(k, ""))  # noqa: E731
    with work(request) as w:
        require(w.user, reports.COMMAND_REPORT)
        day = parse_day(get("day"))
        version = get("version")
        sub = reports.Submission(values={k: get(k) for k in reports.editable_kinds(kinds_of(request))},
                                 note=get("note"), zero=get("zero") == "1", reason=get("reason"),
                                 version=int(version) if version.isdigit() else None)
        try:
            with w.session.begin_nested():
                reports.submit_report(w.session, w.user, day, sub, kinds_of(request), request.app.state.settings)
        except (ValidationFailed, Conflict) as exc:
            ctx = _report_context(request, w, day)
            errors = getattr(exc, "errors", None) or [FieldError("zero", exc.detail, exc.params)]
            ctx.update(errors=errors, form={k: str(v) for k, v in form.items()})
            return render(request, "command/report.html", ctx, 422 if isinstance(exc, ValidationFailed) else 409)
    return RedirectResponse(f"/command/report?day={day}&saved=1", status_code=303)


@router.get("/command/reports", response_class=HTMLResponse)
def report_status(request: Request, day: str = "") -> Response:
    with work(request) as w:
        the_day = parse_day(day)
        status = reports.report_status(w.session, w.user, the_day, request.app.state.settings)
    return render(request, "command/reports.html", {"day": the_day, "status": status,
                                                    "deadline": request.app.state.settings.daily_report_deadline})


@router.post("/command/reports/remind")
def remind(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        day = parse_day(str(form.get("day", "")))
        status = reports.report_status(w.session, w.user, day, request.app.state.settings)
        missing = [s.unit for s in status if s.report is None]
        told = reports.remind(w.session, missing, day, request.app.state.settings, w.user.username)
        audit.record(w.session, "remind", "daily_reports", None, day=day.isoformat(), units=told)
    return RedirectResponse(f"/command/reports?day={day}&reminded={told}", status_code=303)


@router.get("/command/summary", response_class=HTMLResponse)
def summary_page(request: Request, day: str = "") -> Response:
    with work(request) as w:
        s = summary.build_summary(w.session, w.user, parse_day(day), kinds_of(request), request.app.state.settings)
    return render(request, "command/summary.html", {"s": s, "labels": levels.LEVEL_LABELS})


@router.get("/command/summary.xlsx")
def summary_xlsx(request: Request, day: str = "") -> Response:
    with work(request) as w:
        s = summary.build_summary(w.session, w.user, parse_day(day), kinds_of(request), request.app.state.settings)
        audit.record(w.session, "export", "daily_reports", None, day=s.day.isoformat(), unit=s.unit.id)
    data = summary.summary_xlsx(s)
    name = f"daily-report-{s.day.isoformat()}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/command/rollup")
def rebuild(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """Roll the last week up now (command), instead of waiting for the scheduler."""
    with work(request) as w:
        require(w.user, levels.COMMAND_LEVEL)
        end = today()
        rows = rollup.rebuild_days(w.session, request.app.state.platform, end - timedelta(days=7), end)
        audit.record(w.session, "rebuild", "daily_figures", None, rows=rows)
    return RedirectResponse("/command", status_code=303)


# --- response levels --------------------------------------------------------------------------------

@router.get("/command/levels", response_class=HTMLResponse)
def levels_page(request: Request) -> Response:
    with work(request) as w:
        require(w.user, levels.COMMAND_LEVEL)
        ctx = {"history": levels.history(w.session), "labels": levels.LEVEL_LABELS, "errors": [], "form": {},
               "today": today()}
    return render(request, "command/levels.html", ctx)


@router.post("/command/levels", response_class=HTMLResponse)
def set_level(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    get = lambda k: str(form.get(k, "")).strip()  # noqa: E731
    with work(request) as w:
        require(w.user, levels.COMMAND_LEVEL)
        try:
            level = int(get("level")) if get("level").isdigit() else -1
            try:
                started = date.fromisoformat(get("started_on"))
            except ValueError:
                raise ValidationFailed.one("started_on", levels.BAD_START) from None
            levels.set_level(w.session, w.user, level, started, get("note"), today())
        except ValidationFailed as exc:
            ctx = {"history": levels.history(w.session), "labels": levels.LEVEL_LABELS, "errors": exc.errors,
                   "form": {k: str(v) for k, v in form.items()}, "today": today()}
            return render(request, "command/levels.html", ctx, 422)
    return RedirectResponse("/command/levels", status_code=303)


# --- the big screen ---------------------------------------------------------------------------------

@router.get("/screen", response_class=HTMLResponse)
def screen(request: Request) -> Response:
    with work(request) as w:
        require(w.user, SCREEN_READ)
        data = _screen_data(request, w)
    return render(request, "command/screen.html", {"data": data, "data_json": _json(data)})


@router.get("/screen/data")
def screen_data(request: Request) -> JSONResponse:
    with work(request) as w:
        require(w.user, SCREEN_READ)
        return JSONResponse(_screen_data(request, w))


def _screen_data(request: Request, w: Any) -> dict[str, Any]:
    """The city's picture for the hall: the screen user's unit is the city; figures only."""
    unit: Unit = w.user.unit
    return dashboard.dashboard_data(w.session, w.user, unit, kinds_of(request), today(), "",
                                    request.app.state.settings)
