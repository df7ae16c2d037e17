"""Person file pages: search, open (masked), reveal with a purpose, create."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.core.access import PERSON_MERGE, PERSON_READ, PERSON_WRITE, can, require
from fangkong.core.codes import DOCUMENT_LABELS
from fangkong.core.errors import FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.units import unit_tree
from fangkong.core.web.params import Id, PageNo, form_id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, submit_form, work
from fangkong.people import merging, review, service
from fangkong.people.service import PersonInput
from fangkong.people.timeline import person_timeline

router = APIRouter(prefix="/people", include_in_schema=False)
NAV = [NavItem(N_("Person files"), "/people", frozenset({"command", "district", "station", "health"})),
       NavItem(N_("Possible duplicates"), "/people/review", frozenset({"command", "station"}))]
PAIR_ROWS = [(N_("Name"), "name"), (N_("ID number"), "id_number"), (N_("Document"), "doc_number"),
             (N_("Phone"), "phone"), (N_("Age"), "age_band"), (N_("Current address"), "current_address"),
             (N_("Household address"), "household_address"), (N_("Jurisdiction"), "unit_name")]


@router.get("", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", page: PageNo = 1) -> HTMLResponse:
    with work(request) as w:
        require(w.user, PERSON_READ)
        result = service.search_persons(w.session, w.user, q, page, request.app.state.settings.page_size)
        can_create = can(w.user, PERSON_WRITE)
    base = "/people?" + urlencode({"q": q})
    return render(request, "people/search.html", {"result": result, "q": q, "base": base, "can_create": can_create})


def _form_context(w: object, data: PersonInput, errors: list[object]) -> dict[str, object]:
    units = [(u.id, "　" * u.depth + u.name) for u in unit_tree(w.session, w.user)]  # type: ignore[attr-defined]
    docs = [(key, label[0]) for key, label in DOCUMENT_LABELS.items()]
    return {"data": data, "errors": errors, "units": units, "documents": docs}


@router.get("/new", response_class=HTMLResponse)
def new_person_form(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, PERSON_WRITE)
        ctx = _form_context(w, PersonInput(unit_id=w.user.unit_id), [])
    return render(request, "people/new.html", ctx)


@router.post("/new", response_class=HTMLResponse)
def create_person_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = PersonInput(
        name=str(form.get("name", "")), id_number=str(form.get("id_number", "")),
        doc_type=str(form.get("doc_type", "")), doc_number=str(form.get("doc_number", "")),
        phone=str(form.get("phone", "")), current_address=str(form.get("current_address", "")),
        household_address=str(form.get("household_address", "")),
        unit_id=form_id(form.get("unit_id")),
    )

    def create(w: Work) -> Response:
        person = service.create_person(w.session, w.user, data)
        return RedirectResponse(f"/people/{person.id}", status_code=303)

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        return render(request, "people/new.html", _form_context(w, data, list(errors)), status=422)

    return submit_form(request, create, refuse)


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, page: PageNo = 1) -> HTMLResponse:
    with work(request) as w:
        found = review.review_queue(w.session, w.user, page, request.app.state.settings.page_size)
    return render(request, "people/review.html", {"found": found, "rows": PAIR_ROWS, "errors": [],
                                                   "reason_labels": review.REASON_LABELS})


@router.post("/review/{pair_id}", response_class=HTMLResponse)
def decide_pair_page(request: Request, pair_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    def decide(w: Work) -> Response:
        if str(form.get("action", "")) == "accept":
            review.accept_pair(w.session, w.user, pair_id, str(form.get("reason", "")))
        else:
            review.reject_pair(w.session, w.user, pair_id)
        return RedirectResponse("/people/review", status_code=303)

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        found = review.review_queue(w.session, w.user, 1, request.app.state.settings.page_size)
        return render(request, "people/review.html", {"found": found, "rows": PAIR_ROWS, "errors": errors,
                                                       "reason_labels": review.REASON_LABELS}, 422)

    return submit_form(request, decide, refuse)


@router.post("/merges/{merge_id}/unmerge", response_class=HTMLResponse)
def unmerge_page(request: Request, merge_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        record = merging.unmerge(w.session, w.user, merge_id, str(form.get("reason", "")))
        survivor_id = record.survivor_id
    return RedirectResponse(f"/people/{survivor_id}", status_code=303)


@router.post("/{person_id}/merge", response_class=HTMLResponse)
def merge_page(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    merged_id = form_id(form.get("merged_id"))

    def merge(w: Work) -> Response:
        require(w.user, PERSON_MERGE)
        if merged_id is None:
            raise ValidationFailed.one("merged_id", N_("Enter the number of the file to merge into this one."))
        merging.merge_persons(w.session, w.user, person_id, merged_id, str(form.get("reason", "")))
        return RedirectResponse(f"/people/{person_id}", status_code=303)

    return submit_form(request, merge, lambda w, errors: person_refused(request, w, person_id, errors))


@router.get("/{person_id:int}", response_class=HTMLResponse)  # :int lets /people/status be observation's
def person_page(request: Request, person_id: Id) -> Response:
    with work(request) as w:
        try:
            person = service.open_person(w.session, w.user, person_id)
        except NotFound:
            # A merged-away file lives on in the file it was merged into (if that one is visible).
            survivor = merging.merged_into(w.session, person_id)
            if survivor is None:
                raise
            service.open_person(w.session, w.user, survivor)
            return RedirectResponse(f"/people/{survivor}", status_code=303)
        ctx = person_context(request, w, person_id)
    return render(request, "people/person.html", {"person": person, "errors": [], **ctx})


def person_context(request: Request, w: Work, person_id: int) -> dict[str, object]:
    """Return what the person file page shows besides the file: timeline, household, merges, and the
    panels other capabilities add (the risk status is observation's)."""
    timeline, household = person_timeline(w.session, w.user, person_id, request.app.state.timeline_sources)
    panels = [panel for make in request.app.state.person_panels
              if (panel := make(w.session, w.user, person_id)) is not None]
    return {"timeline": timeline, "household": household, "panels": panels,
            "merges": merging.merges_into(w.session, person_id), "can_merge": can(w.user, PERSON_MERGE)}


def person_refused(request: Request, w: Work, person_id: int, errors: list[FieldError]) -> Response:
    """Return the person file page again with the errors of a form posted from it (merge, risk status)."""
    person = service.open_person(w.session, w.user, person_id)
    ctx = person_context(request, w, person_id)
    return render(request, "people/person.html", {"person": person, "errors": errors, **ctx}, 422)


@router.post("/{person_id}/reveal", response_class=HTMLResponse)
def reveal_page(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    purpose = str(form.get("purpose", ""))

    def reveal(w: Work) -> Response:
        person = service.reveal_person(w.session, w.user, person_id, purpose)
        return render(request, "people/person.html", {"person": person, "errors": []})

    def refuse(w: Work, errors: list[FieldError]) -> Response:
        person = service.open_person(w.session, w.user, person_id)
        return render(request, "people/person.html", {"person": person, "errors": errors, "purpose": purpose}, 422)

    return submit_form(request, reveal, refuse)
