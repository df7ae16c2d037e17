"""Export pages and API: ask for a list's export, watch its progress, download the file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from fangkong.core.context import current_locale
from fangkong.core.exports import STATUS_LABELS, Exports, RunView
from fangkong.core.i18n import N_
from fangkong.core.web.params import Id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import checked_form, client_ip, guard, work

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("My exports"), "/exports", frozenset({"command", "district", "station", "health", "checkpoint",
                                                         "community", "auditor"}))]
api = APIRouter(prefix="/api/v1", tags=["exports"], dependencies=[guard()])  # 401 before the body
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _exports(request: Request) -> Exports:
    return request.app.state.exports


def _ask(request: Request, key: str, params: dict[str, str], purpose: str) -> int:
    exports = _exports(request)
    with work(request) as w:
        run = exports.request(w.session, w.user, key, params, purpose, client_ip(request), current_locale.get())
        run_id = run.id
    exports.start(run_id)  # committed: the export thread can read the run
    return run_id


@router.post("/exports")
def ask_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    params = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "key", "purpose", "full")}
    purpose = str(form.get("purpose", "")) if form.get("full") == "1" else ""
    if form.get("full") == "1" and not purpose.strip():
        purpose = "-"  # asked for full numbers without a purpose: refused by the rule, not ignored
    run_id = _ask(request, str(form.get("key", ""))[:64], params, purpose)
    return RedirectResponse(f"/exports/{run_id}", status_code=303)


@router.get("/exports", response_class=HTMLResponse)
def list_page(request: Request) -> Response:
    with work(request) as w:
        runs = _exports(request).recent(w.session, w.user)
    return render(request, "exports/list.html", {"runs": runs, "status_labels": STATUS_LABELS})


@router.get("/exports/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: Id) -> Response:
    """The run's progress; HTMX asks for the fragment every second until it is done or failed."""
    exports = _exports(request)
    with work(request) as w:
        run = exports.view(exports.own_run(w.session, w.user, run_id))
    return render(request, "exports/run.html", {"run": run})


@router.get("/exports/{run_id}/file")
def file_page(request: Request, run_id: Id) -> Response:
    with work(request) as w:
        path, name = _exports(request).download(w.session, w.user, run_id)
    return FileResponse(path, media_type=XLSX, filename=name)


# --- API -------------------------------------------------------------------------------------------

class ExportIn(BaseModel):
    key: str = Field(max_length=64, description="the list, e.g. people.persons, observation.observations")
    params: dict[str, Annotated[str, Field(max_length=64)]] = Field(default_factory=dict, max_length=16,
                                                                    description="the list page's filters")
    purpose: str = Field("", max_length=255, description="set: ID numbers in full, audited as a reveal")


class ExportOut(BaseModel):
    id: int
    key: str
    status: str
    total: int
    done: int
    percent: int
    error: str | None
    file: str | None

    @classmethod
    def of(cls, run: RunView) -> ExportOut:
        from fangkong.core.i18n import gettext

        return cls(id=run.id, key=run.key, status=run.status, total=run.total, done=run.done, percent=run.percent,
                   error=gettext(run.error) if run.error else None,
                   file=f"/api/v1/exports/{run.id}/file" if run.status == "done" else None)


@api.post("/exports", response_model=ExportOut, status_code=202)
def ask(request: Request, body: ExportIn, response: Response) -> Any:
    """Ask for a list's export: 202 with the run; poll it until `status` is done, then get `file`."""
    run_id = _ask(request, body.key, body.params, body.purpose)
    response.headers["Location"] = f"/api/v1/exports/{run_id}"
    return _status(request, run_id)


@api.get("/exports/{run_id}", response_model=ExportOut)
def status(request: Request, run_id: Id) -> Any:
    return _status(request, run_id)


def _status(request: Request, run_id: int) -> ExportOut:
    exports = _exports(request)
    with work(request) as w:
        return ExportOut.of(exports.view(exports.own_run(w.session, w.user, run_id)))


@api.get("/exports/{run_id}/file", response_class=FileResponse)
def download(request: Request, run_id: Id) -> Response:
    with work(request) as w:
        path, name = _exports(request).download(w.session, w.user, run_id)
    return FileResponse(path, media_type=XLSX, filename=name)
