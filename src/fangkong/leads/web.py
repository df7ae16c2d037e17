"""Lead pages: queue with countdowns, lead detail with verification, sheet import with preview,
batches with feedback download, the manual queue, manual entry, on-time rates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from fangkong.core.access import (
    LEAD_DISPATCH,
    LEAD_FEEDBACK,
    LEAD_INTAKE,
    LEAD_VERIFY,
    can,
    require,
    restrict,
)
from fangkong.core.db import utcnow
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_, gettext
from fangkong.core.imports import ImportView
from fangkong.core.models import Role, Unit, UnitKind
from fangkong.core.sheets import SheetError, kept_upload
from fangkong.core.units import unit_tree
from fangkong.core.web.imports import upload_in_background
from fangkong.core.web.params import Id, form_id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, submit_form, work
from fangkong.leads import feedback, workflow
from fangkong.leads.deadlines import PRIORITIES, PRIORITY_LABELS, rules_for
from fangkong.leads.intake import RawLead, submit_leads
from fangkong.leads.loops import effects_of, forward_leg
from fangkong.leads.models import LeadBatch
from fangkong.leads.sheet_import import PreviewPage, import_sheet, preview_sheet, uploads_dir
from fangkong.leads.sheets import FIELDS

router = APIRouter(prefix="/leads", include_in_schema=False)
NAV = [NavItem(N_("Leads"), "/leads", frozenset({"command", "district", "station", "community"}))]
FIELD_LABELS = {"name": N_("Name"), "id_number": N_("ID number"), "phone": N_("Phone"),
                "current_address": N_("Current address"), "origin": N_("Coming from"), "pushed_at": N_("Pushed at"),
                "kind": N_("Lead type"), "priority": N_("Priority"), "note": N_("Note")}


def labels() -> dict[str, Any]:
    """Label tables every lead page uses (msgids; templates translate them)."""
    return {"priority_labels": PRIORITY_LABELS, "status_labels": workflow.STATUS_LABELS,
            "event_labels": workflow.EVENT_LABELS, "match_labels": workflow.MATCH_LABELS,
            "flag_fields": {"id_number": N_("ID number"), "phone": N_("Phone"), "pushed_at": N_("Pushed at")}}


def _units_for_dispatch(w: Work) -> list[tuple[int, str]]:
    return [(u.id, "　" * u.depth + u.name) for u in unit_tree(w.session, w.user)
            if u.kind in (UnitKind.STATION, UnitKind.DISTRICT)]


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, state: str = "open") -> HTMLResponse:
    with work(request) as w:
        rows = workflow.queue(w.session, w.user, state if state in ("open", "overdue", "verified") else "open")
        counts = workflow.lead_counts(w.session, w.user)
        ctx = {**labels(), "rows": rows, "state": state, "counts": counts, "now": utcnow(),
               "can_intake": can(w.user, LEAD_INTAKE), "can_dispatch": can(w.user, LEAD_DISPATCH)}
    return render(request, "leads/queue.html", ctx)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, LEAD_INTAKE)
    return render(request, "leads/import.html", {"errors": [], "source": ""})


@router.post("/import", response_class=HTMLResponse)
async def import_preview(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    name = upload.filename or "" if isinstance(upload, UploadFile) else ""
    # off the event loop: reading a big sheet takes seconds, and every other request would wait
    return await run_in_threadpool(_preview_or_job, request, str(form.get("source", "")), name, data)


def _preview_or_job(request: Request, source: str, file_name: str, data: bytes) -> Response:
    """A big sheet becomes a background job (its progress page); a small one is previewed at once."""
    try:
        moved = upload_in_background(request, "leads.sheet", {"source": source}, file_name, data)
    except ValidationFailed as exc:
        return render(request, "leads/import.html", {"errors": exc.errors, "source": source}, 422)
    return moved or _preview(request, source, file_name, data, None)


def _preview(request: Request, source: str, file_name: str, data: bytes, mapping: dict[str, str] | None) -> Response:
    try:
        with work(request) as w:
            preview = preview_sheet(w.session, w.user, request.app.state.settings, source, file_name, data, mapping)
    except ValidationFailed as exc:
        return render(request, "leads/import.html", {"errors": exc.errors, "source": source}, 422)
    return _preview_page(request, PreviewPage.of(preview.summary()))


def _preview_page(request: Request, page: PreviewPage, job: ImportView | None = None,
                  errors: list[Any] | None = None) -> Response:
    """The preview: counts, the column mapping to correct, rows with problems, the first rows, and the
    confirmation (of a background job's preview: at /imports/<id>)."""
    ctx = {**labels(), "p": page, "columns": [(i, h, page.mapping.get(i, "")) for i, h in enumerate(page.headers)],
           "fields": [(f, FIELD_LABELS[f]) for f in FIELDS], "mapping_json": page.mapping_json(),
           "errors": errors or [],
           "remap_action": f"/imports/{job.id}/preview" if job else "/leads/import/remap",
           "confirm_action": f"/imports/{job.id}/confirm" if job else "/leads/import/confirm"}
    return render(request, "leads/preview.html", ctx, 422 if errors else 200)


def job_page(request: Request, view: ImportView, errors: list[Any]) -> Response:
    """The preview of a sheet read in the background."""
    return _preview_page(request, PreviewPage.of(view.summary), view, errors)


def mapping_from(form: Mapping[str, Any] | FormData) -> dict[str, str]:
    """Return the column mapping the user chose on the preview (`col:<header>` → field)."""
    items = form.multi_items() if isinstance(form, FormData) else form.items()
    mapping = {}
    for key, value in items:
        if key.startswith("col:") and str(value) in FIELDS:
            mapping[key[4:]] = str(value)
    return mapping


@router.post("/import/remap", response_class=HTMLResponse)
def import_remap(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """Preview again with the columns mapped as the user chose."""
    with work(request) as w:
        require(w.user, LEAD_INTAKE)
    sha, file_name = str(form.get("sha256", "")), str(form.get("file_name", ""))
    try:
        data = kept_upload(request.app.state.settings.var_dir, sha, file_name)
    except SheetError as exc:
        errors = [FieldError("file", exc.message, exc.params)]
        return render(request, "leads/import.html", {"errors": errors, "source": ""}, 422)
    return _preview(request, str(form.get("source", "")), file_name, data, mapping_from(form))


@router.post("/import/confirm")
def import_confirm(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    mapping = json.loads(str(form.get("mapping", "{}")) or "{}")
    with work(request) as w:
        batch, _result = import_sheet(w.session, w.user, request.app.state.settings, str(form.get("source", "")),
                                      str(form.get("sha256", "")), str(form.get("file_name", "")), mapping,
                                      two_legs=form.get("two_legs") == "on",
                                      priority=str(form.get("priority", "")))
        batch_id = batch.id
    return RedirectResponse(f"/leads/batches/{batch_id}", status_code=303)


@router.get("/batches", response_class=HTMLResponse)
def batches_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, LEAD_FEEDBACK)
        batches = list(w.session.execute(restrict(select(LeadBatch), w.user, LeadBatch.unit_id)
                                         .order_by(LeadBatch.received_at.desc()).limit(200)).unique().scalars())
        counts = {b.id: workflow.lead_counts(w.session, w.user, b.id) for b in batches}
    return render(request, "leads/batches.html", {**labels(), "batches": batches, "counts": counts})


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: Id) -> HTMLResponse:
    with work(request) as w:
        rows = feedback.current_results(w.session, w.user, batch_id)
        batch = w.session.get(LeadBatch, batch_id)
        counts = workflow.lead_counts(w.session, w.user, batch_id)
    return render(request, "leads/batch.html", {**labels(), "batch": batch, "rows": rows, "counts": counts})


@router.get("/batches/{batch_id}/feedback")
def batch_feedback(request: Request, batch_id: Id, purpose: str = "") -> Response:
    """Download the feedback sheet (full ID numbers: a stated purpose, audited as a reveal)."""
    with work(request) as w:
        name, data = feedback.export_sheet(w.session, w.user, batch_id, uploads_dir(request.app.state.settings),
                                           purpose[:255])
    media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if name.endswith(".xlsx")
             else "text/csv; charset=utf-8")
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/manual", response_class=HTMLResponse)
def manual_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        leads = workflow.manual_queue(w.session, w.user)
        units = _units_for_dispatch(w)
    return render(request, "leads/manual.html", {**labels(), "leads": leads, "units": units, "now": utcnow()})


@router.get("/rates", response_class=HTMLResponse)
def rates_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        rates = workflow.on_time_rates(w.session, w.user)
    return render(request, "leads/rates.html", {"rates": rates})


@router.get("/new", response_class=HTMLResponse)
def new_lead_form(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, LEAD_INTAKE)
    return render(request, "leads/new.html", {"data": RawLead(priority="urgent"), "errors": [],
                                              "priorities": _priorities()})


def _priorities() -> list[tuple[str, str]]:
    return [(p, gettext(PRIORITY_LABELS[p])) for p in PRIORITIES]


@router.post("/new", response_class=HTMLResponse)
def create_lead_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    raw = RawLead(pushed_at=None,  # typed by hand: no push time; every other field is text
                  **{k: str(form.get(k, "")) for k in ("name", "id_number", "phone", "current_address", "origin",
                                                       "kind", "priority", "note")})
    try:
        with work(request) as w:
            rules = rules_for(request.app.state.settings)
            _batch, result = submit_leads(w.session, w.user, "本地录入", "manual", [raw], rules=rules)
            lead_id = result.lead_ids[0]
    except ValidationFailed as exc:
        return render(request, "leads/new.html", {"data": raw, "errors": exc.errors, "priorities": _priorities()},
                      422)
    return RedirectResponse(f"/leads/{lead_id}", status_code=303)


@router.get("/{lead_id}", response_class=HTMLResponse)
def lead_page(request: Request, lead_id: Id) -> HTMLResponse:
    with work(request) as w:
        return render(request, "leads/lead.html", _lead_context(w, lead_id, []))


def _lead_context(w: Work, lead_id: Id, errors: list[Any], form: dict[str, str] | None = None) -> dict[str, Any]:
    lead = workflow.open_lead(w.session, w.user, lead_id)
    scope = {u.id for u in unit_tree(w.session, w.user)}
    verifiable = {leg.id for leg in lead.legs if leg.status == "open" and leg.unit_id in scope
                  and can(w.user, LEAD_VERIFY) and (w.user.role != Role.COMMUNITY or leg.kind == "community")}
    units = dict(w.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(
        {leg.unit_id for leg in lead.legs} | {lead.unit_id}))).all())
    measure_options = [(k, gettext(v)) for k, v in workflow.MEASURES.items()]
    return {**labels(), "measure_options": measure_options,
            "lead": lead, "events": workflow.lead_events(w.session, lead.id), "verifiable": verifiable,
            "units": units, "errors": errors, "form": form or {}, "now": utcnow(),
            "outcomes": workflow.OUTCOMES, "measures": workflow.MEASURES,
            "can_assign": lead.status == "manual" and can(w.user, LEAD_DISPATCH),
            "forward_units": _forward_units(w) if verifiable and w.user.role != Role.COMMUNITY else [],
            "dispatch_units": _units_for_dispatch(w) if can(w.user, LEAD_DISPATCH) else []}


def _forward_units(w: Work) -> list[tuple[int | str, str]]:
    """Units a leg may be handed on to: a district's stations, a station's neighbours."""
    from fangkong.leads.loops import _reach

    reach = _reach(w.user)
    units = w.session.execute(select(Unit).where(Unit.path.startswith(reach, autoescape=True),
                                                 Unit.kind.in_([UnitKind.STATION, UnitKind.DISTRICT]),
                                                 Unit.id != w.user.unit_id).order_by(Unit.path)).unique().scalars()
    return [("", "—"), *((u.id, u.name) for u in units)]


@router.post("/{lead_id}/legs/{leg_id}/forward", response_class=HTMLResponse)
def forward_page(request: Request, lead_id: Id, leg_id: Id,
                 form: Annotated[FormData, Depends(checked_form)]) -> Response:
    values = {k: str(form.get(k, "")).strip() for k in ("unit_id", "forward_note")}

    def forward(w: Work) -> Response:
        forward_leg(w.session, w.user, lead_id, leg_id, form_id(values["unit_id"]) or 0, values["forward_note"])
        return RedirectResponse("/leads", status_code=303)

    return submit_form(request, forward, lambda w, errors: render(
        request, "leads/lead.html", _lead_context(w, lead_id, errors, values), 422))


@router.post("/{lead_id}/legs/{leg_id}/verify", response_class=HTMLResponse)
def verify_page(request: Request, lead_id: Id, leg_id: Id,
                form: Annotated[FormData, Depends(checked_form)]) -> Response:
    values = {k: str(form.get(k, "")).strip() for k in ("outcome", "temperature_c", "symptoms", "measure", "note",
                                                         "new_address", "new_unit_id")}
    try:
        temperature = float(values["temperature_c"]) if values["temperature_c"] else None
    except ValueError:
        temperature = -1.0  # reported as out of range
    v = workflow.Verification(outcome=values["outcome"], temperature_c=temperature, symptoms=values["symptoms"],
                              measure=values["measure"] or "none", note=values["note"],
                              new_address=values["new_address"],
                              new_unit_id=form_id(values["new_unit_id"]),
                              client_id=str(form.get("client_id", "")).strip()[:80] or None)

    def verify(w: Work) -> Response:
        lead = workflow.verify_leg(w.session, w.user, lead_id, leg_id, v, effects_of(request))
        still_ours = lead.unit_id in {u.id for u in unit_tree(w.session, w.user)}
        return RedirectResponse(f"/leads/{lead_id}" if still_ours else "/leads", status_code=303)

    return submit_form(request, verify, lambda w, errors: render(
        request, "leads/lead.html", _lead_context(w, lead_id, errors, values), 422))


@router.post("/{lead_id}/assign", response_class=HTMLResponse)
def assign_page(request: Request, lead_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    unit = str(form.get("unit_id", ""))
    with work(request) as w:
        workflow.assign(w.session, w.user, lead_id, form_id(unit), str(form.get("note", "")),
                        rules=rules_for(request.app.state.settings))
    back = "/leads/manual" if form.get("back") == "/leads/manual" else f"/leads/{lead_id}"
    return RedirectResponse(back, status_code=303)
