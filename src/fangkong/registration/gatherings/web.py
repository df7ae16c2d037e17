"""Gathering pages: the organiser's form and event page (no account: an unguessable link, or the code
and phone), the attendees' sign-in by shared link on their phones; for police units, the gatherings
in their jurisdiction with their attendee lists."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_, gettext
from fangkong.core.web.params import Id, PageNo
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import public_work, submit_public_form, work
from fangkong.registration import inputs
from fangkong.registration.arrivals.web import document_options, private
from fangkong.registration.gatherings import service as gatherings
from fangkong.registration.gatherings.models import Gathering

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Gatherings"), "/gatherings", frozenset({"command", "district", "station"}))]
ROWS = 5  # attendee rows on the organiser's forms (more by adding again)
SIGN_IN_FACTOR = 10  # guests sign in from one venue's network: ten times the per-IP limit
Token = Annotated[str, Path(min_length=20, max_length=60, pattern=r"^[A-Za-z0-9_-]+$")]


def labels() -> dict[str, Any]:
    return {"kinds": gatherings.KINDS, "documents": document_options(), "rows": range(ROWS),
            "kinds_options": [(k, gettext(v)) for k, v in gatherings.KINDS.items()],
            "show_reference": inputs.show_reference}


def _gathering_input(form: FormData) -> gatherings.GatheringInput:
    get = lambda k: str(form.get(k, ""))  # noqa: E731
    return gatherings.GatheringInput(kind=get("kind"), title=get("title"), date=get("date"),
                                     start_time=get("start_time"), end_time=get("end_time"), address=get("address"),
                                     expected_size=get("expected_size"), organiser_name=get("organiser_name"),
                                     organiser_phone=get("organiser_phone"))


def _attendee_rows(form: FormData, prefix: str = "attendees.") -> list[gatherings.AttendeeInput]:
    rows = []
    for i in range(ROWS):
        get = lambda k, i=i: str(form.get(f"{prefix}{i}.{k}", ""))  # noqa: E731
        rows.append(gatherings.AttendeeInput(name=get("name"), doc_type=get("doc_type"), doc_number=get("doc_number"),
                                             phone=get("phone")))
    return rows


def _one_attendee(form: FormData) -> gatherings.AttendeeInput:
    get = lambda k: str(form.get(k, ""))  # noqa: E731
    return gatherings.AttendeeInput(name=get("name"), doc_type=get("doc_type"), doc_number=get("doc_number"),
                                    phone=get("phone"))


def _values(form: FormData | None) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if k != "csrf_token"} if form is not None else {}


def _form_page(request: Request, form: FormData | None, errors: list[Any], status: int = 200) -> Response:
    retention = request.app.state.settings.registration_retention_days
    return private(render(request, "registration/gathering_form.html",
                          {**labels(), "values": _values(form), "errors": errors, "retention_days": retention}, status))


@router.get("/register/gathering", response_class=HTMLResponse)
def gathering_form(request: Request) -> Response:
    return _form_page(request, None, [])


@router.post("/register/gathering", response_class=HTMLResponse)
def submit_gathering(request: Request, form: FormData = inputs.public_form("gathering")) -> Response:
    try:
        with public_work(request) as session:
            gathering = gatherings.register_gathering(session, _gathering_input(form), _attendee_rows(form),
                                                      request.app.state.settings.registration_retention_days)
            token = gathering.manage_token
    except ValidationFailed as exc:
        return _form_page(request, form, exc.errors, 422)
    return RedirectResponse(f"/register/gathering/manage/{token}?new=1", status_code=303)


def _manage_page(request: Request, gathering: Gathering, attendees: list[Any], errors: list[Any],
                 form: FormData | None = None, status: int = 200, added: int = 0) -> Response:
    link = str(request.base_url).rstrip("/") + f"/g/{gathering.sign_in_token}"
    qr = segno.make(link, error="m").svg_data_uri(scale=5, border=2) if gathering.sign_in_open else ""
    return private(render(request, "registration/gathering_manage.html",
                          {**labels(), "g": gathering, "attendees": attendees, "errors": errors,
                           "values": _values(form), "share_link": link, "qr": qr, "added": added,
                           "is_new": request.query_params.get("new") == "1"}, status))


@router.get("/register/gathering/manage/{token}", response_class=HTMLResponse)
def manage_page(request: Request, token: Token) -> Response:
    with public_work(request) as session:
        gathering = gatherings.by_manage_token(session, token)
        attendees = list(gathering.attendees)
    return _manage_page(request, gathering, attendees, [])


@router.post("/register/gathering/manage/{token}/attendees", response_class=HTMLResponse)
def add_attendees(request: Request, token: Token,
                  form: FormData = inputs.public_form("gathering")) -> Response:
    rows = _attendee_rows(form)

    def add(session: Session) -> Response:
        count = len(gatherings.add_attendees(session, token, rows))
        return RedirectResponse(f"/register/gathering/manage/{token}?added={count}", status_code=303)

    def refuse(session: Session, errors: list[FieldError]) -> Response:
        gathering = gatherings.by_manage_token(session, token)
        return _manage_page(request, gathering, list(gathering.attendees), errors, form, 422)

    return submit_public_form(request, add, refuse)


@router.post("/register/gathering/manage/{token}/sign-in")
def toggle_sign_in(request: Request, token: Token, form: FormData = inputs.public_form("gathering")) -> Response:
    with public_work(request) as session:
        gatherings.set_sign_in(session, token, str(form.get("open", "")) == "yes")
    return RedirectResponse(f"/register/gathering/manage/{token}", status_code=303)


@router.get("/register/gathering/lookup", response_class=HTMLResponse)
def gathering_lookup_form(request: Request) -> Response:
    return private(render(request, "registration/gathering_lookup.html", {"errors": [], "reference": ""}))


@router.post("/register/gathering/lookup", response_class=HTMLResponse)
def gathering_lookup(request: Request, form: FormData = inputs.public_form("lookup")) -> Response:
    reference = str(form.get("reference", ""))[:30]
    try:
        with public_work(request) as session:
            token = gatherings.find_own_gathering(session, reference, str(form.get("phone", ""))[:30]).manage_token
    except ValidationFailed as exc:
        return private(render(request, "registration/gathering_lookup.html",
                              {"errors": exc.errors, "reference": reference}, 422))
    return RedirectResponse(f"/register/gathering/manage/{token}", status_code=303)


def _sign_in_page(request: Request, gathering: Gathering, errors: list[Any], form: FormData | None = None,
                  done: Any = None, status: int = 200) -> Response:
    return private(render(request, "registration/gathering_sign_in.html",
                          {**labels(), "g": gathering, "errors": errors, "values": _values(form), "done": done,
                           "retention_days": request.app.state.settings.registration_retention_days}, status))


@router.get("/g/{token}", response_class=HTMLResponse)
def sign_in_form(request: Request, token: Token) -> Response:
    with public_work(request) as session:
        gathering = gatherings.by_sign_in_token(session, token)
    return _sign_in_page(request, gathering, [])


@router.post("/g/{token}", response_class=HTMLResponse)
def sign_in(request: Request, token: Token, form: FormData = inputs.public_form("sign_in", SIGN_IN_FACTOR)) -> Response:
    def sign(session: Session) -> Response:
        gathering, attendee = gatherings.sign_in(session, token, _one_attendee(form))
        return _sign_in_page(request, gathering, [], done={"name": attendee.name, "at": attendee.created_at})

    return submit_public_form(request, sign, lambda session, errors: _sign_in_page(
        request, gatherings.by_sign_in_token(session, token), errors, form, status=422))


# --- staff -----------------------------------------------------------------------------------------

@router.get("/gatherings", response_class=HTMLResponse)
def gatherings_page(request: Request, page: PageNo = 1) -> Response:
    with work(request) as w:
        found = gatherings.list_gatherings(w.session, w.user, page=page,
                                           page_size=request.app.state.settings.page_size)
    return private(render(request, "registration/gathering_list.html", {**labels(), "found": found,
                                                                        "base": "/gatherings?"}))


@router.get("/gatherings/{gathering_id}", response_class=HTMLResponse)
def gathering_page(request: Request, gathering_id: Id) -> Response:
    with work(request) as w:
        view = gatherings.open_gathering(w.session, w.user, gathering_id)
        ctx = {**labels(), "g": view.gathering, "attendees": view.attendees, "unit_name": view.gathering.unit.name}
    return private(render(request, "registration/gathering_detail.html", ctx))
