"""The trace report's page (printable on A4), its Word and Excel files, and the marks of its submission."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.core import audit
from fangkong.core.clock import local_time
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.web.params import Id
from fangkong.core.web.templating import render
from fangkong.core.web.work import checked_form, work
from fangkong.tracing import report, report_files
from fangkong.tracing.cases import Presence
from fangkong.tracing.contacts import KIND_LABELS

router = APIRouter(include_in_schema=False)
FORMATS = ("html", "docx", "xlsx")


def _presence(request: Request) -> Presence:
    return request.app.state.presence


def _answer(request: Request, person_id: int, fmt: str, purpose: str = "", errors: list[object] | None = None,
            status: int = 200) -> Response:
    with work(request) as w:
        built = report.build_report(w.session, w.user, person_id, _presence(request), fmt, purpose)
    if fmt == "html":
        return render(request, "tracing/report.html", {
            "r": built, "person_id": person_id, "stages": report.STAGES, "states": report.STATES,
            "kind_labels": KIND_LABELS, "errors": errors or [], "purpose": purpose}, status)
    data, media = (report_files.report_docx(built), report_files.DOCX) if fmt == "docx" else \
        (report_files.report_xlsx(built), report_files.XLSX)
    name = f"trace-report-{person_id}-{local_time(built.generated_at, '%Y%m%d-%H%M')}.{fmt}"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/tracing/cases/{person_id}/report", response_class=HTMLResponse)
def report_page(request: Request, person_id: Id) -> Response:
    """The report, identifiers masked; print it from the browser (A4)."""
    return _answer(request, person_id, "html")


@router.get("/tracing/cases/{person_id}/report.docx")
def report_docx(request: Request, person_id: Id) -> Response:
    return _answer(request, person_id, "docx")


@router.get("/tracing/cases/{person_id}/report.xlsx")
def report_xlsx(request: Request, person_id: Id) -> Response:
    return _answer(request, person_id, "xlsx")


@router.post("/tracing/cases/{person_id}/report", response_class=HTMLResponse)
def reveal_report(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """The report with ID numbers and phones in full, for a stated purpose (audited as a reveal)."""
    fmt = str(form.get("format", "html"))
    purpose = str(form.get("purpose", ""))[:255]
    try:
        if fmt not in FORMATS:
            raise ValidationFailed.one("format", N_("Choose one of the options."))
        if not purpose.strip():
            raise ValidationFailed.one("purpose", audit.PURPOSE_REQUIRED, n=audit.MIN_PURPOSE)
        return _answer(request, person_id, fmt, purpose)
    except ValidationFailed as exc:
        return _answer(request, person_id, "html", errors=list(exc.errors), status=422)


@router.post("/tracing/cases/{person_id}/report/submit")
def submit_page(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """Mark the core facts or the full report as submitted."""
    with work(request) as w:
        report.submit_stage(w.session, w.user, person_id, str(form.get("stage", ""))[:8])
    return RedirectResponse(f"/tracing/cases/{person_id}/report", status_code=303)
