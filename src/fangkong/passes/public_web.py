"""The public's pass pages: the application form (no account), its receipt, the status lookup with the
passes to show on a phone or print; and what the checkpoint tablets cache: the public keys, the
revocation list, and the verification page that works with the network cut (service worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from fangkong.core.errors import NotFound, ValidationFailed
from fangkong.core.web.templating import render
from fangkong.core.web.work import public_work
from fangkong.passes import applications, forms, rules, service
from fangkong.passes.tokens import key_ring

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"verify.js": "text/javascript", "pass.js": "text/javascript", "pass.css": "text/css"}
ROWS = 5  # vehicle or person rows on the form (more through the staff API or the sheet)
NO_STORE = {"Cache-Control": "no-store"}


def labels() -> dict[str, Any]:
    return {"purposes": rules.PURPOSES, "kinds": rules.KINDS, "pass_states": rules.PASS_STATES,
            "application_states": rules.APPLICATION_STATES, "show_reference": forms.show_reference,
            "max_mb": rules.MAX_DOCUMENT_BYTES // 1024 // 1024, "max_days": rules.MAX_DAYS}


def verify_url(request: Request, token: str) -> str:
    """Return what the QR code holds: the verification page with the token after '#' (never sent to a
    server, so a phone camera opens the page and the page checks the pass, offline too)."""
    base = request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/passes/verify#{token}"


def qr_svg(request: Request, token: str) -> str:
    return segno.make(verify_url(request, token), error="m").svg_data_uri(scale=4, border=2)


def _input(form: FormData) -> applications.ApplicationInput:
    get = lambda k: str(form.get(k, ""))  # noqa: E731
    holders = [applications.HolderInput(plate=get(f"holders.{i}.plate")[:20], name=get(f"holders.{i}.name")[:60],
                                        id_number=get(f"holders.{i}.id_number")[:40]) for i in range(ROWS)]
    return applications.ApplicationInput(
        company=get("company"), contact_phone=get("contact_phone"), address=get("address"), purpose=get("purpose"),
        route=get("route"), valid_from=get("valid_from"), valid_until=get("valid_until"),
        kind=get("kind") or "vehicle", holders=holders, consent=get("consent") == "yes")


async def _document(form: FormData) -> applications.Document | None:
    upload = form.get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(rules.MAX_DOCUMENT_BYTES + 1)  # one byte more than allowed says "too large"
    return applications.Document(upload.filename, data)


def _form_page(request: Request, data: applications.ApplicationInput, errors: list[Any], status: int = 200) -> Response:
    data.holders += [applications.HolderInput() for _ in range(ROWS - len(data.holders))]
    response = render(request, "passes/apply.html", {
        **labels(), "data": data, "errors": errors, "rows": range(ROWS), "today": applications.today().isoformat(),
        "retention_days": request.app.state.settings.registration_retention_days}, status)
    response.headers.update(NO_STORE)
    return response


@router.get("/passes/apply", response_class=HTMLResponse)
def apply_form(request: Request) -> Response:
    today = applications.today().isoformat()
    return _form_page(request, applications.ApplicationInput(valid_from=today, valid_until=today), [])


@router.post("/passes/apply", response_class=HTMLResponse)
async def submit_application(request: Request, form: FormData = forms.public_form("pass_apply", upload=True)
                             ) -> Response:
    data, document = _input(form), await _document(form)
    settings = request.app.state.settings
    try:
        with public_work(request) as session:
            found = applications.apply(session, data, document, settings.var_dir, settings.passes_approving_level,
                                       settings.registration_retention_days)
            reference = found.reference
    except ValidationFailed as exc:
        return _form_page(request, data, exc.errors, 422)
    return RedirectResponse(f"/passes/apply/done?{urlencode({'ref': reference})}", status_code=303)


@router.get("/passes/apply/done", response_class=HTMLResponse)
def application_done(request: Request, ref: Annotated[str, Query(max_length=20)] = "") -> Response:
    code = forms.normalise_reference(ref)
    response = render(request, "passes/apply_done.html", {"code": forms.show_reference(code) if code else ""})
    response.headers.update(NO_STORE)
    return response


@router.get("/passes/status", response_class=HTMLResponse)
def status_form(request: Request) -> Response:
    return _status_page(request, [], "", None)


@router.post("/passes/status", response_class=HTMLResponse)
def status_lookup(request: Request, form: FormData = forms.public_form("pass_status")) -> Response:
    reference, phone = str(form.get("reference", ""))[:30], str(form.get("phone", ""))[:30]
    try:
        with public_work(request) as session:
            found = applications.find_own(session, reference, phone)
            cards = [(p, service.pass_state(p, found.status), qr_svg(request, p.token) if p.token else "")
                     for p in found.passes]
    except ValidationFailed as exc:
        return _status_page(request, exc.errors, reference, None, status=422)
    return _status_page(request, [], reference, {"application": found, "cards": cards})


def _status_page(request: Request, errors: list[Any], reference: str, found: dict[str, Any] | None,
                 status: int = 200) -> Response:
    response = render(request, "passes/status.html", {**labels(), "errors": errors, "reference": reference,
                                                      "found": found}, status)
    response.headers.update(NO_STORE)
    return response


# --- what the tablets cache ------------------------------------------------------------------------

@router.get("/passes/keys.json")
def keys_json(request: Request) -> JSONResponse:
    """The public keys that verify passes (public: a key signs nothing). Tablets cache it for offline checks."""
    ring = key_ring(request.app.state.settings.var_dir)
    with public_work(request) as session:
        body = service.keys_document(session, ring)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})


@router.get("/passes/revoked.json")
def revoked_json(request: Request) -> JSONResponse:
    """Ids of revoked passes still within their validity (ids only: no personal data)."""
    with public_work(request) as session:
        body = service.revoked_document(session)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=60"})


@router.get("/passes/verify", response_class=HTMLResponse)
def verify_page(request: Request) -> Response:
    """The offline verification page: checks a token in the browser against the cached keys and list."""
    response = render(request, "passes/verify.html", {"outcomes": rules.OUTCOMES, "kinds": rules.KINDS,
                                                      "travel": rules.IMPOSSIBLE_TRAVEL})
    response.headers["Cache-Control"] = "no-cache"  # kept by the service worker; revalidated when online
    return response


@router.get("/passes/sw.js")
def service_worker() -> Response:
    """The service worker (served from /passes/ so that its scope covers the verification page)."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/passes/assets/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound()
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})
