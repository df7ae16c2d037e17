"""Pages for the daily round: follow-up lists (station, care team, "mine"), one-tap recording, the missed
list, paper sheets out and back in, care teams, and command's observation counts and filtered list."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from fangkong.core.access import CARE_MANAGE, FOLLOWUP_READ, FOLLOWUP_RECORD, can, require
from fangkong.core.clock import BAD_DATE
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.imports import ImportView
from fangkong.core.models import Role, UnitKind
from fangkong.core.units import unit_tree
from fangkong.core.web.imports import upload_in_background
from fangkong.core.web.params import MAX_ID, Id, PageNo, form_id, optional_id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, submit_form, work
from fangkong.observation import care, followup_sheets, followups, observations, selfreport
from fangkong.observation.followups import FollowUpInput
from fangkong.observation.status import OBSERVATION_KINDS
from fangkong.people.models import STATUSES

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Follow-ups"), "/followups", frozenset({"command", "district", "station", "health", "community"})),
       NavItem(N_("Care teams"), "/care", frozenset({"command", "district", "station", "health", "community"})),
       NavItem(N_("Under observation"), "/observations", frozenset({"command", "district", "station", "health"}))]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def parse_date(name: str, value: str, default: date) -> date:
    """Return a day typed as YYYY-MM-DD (default when empty), or a field error naming `name`."""
    if not value.strip():
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.one(name, BAD_DATE) from None


def labels() -> dict[str, object]:
    return {"symptoms": followups.SYMPTOMS, "test_results": followups.TEST_RESULTS, "methods": followups.METHODS,
            "kinds": OBSERVATION_KINDS, "status_labels": STATUSES, "fever_c": followups.FEVER_C,
            "min_c": followups.MIN_C, "max_c": followups.MAX_C, "team_role_label": care.team_role_label,
            "today": followups.local_today()}


def team_roles(request: Request) -> care.TeamRoles:
    return care.parse_team_roles(request.app.state.settings.care_team_roles)


def form_input(form: FormData) -> FollowUpInput:
    text = str(form.get("temperature_c", "")).strip().replace(",", ".")
    try:
        temperature = float(text) if text else None
    except ValueError:
        temperature = -1.0  # reported as out of range, naming the field
    return FollowUpInput(temperature_c=temperature, symptoms=[str(v) for v in form.getlist("symptoms")],
                         test_result=str(form.get("test_result", "")), note=str(form.get("note", ""))[:1000])


# --- the daily lists -----------------------------------------------------------------------------------

@router.get("/followups", response_class=HTMLResponse)
def list_page(request: Request, day: str = "", unit: Annotated[str, Query(alias="unit_id", max_length=12)] = "",
              mine: bool = False, page: PageNo = 1) -> HTMLResponse:
    with work(request) as w:
        require(w.user, FOLLOWUP_READ)
        the_day = parse_date("day", day, followups.local_today())
        unit_id = optional_id("unit_id", unit)
        listing = followups.day_list(w.session, w.user, the_day, unit_id, mine or w.user.role == Role.COMMUNITY,
                                     page=page, page_size=request.app.state.settings.page_size)
        can_record = can(w.user, FOLLOWUP_RECORD)
        units = [] if w.user.role == Role.COMMUNITY else [
            (u.id, "　" * u.depth + u.name) for u in unit_tree(w.session, w.user) if u.kind != UnitKind.AGENCY]
    query = urlencode({k: v for k, v in (("day", the_day.isoformat()), ("unit_id", unit_id or ""),
                                         ("mine", "1" if mine else "")) if v})
    return render(request, "observation/followups.html", {
        **labels(), "listing": listing, "mine": mine, "unit_id": unit_id, "can_record": can_record, "query": query,
        "units": units if len(units) > 1 else [],
        "prev": the_day - timedelta(days=1), "next": the_day + timedelta(days=1),
        "back": f"/followups?{query}"})


@router.get("/followups/missed", response_class=HTMLResponse)
def missed_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        rows = followups.missed_list(w.session, w.user)
    return render(request, "observation/followups_missed.html", {**labels(), "rows": rows})


@router.get("/followups/sheet.xlsx")
def sheet_download(request: Request, day: str = "", unit_id: OptionalId = None,
                   observation_id: OptionalId = None, mine: bool = False) -> Response:
    with work(request) as w:
        require(w.user, FOLLOWUP_READ)
        the_day = parse_date("day", day, followups.local_today())
        data, _rows = followup_sheets.export_sheet(w.session, w.user, the_day, unit_id, observation_id, mine)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="followups-{the_day.isoformat()}.xlsx"'})


@router.get("/followups/import", response_class=HTMLResponse)
def import_form(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, FOLLOWUP_RECORD)
    return render(request, "observation/followups_import.html", {"errors": [], "preview": None})


@router.post("/followups/import", response_class=HTMLResponse)
async def import_preview(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
    return await run_in_threadpool(_import_preview, request, name, data)


def _import_preview(request: Request, name: str, data: bytes) -> Response:
    try:
        moved = upload_in_background(request, "observation.followups", {}, name, data)  # a big sheet: a job
        if moved is not None:
            return moved
        with work(request) as w:
            preview = followup_sheets.preview_sheet(w.session, w.user, request.app.state.settings.var_dir, name, data)
    except ValidationFailed as exc:
        return render(request, "observation/followups_import.html", {"errors": exc.errors, "preview": None}, 422)
    return render(request, "observation/followups_import.html", {"errors": [], "preview": preview},
                  422 if preview.errors else 200)


def import_job_page(request: Request, view: ImportView, errors: list[Any]) -> Response:
    """The preview of a follow-up sheet read in the background: confirmed at /imports/<id>/confirm."""
    preview = followup_sheets.Summary.of(view.summary, f"/imports/{view.id}/confirm")
    return render(request, "observation/followups_import.html", {"errors": errors, "preview": preview},
                  422 if errors or preview.errors else 200)


@router.post("/followups/import/confirm", response_class=HTMLResponse)
def import_confirm(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    try:
        with work(request) as w:
            followup_sheets.import_sheet(w.session, w.user, request.app.state.settings.var_dir,
                                         str(form.get("sha256", "")), str(form.get("file_name", "")))
    except ValidationFailed as exc:
        return render(request, "observation/followups_import.html", {"errors": exc.errors, "preview": None}, 422)
    return RedirectResponse("/followups", status_code=303)


@router.get("/followups/{follow_up_id}", response_class=HTMLResponse)
def one_page(request: Request, follow_up_id: Id) -> HTMLResponse:
    with work(request) as w:
        row = followups.open_follow_up(w.session, w.user, follow_up_id)
        can_record = can(w.user, FOLLOWUP_RECORD)
    return render(request, "observation/followup.html", {**labels(), "r": row, "errors": [], "can_record": can_record,
                                                    "back": "/followups"})


@router.post("/followups/{follow_up_id}", response_class=HTMLResponse)
def record_page(request: Request, follow_up_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    back = str(form.get("back", ""))
    back = back if back.startswith("/followups") or back.startswith("/care") else "/followups"

    def record(w: Work) -> Response:
        followups.record_follow_up(w.session, w.user, follow_up_id, form_input(form),
                                   str(form.get("client_id", "")).strip()[:80] or None)
        to = back.split("#")[0]
        # Back to the list where the card was, so the round goes on down the list.
        return RedirectResponse(to + ("" if to.startswith("/care") else f"#fu-{follow_up_id}"), status_code=303)

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        row = followups.get_follow_up(w.session, w.user, follow_up_id)
        return render(request, "observation/followup.html", {**labels(), "r": row, "errors": errors,
                                                        "data": form_input(form), "can_record": True,
                                                        "back": back}, 422)

    return submit_form(request, record, refuse)


# --- care teams ------------------------------------------------------------------------------------

@router.get("/care", response_class=HTMLResponse)
def care_page(request: Request, mine: bool = False) -> HTMLResponse:
    roles = team_roles(request)
    with work(request) as w:
        teams = care.team_list(w.session, w.user, roles, mine)
        today = followups.status_of_follow_ups(w.session, [t.observation_id for t in teams.rows],
                                               followups.local_today())
        can_manage = can(w.user, CARE_MANAGE)
    return render(request, "observation/care.html", {**labels(), "teams": teams, "roles": list(roles), "today": today,
                                                "mine": mine or request.state.user.role == Role.COMMUNITY,
                                                "can_manage": can_manage})


def _team_context(request: Request, w: Work, observation_id: int, errors: list[object]) -> dict[str, object]:
    roles = team_roles(request)
    team = care.team_of(w.session, w.user, observation_id, roles)
    options = care.candidates(w.session, w.user, observation_id, roles) if can(w.user, CARE_MANAGE) else {}
    listing = followups.day_list(w.session, w.user, followups.local_today(), observation_id=observation_id)
    return {**labels(), "team": team, "self_link": selfreport.live_link(w.session, observation_id),
            "self_reports": selfreport.reports_of(w.session, w.user, observation_id, 14), "options": options,
            "errors": errors, "listing": listing,
            "can_record": can(w.user, FOLLOWUP_RECORD), "back": f"/care/{observation_id}"}


@router.get("/care/{observation_id}", response_class=HTMLResponse)
def team_page(request: Request, observation_id: Id) -> HTMLResponse:
    with work(request) as w:
        ctx = _team_context(request, w, observation_id, [])
    return render(request, "observation/care_team.html", ctx)


@router.post("/care/{observation_id}/members", response_class=HTMLResponse)
def assign_page(request: Request, observation_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    def assign(w: Work) -> Response:
        care.assign_member(w.session, w.user, observation_id, str(form.get("team_role", "")),
                           form_id(form.get("user_id")), team_roles(request))
        return RedirectResponse(f"/care/{observation_id}", status_code=303)

    return submit_form(request, assign, lambda w, errors: render(
        request, "observation/care_team.html", _team_context(request, w, observation_id, list(errors)), 422))


# --- command: counts and the filtered list ------------------------------------------------------------

@router.get("/observations", response_class=HTMLResponse)
def observations_page(request: Request, status: str = "",
                      district: Annotated[str, Query(alias="district_id", max_length=12)] = "", kind: str = "",
                      ends: str = "") -> HTMLResponse:
    with work(request) as w:
        require(w.user, FOLLOWUP_READ)
        flt = observations.ObservationFilter(status=status[:32], district_id=optional_id("district_id", district),
                                             kind=kind[:32], ends=ends[:16])
        followups.generate_follow_ups(w.session, followups.local_today(), _visible(w))
        counts = observations.district_counts(w.session, w.user)
        found = observations.observation_list(w.session, w.user, flt)
        districts = [(d.id, " · ".join(filter(None, (observations.district_area(d), d.name))))
                     for d in observations.districts(w.session, w.user)]
    return render(request, "observation/observations.html", {
        **labels(), "counts": counts, "found": found, "flt": flt, "districts": districts,
        "kind_filters": observations.KIND_FILTERS, "ends_labels": observations.ENDS})


def _visible(w: Work) -> object:
    from fangkong.core.access import visible_unit_ids

    return visible_unit_ids(w.user)
