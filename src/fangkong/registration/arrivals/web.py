"""Arrival pages: the public form on a phone (no account), its receipt and the lookup by code and phone;
for police units, the arrivals to their jurisdiction, one arrival, and the counts by origin and day."""

from __future__ import annotations

import functools
import json
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.core.codes import DOCUMENT_LABELS, children, lookup_area, provinces
from fangkong.core.context import current_locale
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_, gettext
from fangkong.core.web.params import Id, PageNo
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import public_work, work
from fangkong.people.models import STATUSES
from fangkong.registration import inputs
from fangkong.registration.arrivals import service as arrivals
from fangkong.registration.arrivals.models import Arrival

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Arrivals"), "/arrivals", frozenset({"command", "district", "station"}))]
NO_STORE = {"Cache-Control": "no-store"}


def private(response: Response) -> Response:
    """Keep personal data out of shared caches and the browser's history cache."""
    response.headers.update(NO_STORE)
    return response


@functools.cache
def origin_options() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return (province, [(code, name)]) for the origin picker: each province, then its cities."""
    groups = []
    for province in provinces():
        options = [(province.code, province.name)]
        options += [(a.code, a.name) for a in children(province.code)]
        groups.append((province.name, options))
    return groups


def labels() -> dict[str, Any]:
    return {"transports": arrivals.TRANSPORTS, "symptom_labels": arrivals.SYMPTOMS, "tests": arrivals.TESTS,
            "levels": arrivals.LEVELS, "reasons": arrivals.REASONS, "show_reference": inputs.show_reference,
            "documents": document_options(), "area_name": _area_name, "has_fever": arrivals.has_fever,
            "status_labels": STATUSES}


def document_options() -> list[tuple[str, str]]:
    """Return (document type, its name in the page's language) for the document picker."""
    zh = current_locale.get() == "zh_CN"
    return [(k.value, v[0] if zh else v[1]) for k, v in DOCUMENT_LABELS.items()]


def _area_name(code: str | None) -> str:
    area = lookup_area(code or "")
    return area.full_name if area else ""


def _input(form: FormData) -> arrivals.ArrivalInput:
    get = lambda k: str(form.get(k, ""))  # noqa: E731
    return arrivals.ArrivalInput(
        name=get("name"), doc_type=get("doc_type"), doc_number=get("doc_number"), phone=get("phone"),
        origin_code=get("origin_code"), origin_text=get("origin_text"), route=get("route"),
        departed_on=get("departed_on"), arrived_on=get("arrived_on"), transport=get("transport"),
        transport_number=get("transport_number"), plate=get("plate"),
        destination_address=get("destination_address"), symptoms=[str(s) for s in form.getlist("symptoms")][:10],
        temperature_c=get("temperature_c"), test_result=get("test_result") or "none", test_on=get("test_on"),
        consent=get("consent") == "yes")


def _form_page(request: Request, data: arrivals.ArrivalInput, errors: list[Any], status: int = 200) -> Response:
    retention = request.app.state.settings.registration_retention_days
    return private(render(request, "registration/arrival_form.html",
                          {**labels(), "data": data, "errors": errors, "retention_days": retention,
                           "origins": origin_options(), "today": arrivals.today().isoformat()}, status))


@router.get("/register/arrival", response_class=HTMLResponse)
def arrival_form(request: Request) -> Response:
    today = arrivals.today().isoformat()
    return _form_page(request, arrivals.ArrivalInput(arrived_on=today), [])


@router.post("/register/arrival", response_class=HTMLResponse)
def submit_arrival(request: Request, form: FormData = inputs.public_form("arrival")) -> Response:
    data = _input(form)
    settings = request.app.state.settings
    try:
        with public_work(request) as session:
            arrival = arrivals.register_arrival(session, data, settings.registration_retention_days,
                                                settings.protocol_profile)
            reference = arrival.reference
    except ValidationFailed as exc:
        return _form_page(request, data, exc.errors, 422)
    return RedirectResponse(f"/register/arrival/done?{urlencode({'ref': reference})}", status_code=303)


@router.get("/register/arrival/done", response_class=HTMLResponse)
def arrival_done(request: Request, ref: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The receipt: the reference code only (the URL carries no personal data, and shows none)."""
    code = inputs.normalise_reference(ref)
    return private(render(request, "registration/arrival_done.html",
                          {"code": inputs.show_reference(code) if code else ""}))


@router.get("/register/arrival/lookup", response_class=HTMLResponse)
def lookup_form(request: Request) -> Response:
    return private(render(request, "registration/arrival_lookup.html",
                          {**labels(), "errors": [], "reference": "", "found": None}))


@router.post("/register/arrival/lookup", response_class=HTMLResponse)
def lookup(request: Request, form: FormData = inputs.public_form("lookup")) -> Response:
    reference, phone = str(form.get("reference", ""))[:30], str(form.get("phone", ""))[:30]
    try:
        with public_work(request) as session:
            found = arrivals.find_own_arrival(session, reference, phone)
    except ValidationFailed as exc:
        return private(render(request, "registration/arrival_lookup.html",
                              {**labels(), "errors": exc.errors, "reference": reference, "found": None}, 422))
    return private(render(request, "registration/arrival_lookup.html",
                          {**labels(), "errors": [], "reference": reference, "found": found}))


# --- staff -----------------------------------------------------------------------------------------

@router.get("/arrivals", response_class=HTMLResponse)
def arrivals_page(request: Request, day: Annotated[str, Query(max_length=10)] = "",
                  origin: Annotated[str, Query(max_length=6)] = "", risk: Annotated[str, Query(max_length=8)] = "",
                  page: PageNo = 1) -> Response:
    errors: list[Any] = []
    flt = arrivals.ArrivalFilter(day=inputs.clean_date(errors, "day", day, required=False), origin=origin,
                                 risk=risk)
    with work(request) as w:
        found = arrivals.list_arrivals(w.session, w.user, flt, page, request.app.state.settings.page_size)
        is_command = w.user.role == "command"
    base = "/arrivals?" + urlencode({"day": day, "origin": origin, "risk": risk})
    return private(render(request, "registration/arrival_list.html",
                          {**labels(), "found": found, "flt": flt, "day": day, "base": base, "errors": errors,
                           "provinces": [(p.code[:2], p.name) for p in provinces()], "is_command": is_command}))


@router.get("/arrivals/counts", response_class=HTMLResponse)
def counts_page(request: Request, days: Annotated[int, Query(ge=1, le=60)] = 14) -> Response:
    with work(request) as w:
        rows = arrivals.counts_by_origin(w.session, w.user, days)
    start = arrivals.today() - timedelta(days=days - 1)
    all_days: list[date] = [start + timedelta(days=i) for i in range(days)]
    table: dict[str, dict[date, int]] = {}
    for province, day, n in rows:
        table.setdefault(province, {})[day] = n
    names = {p.code[:2]: p.name for p in provinces()}
    ordered = sorted(table, key=lambda p: -sum(table[p].values()))
    chart = json.dumps({"hours": [d.strftime("%m-%d") for d in all_days],  # the shared chart script's keys
                        "series": {gettext("All origins"): [sum(table[p].get(d, 0) for p in table) for d in all_days],
                                   **{names.get(p, p): [table[p].get(d, 0) for d in all_days] for p in ordered[:5]}}},
                       ensure_ascii=False)
    return private(render(request, "registration/arrival_counts.html",
                          {"days": all_days, "table": table, "ordered": ordered, "names": names, "span": days,
                           "chart": chart}))


@router.get("/arrivals/{arrival_id}", response_class=HTMLResponse)
def arrival_page(request: Request, arrival_id: Id) -> Response:
    with work(request) as w:
        arrival: Arrival = arrivals.open_arrival(w.session, w.user, arrival_id)
        ctx = {**labels(), "a": arrival, "unit_name": arrival.unit.name, "fever": arrivals.has_fever(arrival)}
    return private(render(request, "registration/arrival_detail.html", ctx))
