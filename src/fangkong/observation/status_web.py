"""Risk status pages: the counts by district and status with health's release list, changing a person's
status from the person file page, and the panel that page shows (core.capability.PersonPanel)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from fangkong.core.access import PERSON_READ, PERSON_STATUS, TRACE_RUN, can
from fangkong.core.capability import PersonPanel
from fangkong.core.clock import parse_day
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import Role, User
from fangkong.core.web.params import Id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, submit_form, work
from fangkong.observation import status
from fangkong.people.models import STATUSES
from fangkong.people.web import person_refused

router = APIRouter(prefix="/people", include_in_schema=False)
NAV = [NavItem(N_("Risk status"), "/people/status", frozenset({"command", "district", "station", "health"}))]


def risk_panel(session: Session, user: User, person_id: int) -> PersonPanel | None:
    """Return the person file page's risk status section: current status, observation, history, the form."""
    if not can(user, PERSON_READ):
        return None
    options = [(k, gettext(v)) for k, v in STATUSES.items() if user.role == Role.HEALTH or k not in status.HEALTH_ONLY]
    return PersonPanel("observation/_risk_panel.html", {
        "risk": status.status_of(session, user, person_id), "status_labels": STATUSES,
        "observation_kinds": status.OBSERVATION_KINDS, "status_options": options,
        "can_status": can(user, PERSON_STATUS), "can_trace": can(user, TRACE_RUN),
        "is_health": user.role == Role.HEALTH})


@router.get("/status", response_class=HTMLResponse)
def status_overview(request: Request) -> HTMLResponse:
    """Counts by district and status, and the release list (health releases the whole list at once)."""
    with work(request) as w:
        counts = status.status_counts(w.session, w.user)
        due = status.release_list(w.session, w.user) if can(w.user, PERSON_STATUS) else []
        is_health = w.user.role == Role.HEALTH
    districts = sorted({d for d, _s, _n in counts})
    table = {(d, s): n for d, s, n in counts}
    return render(request, "observation/status.html", {"districts": districts, "table": table, "due": due,
                                                       "status_labels": STATUSES, "is_health": is_health})


@router.post("/status/release", response_class=HTMLResponse)
def release_due(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        status.release_all_due(w.session, w.user, str(form.get("reason", "")) or "观察期满，无症状")
    return RedirectResponse("/people/status", status_code=303)


@router.post("/{person_id}/status", response_class=HTMLResponse)
def status_page(request: Request, person_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    day = str(form.get("last_exposure", "")).strip()

    def change(w: Work) -> Response:
        exposure = parse_day("last_exposure", day) if day else None
        if str(form.get("action", "")) == "release":
            status.release(w.session, w.user, person_id, str(form.get("reason", "")))
        else:
            status.change_status(w.session, w.user, person_id, str(form.get("status", "")),
                                 str(form.get("reason", "")), str(form.get("evidence", "")), exposure,
                                 str(form.get("place", "")), request.app.state.settings.protocol_profile,
                                 request.app.state.status_listeners)
        return RedirectResponse(f"/people/{person_id}", status_code=303)

    return submit_form(request, change, lambda w, errors: person_refused(request, w, person_id, errors))
