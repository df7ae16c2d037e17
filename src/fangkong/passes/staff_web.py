"""Staff pass pages: the applications waiting (decide one or many), one application with its supporting
document, the passes of the jurisdiction, one pass with its verifications, the printable A5 pass,
revocation, bulk issue from a sheet, and the export."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from fangkong.core.access import can, require
from fangkong.core.errors import NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.imports import ImportView
from fangkong.core.jobs import FAILED
from fangkong.core.sheets import SheetError, kept_upload
from fangkong.core.web.imports import upload_in_background
from fangkong.core.web.params import Id, PageNo, form_id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, submit_form, work
from fangkong.passes import applications, bulk, service, verification
from fangkong.passes.access import PASS_APPROVE, PASS_ISSUE, PASS_REVOKE
from fangkong.passes.applications import Decision, documents_dir
from fangkong.passes.public_web import labels, qr_svg
from fangkong.passes.rules import DOCUMENT_TYPES, OUTCOMES
from fangkong.passes.tokens import key_ring

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Passes"), "/passes", frozenset({"command", "district", "station"}))]
STATES = ("pending", "approved", "refused")


def _day(errors: list[Any], name: str, raw: object) -> date | None:
    text = str(raw or "").strip()
    return applications.parse_day(errors, name, text) if text else None


def _decision(form: FormData) -> Decision:
    errors: list[Any] = []
    start = _day(errors, "valid_from", form.get("valid_from"))
    end = _day(errors, "valid_until", form.get("valid_until"))
    if errors:
        raise ValidationFailed(errors)
    return Decision(approve=form.get("decision") == "approve", reason=str(form.get("reason", ""))[:500],
                    valid_from=start, valid_until=end, route=str(form.get("route", ""))[:200])


@router.get("/passes", response_class=HTMLResponse)
def passes_page(request: Request, state: Annotated[str, Query(max_length=10)] = "pending",
                plate: Annotated[str, Query(max_length=12)] = "", page: PageNo = 1) -> Response:
    state = state if state in (*STATES, "issued") else "pending"
    size = request.app.state.settings.page_size
    with work(request) as w:
        found = service.list_passes(w.session, w.user, plate, page, size) if state == "issued" else \
            service.list_applications(w.session, w.user, state, page, size)
        ctx = {**labels(), "state": state, "plate": plate, "found": found, "pass_state": service.pass_state,
               "pending": service.pending_count(w.session, w.user),
               "base": "/passes?" + urlencode({"state": state, "plate": plate})}
    return render(request, "passes/list.html", ctx)


@router.post("/passes/applications/decide", response_class=HTMLResponse)
def decide_many_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    ids = [i for i in map(form_id, form.getlist("ids")) if i is not None]
    ring = key_ring(request.app.state.settings.var_dir)
    with work(request) as w:
        outcome = service.decide_many(w.session, w.user, ring, ids, _decision(form))
    return RedirectResponse(f"/passes?state=pending&decided={len(outcome.decided)}&skipped={len(outcome.skipped)}",
                            status_code=303)


def _application_context(w: Any, application_id: int) -> dict[str, Any]:
    found = service.get_application(w.session, w.user, application_id)
    return {**labels(), "a": found, "pass_state": service.pass_state, "errors": [],
            "can_decide": found.status == "pending" and can(w.user, PASS_APPROVE)}


@router.get("/passes/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, application_id: Id) -> Response:
    with work(request) as w:
        ctx = _application_context(w, application_id)
    return render(request, "passes/application.html", ctx)


@router.post("/passes/applications/{application_id}/decide", response_class=HTMLResponse)
def decide_page(request: Request, application_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    ring = key_ring(request.app.state.settings.var_dir)

    def decide(w: Work) -> Response:
        service.decide_one(w.session, w.user, ring, application_id, _decision(form))
        return RedirectResponse(f"/passes/applications/{application_id}", status_code=303)

    return submit_form(request, decide, lambda w, errors: render(
        request, "passes/application.html", {**_application_context(w, application_id), "errors": errors}, 422))


@router.get("/passes/applications/{application_id}/document")
def document_page(request: Request, application_id: Id) -> Response:
    with work(request) as w:
        found = service.get_application(w.session, w.user, application_id)
        sha, kind = found.document_sha256, found.document_type
    if not sha or kind not in DOCUMENT_TYPES:
        raise NotFound()
    path = documents_dir(request.app.state.settings.var_dir) / f"{sha}{DOCUMENT_TYPES[kind]}"
    if not path.exists():
        raise NotFound()
    # attachment: a PDF opened inline would run in our origin
    return FileResponse(path, media_type=kind, filename=f"document-{application_id}{DOCUMENT_TYPES[kind]}")


@router.get("/passes/export.xlsx")
def export_page(request: Request) -> Response:
    with work(request) as w:
        data, _rows = service.export_sheet(w.session, w.user)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="passes.xlsx"'})


@router.get("/passes/{pass_id}", response_class=HTMLResponse)
def pass_page(request: Request, pass_id: Id) -> Response:
    with work(request) as w:
        found = service.get_pass(w.session, w.user, pass_id)
        ctx = {**labels(), "p": found, "a": found.application, "outcomes": OUTCOMES, "errors": [],
               "state": service.pass_state(found, found.application.status),
               "checks": verification.recent_for_pass(w.session, found.id),
               "can_revoke": can(w.user, PASS_REVOKE)}
    return render(request, "passes/pass.html", ctx)


@router.get("/passes/{pass_id}/print", response_class=HTMLResponse)
def print_page(request: Request, pass_id: Id) -> Response:
    """The A5 pass card (windscreen sheet), with its QR code."""
    with work(request) as w:
        found = service.get_pass(w.session, w.user, pass_id)
        if found.token is None:
            raise NotFound()
        ctx = {**labels(), "p": found, "a": found.application, "qr": qr_svg(request, found.token),
               "state": service.pass_state(found, found.application.status)}
    return render(request, "passes/print.html", ctx)


@router.post("/passes/{pass_id}/revoke", response_class=HTMLResponse)
def revoke_page(request: Request, pass_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        service.revoke(w.session, w.user, pass_id, str(form.get("reason", ""))[:500])
    return RedirectResponse(f"/passes/{pass_id}", status_code=303)


# --- bulk issue ------------------------------------------------------------------------------------

def _bulk_input(form: FormData) -> tuple[bulk.BulkInput, list[Any]]:
    header, errors = bulk.header_of(form)
    return header, list(errors)


def _bulk_page(request: Request, header: bulk.BulkInput, errors: list[Any], parsed: Any = None, sha: str = "",
               file_name: str = "", status: int = 200, confirm: str = "/passes/bulk/confirm") -> Response:
    return render(request, "passes/bulk.html", {**labels(), "h": header, "errors": errors, "parsed": parsed,
                                                "sha": sha, "file_name": file_name, "confirm": confirm}, status)


def job_page(request: Request, view: ImportView, errors: list[Any]) -> Response:
    """The preview of a sheet read in the background: ready to issue (confirmed at /imports/<id>/confirm), or
    its rows to correct."""
    header, _ = bulk.header_of(view.params)
    summary = bulk.Summary.of(view.summary)
    if view.status == FAILED and not summary.error_count:  # refused as a whole (no vehicles): say why
        return _bulk_page(request, header, errors or view.errors, status=422)
    return _bulk_page(request, header, errors, summary, file_name=view.file_name,
                      status=422 if errors or summary.error_count else 200, confirm=f"/imports/{view.id}/confirm")


@router.get("/passes/bulk/new", response_class=HTMLResponse)
def bulk_form(request: Request) -> Response:
    with work(request) as w:
        require(w.user, PASS_ISSUE)
    return _bulk_page(request, bulk.BulkInput(), [])


@router.post("/passes/bulk/new", response_class=HTMLResponse)
async def bulk_preview(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
    return await run_in_threadpool(_bulk_preview, request, form, name, data)


def _bulk_preview(request: Request, form: FormData, name: str, data: bytes) -> Response:
    header, errors = _bulk_input(form)
    try:
        fields = {k: str(form.get(k) or "") for k in bulk.HEADER_FIELDS}
        moved = upload_in_background(request, "passes.bulk", fields, name, data)  # a big sheet: a job
        if moved is not None:
            return moved
        with work(request) as w:
            require(w.user, PASS_ISSUE)  # before the fields: a role without it learns nothing from them
            if errors:
                raise ValidationFailed(errors)
            parsed, sha = bulk.preview(w.user, header, data, name, request.app.state.settings.var_dir)
    except ValidationFailed as exc:
        return _bulk_page(request, header, exc.errors, status=422)
    return _bulk_page(request, header, [], parsed, sha, name, 422 if parsed.error_count else 200)


@router.post("/passes/bulk/confirm", response_class=HTMLResponse)
def bulk_confirm(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    header, errors = _bulk_input(form)
    settings = request.app.state.settings
    try:
        with work(request) as w:
            require(w.user, PASS_ISSUE)
            if errors:
                raise ValidationFailed(errors)
            name = str(form.get("file_name", ""))
            try:
                data = kept_upload(settings.var_dir, str(form.get("sha256", "")), name)
            except SheetError as exc:
                raise ValidationFailed.one("file", exc.message, **exc.params) from None
            found = bulk.issue(w.session, w.user, key_ring(settings.var_dir), header, data, name,
                               settings.registration_retention_days)
            application_id = found.id
    except ValidationFailed as exc:
        return _bulk_page(request, header, exc.errors, status=422)
    return RedirectResponse(f"/passes/applications/{application_id}", status_code=303)
