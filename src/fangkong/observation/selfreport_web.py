"""Self-report pages (issue 20): the officer issues or revokes a person's link and prints the notice with its
QR code and SMS text; the person reports on the public page `/r/<token>` (no account, Chinese by default)."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from fangkong.core.errors import BodyTooLarge, Conflict, FieldError
from fangkong.core.ratelimit import check_rate
from fangkong.core.web.params import Id
from fangkong.core.web.templating import render
from fangkong.core.web.work import checked_form, public_work, submit_public_form, work
from fangkong.observation import selfreport
from fangkong.observation.followups import FEVER_C, MAX_C, MIN_C, SYMPTOMS
from fangkong.observation.selfreport import LinkView, SelfReportInput

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=20, max_length=60, pattern=r"^[A-Za-z0-9_-]+$")]
MAX_FORM_BYTES = 4096


def report_url(request: Request, token: str) -> str:
    base = request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/r/{token}"


@router.post("/care/{observation_id}/self-report", response_class=HTMLResponse)
def issue(request: Request, observation_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    """Issue a new link and show it once: the notice to print (QR code) and the SMS text to copy."""
    with work(request) as w:
        issued = selfreport.issue_link(w.session, w.user, observation_id)
        url = report_url(request, issued.token)
        ctx: dict[str, Any] = {"url": url, "given_name": issued.given_name, "expires_at": issued.link.expires_at,
                               "observation_id": observation_id,
                               "sms": selfreport.sms_text(issued.given_name, url, issued.link.expires_at),
                               "qr": segno.make(url, error="m").svg_data_uri(scale=5, border=2)}
    return render(request, "observation/self_report_notice.html", ctx)


@router.post("/care/{observation_id}/self-report/revoke")
def revoke(request: Request, observation_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        selfreport.revoke_links(w.session, w.user, observation_id)
    return RedirectResponse(f"/care/{observation_id}#self-report", status_code=303)


# --- the public page -----------------------------------------------------------------------------------

def _page(request: Request, view: LinkView | None, errors: list[Any], values: dict[str, Any] | None = None,
          done: Any = None, status: int = 200, message: str | None = None) -> Response:
    ctx = {"view": view, "errors": errors, "values": values or {}, "done": done, "symptoms": SYMPTOMS,
           "min_c": MIN_C, "max_c": MAX_C, "fever_c": FEVER_C, "nonce": selfreport.new_nonce(),
           "message": message, "max_per_day": selfreport.REPORTS_PER_DAY}
    return render(request, "observation/self_report.html", ctx, status)


def _input(form: FormData) -> SelfReportInput:
    text = str(form.get("temperature_c", "")).strip().replace(",", ".").replace("，", ".")[:10]
    try:
        temperature: float | None = float(text) if text else None
    except ValueError:
        temperature = -1.0  # out of range: the field is named in the answer
    home = str(form.get("at_home", ""))
    return SelfReportInput(temperature_c=temperature, symptoms=[str(v)[:40] for v in form.getlist("symptoms")][:20],
                           at_home=True if home == "yes" else False if home == "no" else None,
                           nonce=str(form.get("nonce", ""))[:80])


async def _report_form(request: Request) -> FormData:
    """Size first, then the per-IP limit, then CSRF: a stranger controls all of it."""
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise BodyTooLarge()
    check_rate(request, "self_report")
    return await checked_form(request)


@router.get("/r/{token}", response_class=HTMLResponse)
def report_form(request: Request, token: Token) -> Response:
    with public_work(request) as session:
        view = selfreport.open_link(session, token)
    return _page(request, view, [])


@router.post("/r/{token}", response_class=HTMLResponse)
def report(request: Request, token: Token, form: Annotated[FormData, Depends(_report_form)]) -> Response:
    data = _input(form)
    values = {"temperature_c": str(form.get("temperature_c", ""))[:10], "symptoms": data.symptoms,
              "at_home": str(form.get("at_home", ""))}

    def submit(session: Session) -> Response:
        saved = selfreport.submit_report(session, token, data)
        done = {"at": saved.at, "referred": saved.referral_id is not None}
        return _page(request, selfreport.open_link(session, token), [], done=done)

    def refuse(session: Session, errors: list[FieldError]) -> Response:
        return _page(request, selfreport.open_link(session, token), errors, values, status=422)

    try:
        return submit_public_form(request, submit, refuse)
    except Conflict as exc:  # a replayed form or the day's reports all in: the whole unit of work is undone
        with public_work(request) as session:
            view = selfreport.open_link(session, token)
        return _page(request, view, [], values, status=409, message=exc.detail)
