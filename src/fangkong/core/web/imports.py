"""Sheet import jobs (issue 17): the progress page that polls, the confirmation, and the API (202 + polling).

A capability's upload handler calls `upload_in_background`: a sheet past the background thresholds becomes
a job and the browser goes to `/imports/<id>`, which shows the rows read, checked and imported with a bar
until the preview is ready (then the capability's own preview page, `ImportSpec.page`), and after the
confirmation until the import is done (then its result page). Only the job's owner sees it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from fangkong.core.access import require
from fangkong.core.context import current_locale
from fangkong.core.errors import Conflict, FieldError, ValidationFailed
from fangkong.core.i18n import N_, gettext
from fangkong.core.imports import (
    FAILED_HERE,
    PREVIEW,
    PREVIEWED,
    STATUS_LABELS,
    SUPERSEDED,
    Imports,
    ImportView,
    sheet_size,
)
from fangkong.core.jobs import DONE, FAILED
from fangkong.core.sheets import SheetSize
from fangkong.core.web.errors import PROBLEM_JSON
from fangkong.core.web.openapi import PROBLEM
from fangkong.core.web.params import Id
from fangkong.core.web.templating import render
from fangkong.core.web.work import checked_form, client_ip, guard, work

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["imports"], dependencies=[guard()])  # 401 before the body
STAGES = {"queued": N_("Waiting for its turn…"), "reading": N_("Reading the sheet…"),
          "checking": N_("Checking every row…"), "importing": N_("Importing: nothing is saved until every row is in…")}


def _imports(request: Request) -> Imports:
    return request.app.state.imports


def upload_in_background(request: Request, key: str, params: dict[str, str], file_name: str,
                         data: bytes) -> Response | None:
    """Queue a big upload as a job and answer with its progress page; None for a sheet small enough to read
    in the request (or one the request's own path refuses with its usual message). Call it off the event
    loop; it raises ValidationFailed for the upload form's fields."""
    try:
        size = sheet_size(data, file_name)
    except ValidationFailed:
        return None
    if not _imports(request).in_background(size):
        return None
    return RedirectResponse(f"/imports/{_submit(request, key, params, file_name, data, size)}", status_code=303)


def _submit(request: Request, key: str, params: dict[str, str], file_name: str, data: bytes,
            size: SheetSize | None = None) -> int:
    imports = _imports(request)
    with work(request) as w:
        job_id = imports.submit(w.session, w.user, key, params, file_name, data, size, client_ip(request),
                                current_locale.get()).id
    imports.start(job_id)  # committed: the import lane can read the job
    return job_id


def _view(request: Request, job_id: int) -> ImportView:
    imports = _imports(request)
    with work(request) as w:
        job = imports.own(w.session, w.user, job_id)
        require(w.user, imports.spec(job.key).permission)
        return imports.view(job)


# --- pages -----------------------------------------------------------------------------------------

@router.get("/imports", response_class=HTMLResponse)
def list_page(request: Request) -> Response:
    with work(request) as w:
        jobs = _imports(request).recent(w.session, w.user)
    return render(request, "imports/list.html", {"jobs": jobs, "status_labels": STATUS_LABELS})


@router.get("/imports/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: Id) -> Response:
    """The job's progress (HTMX asks for the fragment every second), then its preview, then its result."""
    view = _view(request, job_id)
    polled = bool(request.headers.get("HX-Request"))
    if view.status == DONE and view.href:
        return Response(headers={"HX-Redirect": view.href}) if polled else RedirectResponse(view.href, 303)
    if view.status == PREVIEWED or (view.status == FAILED and view.phase == PREVIEW and view.summary):
        if polled:
            return Response(headers={"HX-Refresh": "true"})  # the whole preview page, not a fragment
        return _imports(request).spec(view.key).page(request, view, [])
    return render(request, "imports/job.html", {"job": view, "stages": STAGES})


def _fields(form: FormData) -> dict[str, str]:
    return {k: str(v) for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}


@router.post("/imports/{job_id}/confirm")
def confirm_page(request: Request, job_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """Import a previewed sheet with the confirmation's fields (priority, validity …)."""
    imports = _imports(request)
    try:
        with work(request) as w:
            imports.confirm(w.session, w.user, job_id, _fields(form))
    except Conflict:
        return RedirectResponse(f"/imports/{job_id}", status_code=303)  # confirmed already (a second click)
    except ValidationFailed as exc:
        view = _view(request, job_id)
        return imports.spec(view.key).page(request, view, exc.errors)
    imports.start(job_id)
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


@router.post("/imports/{job_id}/preview")
def repreview_page(request: Request, job_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """Preview the same file again with other fields (the lead sheet's corrected column mapping)."""
    imports = _imports(request)
    try:
        with work(request) as w:
            imports.repreview(w.session, w.user, job_id, _fields(form))
    except Conflict:
        return RedirectResponse(f"/imports/{job_id}", status_code=303)
    except ValidationFailed as exc:
        view = _view(request, job_id)
        return imports.spec(view.key).page(request, view, exc.errors)
    imports.start(job_id)
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


# --- API -------------------------------------------------------------------------------------------

class ImportOut(BaseModel):
    id: int
    key: str
    status: str = Field(description="queued, running, previewed (waiting for `confirm`), done or failed")
    phase: str = Field(description="preview (reading and checking), then import (writing, all or nothing)")
    file_name: str
    total: int = Field(description="rows in the sheet (counted before reading; exact once previewed)")
    read: int
    checked: int
    imported: int
    percent: int
    preview: dict[str, Any] | None = Field(None, description="what the preview found (identifiers masked)")
    result: dict[str, Any] | None = Field(None, description="what the import wrote, and `href`: where to see it")
    confirm: str | None = Field(None, description="POST here to import a previewed sheet")

    @classmethod
    def of(cls, view: ImportView) -> ImportOut:
        return cls(id=view.id, key=view.key, status=view.status, phase=view.phase, file_name=view.file_name,
                   total=view.total, read=view.read, checked=view.checked, imported=view.imported,
                   percent=view.percent, preview=view.summary or None, result=view.result or None,
                   confirm=f"/api/v1/imports/{view.id}/confirm" if view.status == PREVIEWED else None)


class ConfirmIn(BaseModel):
    params: dict[str, Annotated[str, Field(max_length=4000)]] = Field(
        default_factory=dict, max_length=16, description="the confirmation's fields, e.g. priority, two_legs")


FAILED_JOB = {"description": "The import failed on our side (the problem's `job` member is the job)",
              "content": PROBLEM}


@api.post("/imports", response_model=ImportOut, status_code=202)
async def upload(request: Request, key: Annotated[str, Form(max_length=64, description=(
        "the sheet: leads.sheet, passes.bulk, checkpoints.passages or observation.followups"))],
                 file: Annotated[UploadFile, File(description="the .xlsx or .csv sheet")],
                 response: Response) -> Any:
    """Upload a sheet to import in the background: 202 with the job; poll it until `status` is previewed,
    then POST its `confirm` (or send `confirm=1` with the upload to import at once when the preview refuses
    nothing); a failed job answers problem JSON. The sheet's own fields go as further form fields
    (leads.sheet: source; passes.bulk: company, contact_phone, purpose, route, valid_from, valid_until;
    checkpoints.passages: checkpoint_id)."""
    form = await request.form()
    params = {k: str(v) for k, v in form.multi_items() if isinstance(v, str) and k != "key"}
    data = await file.read()
    job_id = await run_in_threadpool(_submit, request, key, params, file.filename or "", data)
    response.headers["Location"] = f"/api/v1/imports/{job_id}"
    return ImportOut.of(await run_in_threadpool(_view, request, job_id))


@api.get("/imports/{job_id}", response_model=ImportOut, responses={500: FAILED_JOB})
def status(request: Request, job_id: Id) -> Any:
    """The job's progress and outcome; a failed job is problem JSON (422: the sheet was refused, each
    problem in `errors`; 409: a newer upload replaced it unconfirmed; 500: it failed on our side). Nothing of
    a failed job was saved."""
    view = _view(request, job_id)
    return _problem(request, view) if view.status == FAILED else ImportOut.of(view)


@api.post("/imports/{job_id}/confirm", response_model=ImportOut, status_code=202)
def confirm(request: Request, job_id: Id, body: ConfirmIn, response: Response) -> Any:
    """Import a previewed sheet (all rows or nothing): 202; poll the job until `status` is done."""
    imports = _imports(request)
    with work(request) as w:
        imports.confirm(w.session, w.user, job_id, body.params)
    imports.start(job_id)
    response.headers["Location"] = f"/api/v1/imports/{job_id}"
    return ImportOut.of(_view(request, job_id))


def _problem(request: Request, view: ImportView) -> Response:
    """A failed job as problem JSON: 422 when the sheet was refused, 409 when a newer upload replaced it
    before its confirmation, 500 when it failed on our side (a bug, a lost worker)."""
    first = view.errors[0] if view.errors else FieldError("file", view.error or FAILED_HERE)
    kind, code = ("validation-failed", 422) if view.errors else ("conflict", 409) if view.error == SUPERSEDED \
        else ("import-failed", 500)
    body = {"type": f"/problems/{kind}", "title": gettext(N_("The sheet was not imported")), "status": code,
            "detail": gettext(first.message, **first.params), "instance": request.url.path,
            "errors": [{"field": e.field, "message": gettext(e.message, **e.params)} for e in view.errors],
            "job": ImportOut.of(view).model_dump()}
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON)  # type: ignore[arg-type]
