"""Checkpoint pages: the officer's registration form (tablet/phone, keyboard-only), flags before
saving, recent passages with correction, live counters and the hourly chart, lane planning; the
registry and risk areas for command/admin; referrals for health."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from fangkong.checkpoints import pass_checks, passages, service, sheet_import, vehicle_leads
from fangkong.checkpoints.flags import FLAG_LABELS
from fangkong.checkpoints.models import Passage
from fangkong.core import audit
from fangkong.core.access import (
    CHECKPOINT_MANAGE,
    CHECKPOINT_READ,
    LEAD_INTAKE,
    PASSAGE_WRITE,
    REFERRAL_ACK,
    can,
    require,
)
from fangkong.core.clock import local_time, local_today
from fangkong.core.codes import DOCUMENT_LABELS
from fangkong.core.errors import FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_, gettext
from fangkong.core.imports import ImportView
from fangkong.core.models import Role, UnitKind, User
from fangkong.core.protocol import FEVER_C
from fangkong.core.units import unit_tree
from fangkong.core.web.imports import upload_in_background
from fangkong.core.web.params import MAX_ID, Id, form_id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, submit_form, work
from fangkong.leads.deadlines import rules_for
from fangkong.observation.models import HANDLINGS

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Checkpoints"), "/checkpoints", frozenset({"checkpoint", "command", "district", "admin"})),
       NavItem(N_("Vehicle leads"), "/vehicle-leads", frozenset({"command", "district"})),
       NavItem(N_("Referrals"), "/referrals", frozenset({"health", "checkpoint"}))]
ROWS = 4  # person rows on the form: driver and three passengers (more through the API)


def labels() -> dict[str, Any]:
    return {"flag_labels": FLAG_LABELS, "dispositions": service.DISPOSITIONS, "roles": service.ROLES,
            "refer_flags": service.REFER_FLAGS, "fever_c": FEVER_C,
            "kinds": service.KINDS, "levels": service.LEVELS}


def _float(text: str) -> float | None:
    try:
        return float(text.strip().replace("，", ".").replace(",", ".")) if text.strip() else None
    except ValueError:
        return -1.0  # reported as out of range


def passage_input(form: FormData) -> service.PassageInput:
    """Read the form: person rows that are entirely empty are ignored."""
    people = []
    for i in range(ROWS):
        get = lambda k, i=i: str(form.get(f"people.{i}.{k}", "")).strip()  # noqa: E731
        if not any(get(k) for k in ("name", "id_number", "doc_number", "temperature_c")):
            continue
        people.append(service.PersonInput(name=get("name"), id_number=get("id_number"),
                                          doc_type=get("doc_type") or "resident_id", doc_number=get("doc_number"),
                                          temperature_c=_float(get("temperature_c")),
                                          disposition=get("disposition") or "passed",
                                          role=get("role") or ("driver" if i == 0 else "passenger"),
                                          override_reason=str(form.get("override_reason", ""))))
    lane = str(form.get("lane", "")).strip()
    return service.PassageInput(client_id=str(form.get("client_id", "")), plate=str(form.get("plate", "")),
                                origin=str(form.get("origin", "")), destination=str(form.get("destination", "")),
                                reason=str(form.get("reason", "")), lane=form_id(lane),
                                people=people)


def _form_values(data: service.PassageInput | None) -> dict[str, str]:
    if data is None:
        return {}
    values = {k: str(getattr(data, k) or "") for k in ("plate", "origin", "destination", "reason", "lane")}
    for i, p in enumerate(data.people):
        for k in ("name", "id_number", "doc_type", "doc_number", "disposition", "role"):
            values[f"people.{i}.{k}"] = str(getattr(p, k) or "")
        values[f"people.{i}.temperature_c"] = "" if p.temperature_c is None else str(p.temperature_c)
    values["override_reason"] = next((p.override_reason for p in data.people if p.override_reason), "")
    return values


@router.get("/checkpoints", response_class=HTMLResponse)
def checkpoints_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        checkpoints = service.list_checkpoints(w.session, w.user)
        ids = [c.id for c in checkpoints]
        flows = service.hourly_flows(w.session, w.user, ids, 24) if ids and can(w.user, CHECKPOINT_READ) else []
        today = {k: sum(getattr(f, k) for f in flows) for k in ("vehicles", "persons", "flagged", "referred",
                                                                 "turned_back")}
        ctx = {**labels(), "checkpoints": checkpoints, "today": today, "chart": _chart(flows),
               "can_manage": can(w.user, CHECKPOINT_MANAGE)}
    return render(request, "checkpoints/list.html", ctx)


def _chart(flows: list[service.HourFlow]) -> str:
    """Return the hourly series as JSON for the ECharts chart (read by /static/charts.js)."""
    return json.dumps({
        "hours": [local_time(f.hour, "%H:00") for f in flows],
        "series": {gettext("Vehicles"): [f.vehicles for f in flows], gettext("Persons"): [f.persons for f in flows],
                   gettext("Flagged"): [f.flagged for f in flows], gettext("Referred"): [f.referred for f in flows],
                   gettext("Turned back"): [f.turned_back for f in flows]},
    }, ensure_ascii=False)


def _station_context(w: Work, checkpoint_id: Id, data: service.PassageInput | None, errors: list[Any],
                     saved: Passage | None = None, editing: Passage | None = None) -> dict[str, Any]:
    checkpoint = service.get_checkpoint(w.session, w.user, checkpoint_id, CHECKPOINT_READ)
    flows = service.hourly_flows(w.session, w.user, [checkpoint.id], 24)
    return {**labels(), "cp": checkpoint, "recent": service.recent_passages(w.session, w.user, checkpoint.id),
            "plan": service.lane_plan(w.session, w.user, checkpoint.id), "chart": _chart(flows),
            "today": {k: sum(getattr(f, k) for f in flows) for k in ("vehicles", "persons", "flagged", "referred",
                                                                      "turned_back")},
            "values": _form_values(data), "errors": errors, "rows": range(ROWS), "saved": saved, "editing": editing,
            "client_id": uuid.uuid4().hex, "can_write": can(w.user, PASSAGE_WRITE),
            "documents": [(k, v[0]) for k, v in DOCUMENT_LABELS.items()], "check": None,
            "pass_counts": pass_checks.day_counts(w.session, w.user, checkpoint.id),
            "export_day": local_today().isoformat()}


@router.get("/checkpoints/{checkpoint_id}", response_class=HTMLResponse)
def station_page(request: Request, checkpoint_id: Id,
                 saved: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> HTMLResponse:
    with work(request) as w:
        last = w.session.get(Passage, saved) if saved else None
        ctx = _station_context(w, checkpoint_id, None, [],
                               saved=last if last and last.checkpoint_id == checkpoint_id else None)
    return render(request, "checkpoints/station.html", ctx)


@router.post("/checkpoints/{checkpoint_id}/check", response_class=HTMLResponse)
def check_fragment(request: Request, checkpoint_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """HTMX: what the plate and the ID numbers say, and the flags, before saving."""
    with work(request) as w:
        service.get_checkpoint(w.session, w.user, checkpoint_id, PASSAGE_WRITE)
        result = service.check_passage(w.session, passage_input(form))
    return render(request, "checkpoints/flags.html", {**labels(), "check": result})


@router.post("/checkpoints/{checkpoint_id}/passages", response_class=HTMLResponse)
def register_page(request: Request, checkpoint_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = passage_input(form)
    token = str(form.get("pass_token", "")).strip()[:600]
    refused = _green_lane(request, checkpoint_id, data, token) if token else []

    def register(w: Work) -> Response:
        if refused:  # a pass that does not open the green lane: the form comes back like any refused one
            raise ValidationFailed(refused)
        passage, _created = passages.register_passage(w.session, w.user, checkpoint_id, data)
        return RedirectResponse(f"/checkpoints/{checkpoint_id}?saved={passage.id}", status_code=303)

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        ctx = _station_context(w, checkpoint_id, data, errors)
        ctx["check"] = service.check_passage(w.session, data)
        ctx["values"]["pass_token"] = token
        return render(request, "checkpoints/station.html", ctx, 422)

    return submit_form(request, register, refuse)


def _green_lane(request: Request, checkpoint_id: int, data: service.PassageInput, token: str) -> list[Any]:
    """Verify the scanned pass (recorded in its own transaction, whatever the passage's fate); a valid one
    sends the people let through to the green lane, each still registered."""
    with work(request) as w:
        found = pass_checks.verify_at(w.session, w.user, request.app.state.settings, checkpoint_id, token, data.plate)
    problem = pass_checks.refusal(found)
    if problem is not None:
        return [problem]
    data.pass_verification_id = found.id
    for person in data.people:
        if person.disposition == "passed":
            person.disposition = service.GREEN_LANE
    return []


@router.get("/passages/{passage_id}", response_class=HTMLResponse)
def edit_passage_page(request: Request, passage_id: Id) -> HTMLResponse:
    with work(request) as w:
        passage = w.session.get(Passage, passage_id)
        if passage is None:
            raise NotFound()
        service.get_checkpoint(w.session, w.user, passage.checkpoint_id, PASSAGE_WRITE)
        data = service.PassageInput(client_id=passage.client_id, plate=passage.plate or "", origin=passage.origin or "",
                                    destination=passage.destination or "", reason=passage.reason or "",
                                    lane=passage.lane, people=[service.PersonInput(
                                        name=p.name, id_number=p.id_number or "", doc_type=p.doc_type or "resident_id",
                                        doc_number=p.doc_number or "", temperature_c=p.temperature_c,
                                        disposition=p.disposition, role=p.role) for p in passage.people])
        ctx = _station_context(w, passage.checkpoint_id, data, [], editing=passage)
    return render(request, "checkpoints/station.html", ctx)


@router.post("/passages/{passage_id}", response_class=HTMLResponse)
def correct_page(request: Request, passage_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = passage_input(form)

    def correct(w: Work) -> Response:
        passage = service.correct_passage(w.session, w.user, passage_id, data)
        return RedirectResponse(f"/checkpoints/{passage.checkpoint_id}?saved={passage_id}", status_code=303)

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        passage = w.session.get_one(Passage, passage_id)  # correct_passage found it before it validated
        ctx = _station_context(w, passage.checkpoint_id, data, errors, editing=passage)
        return render(request, "checkpoints/station.html", ctx, 422)

    return submit_form(request, correct, refuse)


def _manage_context(w: Work, data: service.CheckpointInput, errors: list[Any], cp_id: int | None) -> dict[str, Any]:
    units = [(u.id, "　" * u.depth + u.name) for u in unit_tree(w.session, w.user) if u.kind != UnitKind.AGENCY]
    officers = list(w.session.execute(select(User).where(User.role == Role.CHECKPOINT).order_by(User.username))
                    .unique().scalars())
    return {**labels(), "data": data, "errors": errors, "cp_id": cp_id, "units": units, "officers": officers,
            "kind_options": [(k, gettext(v)) for k, v in service.KINDS.items()]}


def _checkpoint_input(form: FormData) -> service.CheckpointInput:
    def number(key: str, default: int) -> int:
        text = str(form.get(key, "")).strip()
        value = form_id(text)
        return value if value is not None else default

    return service.CheckpointInput(name=str(form.get("name", "")), kind=str(form.get("kind", "")),
                                   location=str(form.get("location", "")), unit_id=number("unit_id", 0) or None,
                                   lanes=number("lanes", 0), seconds_per_vehicle=number("seconds_per_vehicle", 0),
                                   officers=[i for i in map(form_id, form.getlist("officers")) if i is not None])


@router.get("/checkpoints-admin/new", response_class=HTMLResponse)
def new_checkpoint_form(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, CHECKPOINT_MANAGE)
        ctx = _manage_context(w, service.CheckpointInput(unit_id=w.user.unit_id), [], None)
    return render(request, "checkpoints/edit.html", ctx)


@router.get("/checkpoints-admin/{checkpoint_id}", response_class=HTMLResponse)
def edit_checkpoint_form(request: Request, checkpoint_id: Id) -> HTMLResponse:
    with work(request) as w:
        cp = service.get_checkpoint(w.session, w.user, checkpoint_id, CHECKPOINT_MANAGE)
        data = service.CheckpointInput(name=cp.name, kind=cp.kind, location=cp.location, unit_id=cp.unit_id,
                                       lanes=cp.lanes, seconds_per_vehicle=cp.seconds_per_vehicle,
                                       officers=service.posted_officers(w.session, cp.id))
        ctx = _manage_context(w, data, [], cp.id)
    return render(request, "checkpoints/edit.html", ctx)


@router.post("/checkpoints-admin/{checkpoint_id}", response_class=HTMLResponse)
@router.post("/checkpoints-admin/new", response_class=HTMLResponse)
def save_checkpoint_page(request: Request, form: Annotated[FormData, Depends(checked_form)],
                         checkpoint_id: int | None = None) -> Response:
    data = _checkpoint_input(form)

    def save(w: Work) -> Response:
        service.save_checkpoint(w.session, w.user, data, checkpoint_id)
        return RedirectResponse("/checkpoints", status_code=303)

    return submit_form(request, save, lambda w, errors: render(
        request, "checkpoints/edit.html", _manage_context(w, data, errors, checkpoint_id), 422))


@router.get("/risk-areas", response_class=HTMLResponse)
def risk_areas_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, CHECKPOINT_MANAGE)
        areas = service.current_risk_areas(w.session)
    return render(request, "checkpoints/risk_areas.html", {**labels(), "areas": areas, "errors": [], "data": {}})


@router.post("/risk-areas", response_class=HTMLResponse)
def add_risk_area_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = service.RiskAreaInput(area_code=str(form.get("area_code", "")), name=str(form.get("name", "")),
                                 level=str(form.get("level", "")))

    def add(w: Work) -> Response:
        service.add_risk_area(w.session, w.user, data)
        return RedirectResponse("/risk-areas", status_code=303)

    return submit_form(request, add, lambda w, errors: render(request, "checkpoints/risk_areas.html", {
        **labels(), "areas": service.current_risk_areas(w.session), "errors": errors, "data": data.__dict__}, 422))


@router.post("/risk-areas/{area_id}/end")
def end_risk_area_page(request: Request, area_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        service.end_risk_area(w.session, w.user, area_id)
    return RedirectResponse("/risk-areas", status_code=303)


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, state: str = "open") -> HTMLResponse:
    with work(request) as w:
        rows = service.referrals(w.session, w.user, state != "all", request.app.state.settings.referral_overdue_minutes)
        can_ack = can(w.user, REFERRAL_ACK)
    return render(request, "checkpoints/referrals.html", {"rows": rows, "state": state, "can_ack": can_ack,
                                                          "handlings": HANDLINGS})


@router.post("/referrals/{referral_id}/acknowledge")
def acknowledge_page(request: Request, referral_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        service.acknowledge_referral(w.session, w.user, referral_id, str(form.get("note", "")),
                                     str(form.get("handling", "")))
    return RedirectResponse("/referrals", status_code=303)


@router.post("/referrals/{referral_id}/call", response_class=HTMLResponse)
def call_page(request: Request, referral_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """Show the referred person's phone to call (tel: link); the reveal is audited with its purpose."""
    with work(request) as w:
        rows = service.referrals(w.session, w.user, False, request.app.state.settings.referral_overdue_minutes,
                                 referral_id)
        if not rows or not can(w.user, REFERRAL_ACK):
            raise NotFound()
        row = rows[0]
        audit.record(w.session, "reveal", "persons", row.referral.person_id, field="phone",
                     purpose="call a referred person", referral=referral_id)
    return render(request, "checkpoints/call.html", {"row": row})


@router.get("/checkpoints/{checkpoint_id}/import", response_class=HTMLResponse)
def import_form(request: Request, checkpoint_id: Id) -> HTMLResponse:
    with work(request) as w:
        cp = service.get_checkpoint(w.session, w.user, checkpoint_id, PASSAGE_WRITE)
    return render(request, "checkpoints/import.html", {"cp": cp, "errors": [], "preview": None})


@router.post("/checkpoints/{checkpoint_id}/import", response_class=HTMLResponse)
async def import_preview(request: Request, checkpoint_id: Id,
                         form: Annotated[FormData, Depends(checked_form)]) -> Response:
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
    return await run_in_threadpool(_import_preview, request, checkpoint_id, name, data)


def _import_preview(request: Request, checkpoint_id: Id, name: str, data: bytes) -> Response:
    var_dir = request.app.state.settings.var_dir

    def preview(w: Work) -> Response:
        cp = service.get_checkpoint(w.session, w.user, checkpoint_id, PASSAGE_WRITE)
        found = sheet_import.preview_passages(w.session, w.user, var_dir, checkpoint_id, name, data)
        return render(request, "checkpoints/import.html", {**labels(), "cp": cp, "errors": [], "preview": found},
                      422 if found.errors else 200)

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        cp = service.get_checkpoint(w.session, w.user, checkpoint_id, PASSAGE_WRITE)
        return render(request, "checkpoints/import.html", {"cp": cp, "errors": errors, "preview": None}, 422)

    try:
        moved = upload_in_background(request, "checkpoints.passages", {"checkpoint_id": str(checkpoint_id)}, name,
                                     data)  # a big sheet: a job with a progress page
    except ValidationFailed as exc:  # the job's own transaction (committed before it starts) is over
        with work(request) as w:
            return refuse(w, exc.errors)
    return moved or submit_form(request, preview, refuse)


def import_job_page(request: Request, view: ImportView, errors: list[Any]) -> Response:
    """The preview of a passage sheet read in the background: confirmed at /imports/<id>/confirm."""
    with work(request) as w:
        cp = service.get_checkpoint(w.session, w.user, int(view.params.get("checkpoint_id") or 0), PASSAGE_WRITE)
    preview = sheet_import.Summary.of(view.summary, f"/imports/{view.id}/confirm")
    return render(request, "checkpoints/import.html", {**labels(), "cp": cp, "errors": errors, "preview": preview},
                  422 if errors or preview.errors else 200)


@router.post("/checkpoints/{checkpoint_id}/import/confirm")
def import_confirm(request: Request, checkpoint_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        sheet_import.import_passages(w.session, w.user, request.app.state.settings.var_dir, checkpoint_id,
                                     str(form.get("sha256", "")), str(form.get("file_name", "")))
    return RedirectResponse(f"/checkpoints/{checkpoint_id}", status_code=303)


def _vehicle_context(values: dict[str, str], trace: Any, errors: list[Any]) -> dict[str, Any]:
    from fangkong.leads.deadlines import PRIORITIES, PRIORITY_LABELS

    return {"form": values, "trace": trace, "errors": errors, "roles": service.ROLES,
            "priorities": [(p, gettext(PRIORITY_LABELS[p])) for p in PRIORITIES]}


def _since(values: dict[str, str]) -> Any:
    from datetime import timedelta

    from fangkong.core.db import utcnow

    days = values.get("days", "14")
    if not days.isdigit() or not 1 <= int(days) <= 60:
        raise ValidationFailed.one("days", N_("Between {low} and {high}."), low=1, high=60)
    return utcnow() - timedelta(days=int(days))


@router.get("/vehicle-leads", response_class=HTMLResponse)
def vehicle_leads_page(request: Request, plate: str = "", days: str = "14") -> Response:
    values = {"plate": plate[:20], "days": days[:3]}
    with work(request) as w:
        require(w.user, LEAD_INTAKE)
        if not plate.strip():
            return render(request, "checkpoints/vehicle_leads.html", _vehicle_context(values, None, []))
        try:
            trace = vehicle_leads.trace_plate(w.session, w.user, plate, _since(values))
        except ValidationFailed as exc:
            return render(request, "checkpoints/vehicle_leads.html", _vehicle_context(values, None, exc.errors), 422)
    return render(request, "checkpoints/vehicle_leads.html", _vehicle_context(values, trace, []))


@router.post("/vehicle-leads", response_class=HTMLResponse)
def vehicle_leads_dispatch(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    values = {k: str(form.get(k, "")).strip()[:200] for k in ("plate", "days", "source", "priority", "note")}
    with work(request) as w:
        require(w.user, LEAD_INTAKE)
        try:
            with w.session.begin_nested():
                vehicle_leads.dispatch_vehicle_lead(w.session, w.user, values["source"], values["plate"],
                                                    values["priority"], values["note"],
                                                    rules_for(request.app.state.settings), _since(values))
        except ValidationFailed as exc:
            return render(request, "checkpoints/vehicle_leads.html", _vehicle_context(values, None, exc.errors), 422)
    return RedirectResponse("/leads", status_code=303)
