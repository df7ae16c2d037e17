"""Administration pages: the jurisdiction tree with owned areas, and user accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.core.access import ROLE_LABELS, UNIT_MANAGE, USER_MANAGE, require
from fangkong.core.errors import NotFound
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import Role, UnitKind, User
from fangkong.core.units import (
    UnitInput,
    UserInput,
    create_unit,
    create_user,
    get_unit_in_scope,
    list_users,
    unit_tree,
    update_unit,
    update_user,
)
from fangkong.core.web.params import Id, form_id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, submit_form, work

router = APIRouter(prefix="/admin", include_in_schema=False)
NAV = [NavItem(N_("Units"), "/admin/units", frozenset({"admin"})),
       NavItem(N_("Users"), "/admin/users", frozenset({"admin"}))]
UNIT_KINDS = {UnitKind.CITY: N_("City bureau"), UnitKind.DISTRICT: N_("Sub-bureau"),
              UnitKind.STATION: N_("Police station"), UnitKind.AGENCY: N_("Agency (health, community…)")}


@router.get("/units", response_class=HTMLResponse)
def units_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, UNIT_MANAGE)
        units = unit_tree(w.session, w.user)
    return render(request, "admin/units.html", {"units": units, "kinds": UNIT_KINDS})


def _unit_form(w: Work, data: UnitInput, errors: list[Any], unit_id: int | None) -> dict[str, Any]:
    tree = unit_tree(w.session, w.user)
    parents = [(u.id, "　" * u.depth + u.name) for u in tree if u.id != unit_id]
    return {"data": data, "errors": errors, "unit_id": unit_id, "parents": parents,
            "kinds": [(k, gettext(v)) for k, v in UNIT_KINDS.items()]}


def _unit_input(form: FormData) -> UnitInput:
    return UnitInput(name=str(form.get("name", "")), code=str(form.get("code", "")), kind=str(form.get("kind", "")),
                     parent_id=form_id(form.get("parent_id")), area_code=str(form.get("area_code", "")),
                     areas=str(form.get("areas", "")).splitlines())


@router.get("/units/new", response_class=HTMLResponse)
def new_unit_form(request: Request, parent_id: int | None = None) -> HTMLResponse:
    with work(request) as w:
        require(w.user, UNIT_MANAGE)
        ctx = _unit_form(w, UnitInput(parent_id=parent_id), [], None)
    return render(request, "admin/unit_form.html", ctx)


@router.post("/units/new", response_class=HTMLResponse)
def create_unit_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = _unit_input(form)

    def create(w: Work) -> Response:
        create_unit(w.session, w.user, data)
        return RedirectResponse("/admin/units", status_code=303)

    return submit_form(request, create, lambda w, errors: render(
        request, "admin/unit_form.html", _unit_form(w, data, errors, None), 422))


@router.get("/units/{unit_id}", response_class=HTMLResponse)
def edit_unit_form(request: Request, unit_id: Id) -> HTMLResponse:
    with work(request) as w:
        require(w.user, UNIT_MANAGE)
        unit = get_unit_in_scope(w.session, w.user, unit_id)
        data = UnitInput(name=unit.name, code=unit.code, kind=unit.kind, parent_id=unit.parent_id,
                         area_code=unit.area_code or "", areas=[a.name for a in unit.areas])
        ctx = _unit_form(w, data, [], unit_id)
    return render(request, "admin/unit_form.html", ctx)


@router.post("/units/{unit_id}", response_class=HTMLResponse)
def update_unit_page(request: Request, unit_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = _unit_input(form)

    def update(w: Work) -> Response:
        update_unit(w.session, w.user, unit_id, data)
        return RedirectResponse("/admin/units", status_code=303)

    return submit_form(request, update, lambda w, errors: render(
        request, "admin/unit_form.html", _unit_form(w, data, errors, unit_id), 422))


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        users = list_users(w.session, w.user)
    return render(request, "admin/users.html", {"users": users})


def _user_form(w: Work, data: UserInput, errors: list[Any], target: User | None) -> dict[str, Any]:
    units = [(u.id, "　" * u.depth + u.name) for u in unit_tree(w.session, w.user)]
    roles = [(r.value, gettext(ROLE_LABELS[r])) for r in Role]
    return {"data": data, "errors": errors, "target": target, "units": units, "roles": roles}


def _user_input(form: FormData) -> UserInput:
    return UserInput(username=str(form.get("username", "")), display_name=str(form.get("display_name", "")),
                     role=str(form.get("role", "")), unit_id=form_id(form.get("unit_id")),
                     password=str(form.get("password", "")), active=form.get("active") == "on")


@router.get("/users/new", response_class=HTMLResponse)
def new_user_form(request: Request) -> HTMLResponse:
    with work(request) as w:
        require(w.user, USER_MANAGE)
        ctx = _user_form(w, UserInput(role=Role.STATION), [], None)
    return render(request, "admin/user_form.html", ctx)


@router.post("/users/new", response_class=HTMLResponse)
def create_user_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = _user_input(form)

    def create(w: Work) -> Response:
        require(w.user, USER_MANAGE)  # the pages are admin's; command grants roles through the API
        create_user(w.session, request.app.state.settings, w.user, data)
        return RedirectResponse("/admin/users", status_code=303)

    return submit_form(request, create, lambda w, errors: render(
        request, "admin/user_form.html", _user_form(w, data, errors, None), 422))


@router.get("/users/{user_id}", response_class=HTMLResponse)
def edit_user_form(request: Request, user_id: Id) -> HTMLResponse:
    with work(request) as w:
        target = next((u for u in list_users(w.session, w.user) if u.id == user_id), None)
        if target is None:
            raise NotFound()
        data = UserInput(username=target.username, display_name=target.display_name, role=target.role,
                         unit_id=target.unit_id, active=target.active)
        ctx = _user_form(w, data, [], target)
    return render(request, "admin/user_form.html", ctx)


@router.post("/users/{user_id}", response_class=HTMLResponse)
def update_user_page(request: Request, user_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = _user_input(form)

    def update(w: Work) -> Response:
        require(w.user, USER_MANAGE)
        update_user(w.session, request.app.state.settings, w.user, user_id, data, unlock=form.get("unlock") == "on")
        return RedirectResponse("/admin/users", status_code=303)

    return submit_form(request, update, lambda w, errors: render(
        request, "admin/user_form.html", _user_form(w, data, errors, w.session.get(User, user_id)), 422))
