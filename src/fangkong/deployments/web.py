"""Deployment pages: the posts and who is on duty now, the alert list, a post's roster for a day with
its shifts and members, secondments, the daily log with its corrections, and the Excel exports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from starlette.datastructures import FormData

from fangkong.core.access import can, require, restrict
from fangkong.core.db import utcnow
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, UnitKind, User
from fangkong.core.units import unit_tree
from fangkong.core.web.params import Id
from fangkong.core.web.templating import NavItem, render
from fangkong.core.web.work import Work, checked_form, work
from fangkong.deployments import daylog, posts, rosters, sheets
from fangkong.deployments.forms import XLSX, get, input_time, integer, number, optional_id, page_day, values_of
from fangkong.deployments.models import Secondment
from fangkong.deployments.rules import DEPLOYMENT_MANAGE, MEMBER_KINDS, PATTERNS, POST_KINDS, day_start

router = APIRouter(include_in_schema=False)
POLICE = frozenset({"command", "district", "station"})
NAV = [NavItem(N_("Deployments"), "/deployments", POLICE)]
Day = Annotated[str | None, Query(max_length=10)]


def labels() -> dict[str, Any]:
    return {"post_kinds": POST_KINDS, "member_kinds": MEMBER_KINDS, "patterns": PATTERNS, "fields": daylog.FIELDS}


def _units(w: Work) -> list[tuple[int, str]]:
    return [(u.id, "　" * u.depth + u.name) for u in unit_tree(w.session, w.user) if u.kind != UnitKind.AGENCY]


def _users(w: Work, unit_id: int | None = None, day: date | None = None) -> list[User]:
    """Users of the jurisdiction, and those seconded to `unit_id` on `day`: who can stand on a post."""
    stmt = restrict(select(User), w.user, User.unit_id)
    if unit_id is not None and day is not None:
        seconded = select(Secondment.user_id).where(Secondment.unit_id == unit_id, Secondment.starts_on <= day,
                                                    Secondment.ends_on >= day)
        stmt = select(User).where(or_(User.id.in_(restrict(select(User.id), w.user, User.unit_id)),
                                      User.id.in_(seconded)))
    return list(w.session.execute(stmt.where(User.active.is_(True)).order_by(User.username).limit(500))
                .unique().scalars())


def _download(data: bytes, name: str) -> Response:
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/deployments", response_class=HTMLResponse)
def board_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        board = posts.duty_board(w.session, w.user)
        names = posts.member_names(w.session, [m for d in board if d.shift for m in d.shift.members])
        ctx = {**labels(), "board": board, "names": names, "can_manage": can(w.user, DEPLOYMENT_MANAGE)}
    return render(request, "deployments/board.html", ctx)


@router.get("/deployments/alerts", response_class=HTMLResponse)
def alerts_page(request: Request) -> HTMLResponse:
    with work(request) as w:
        ctx = {**labels(), "alerts": posts.below_strength(w.session, w.user)}
    return render(request, "deployments/alerts.html", ctx)


def _post_input(form: FormData) -> posts.PostInput:
    return posts.PostInput(name=get(form, "name"), kind=get(form, "kind"), location=get(form, "location"),
                           unit_id=optional_id(form, "unit_id"), chief_id=optional_id(form, "chief_id"),
                           chief_name=get(form, "chief_name"), required_strength=integer(form, "required_strength"),
                           active=get(form, "active") != "0")


def _post_form(request: Request, data: posts.PostInput, errors: list[Any], post_id: int | None,
               status: int = 200) -> HTMLResponse:
    with work(request) as w:
        require(w.user, DEPLOYMENT_MANAGE)
        if post_id:
            posts.get_post(w.session, w.user, post_id, DEPLOYMENT_MANAGE)
        data.unit_id = data.unit_id or w.user.unit_id
        ctx = {**labels(), "data": data, "errors": errors, "post_id": post_id, "units": _units(w),
               "users": _users(w)}
    return render(request, "deployments/post_form.html", ctx, status)


@router.get("/deployments/posts/new", response_class=HTMLResponse)
def new_post_form(request: Request) -> HTMLResponse:
    return _post_form(request, posts.PostInput(), [], None)


@router.get("/deployments/posts/{post_id}/edit", response_class=HTMLResponse)
def edit_post_form(request: Request, post_id: Id) -> HTMLResponse:
    with work(request) as w:
        p = posts.get_post(w.session, w.user, post_id, DEPLOYMENT_MANAGE)
        data = posts.PostInput(p.name, p.kind, p.location, p.unit_id, p.chief_id, p.chief_name, p.required_strength,
                               p.active)
    return _post_form(request, data, [], post_id)


@router.post("/deployments/posts/new", response_class=HTMLResponse)
@router.post("/deployments/posts/{post_id}/edit", response_class=HTMLResponse)
def save_post_page(request: Request, form: Annotated[FormData, Depends(checked_form)],
                   post_id: int | None = None) -> Response:
    data = _post_input(form)
    try:
        with work(request) as w:
            saved = posts.save_post(w.session, w.user, data, post_id).id
    except ValidationFailed as exc:
        return _post_form(request, data, exc.errors, post_id, 422)
    return RedirectResponse(f"/deployments/posts/{saved}", status_code=303)


def _roster(request: Request, post_id: int, day: date, errors: list[Any] | None = None,
            values: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    with work(request) as w:
        post = posts.get_post(w.session, w.user, post_id)
        shifts = rosters.roster(w.session, w.user, post.id, day)
        now = utcnow()
        on_duty = posts.current_shifts(w.session, [post.id], now).get(post.id)
        names = posts.member_names(w.session, [m for s in [*shifts, *([on_duty] if on_duty else [])]
                                               for m in s.members])
        start = day_start(day) + timedelta(hours=8)
        ctx = {**labels(), "post": post, "day": day, "shifts": [posts.shift_duty(post, s) for s in shifts],
               "now_duty": posts.Duty(post, on_duty, posts.officers_on(on_duty)), "names": names,
               "errors": errors or [], "values": values or {"starts_at": input_time(start),
                                                            "ends_at": input_time(start + timedelta(hours=8))},
               "users": _users(w, post.unit_id, day), "can_manage": can(w.user, DEPLOYMENT_MANAGE),
               "prev_day": day - timedelta(days=1), "next_day": day + timedelta(days=1), "now": now}
    return render(request, "deployments/post.html", ctx, status)


@router.get("/deployments/posts/{post_id}", response_class=HTMLResponse)
def post_page(request: Request, post_id: Id, day: Day = None) -> HTMLResponse:
    return _roster(request, post_id, page_day(day))


@router.post("/deployments/posts/{post_id}/shifts", response_class=HTMLResponse)
def add_shift_page(request: Request, post_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    day = get(form, "day")
    try:
        with work(request) as w:
            if get(form, "pattern"):
                rosters.fill_pattern(w.session, w.user, post_id, day, get(form, "pattern"))
            else:
                rosters.add_shift(w.session, w.user, post_id, rosters.ShiftInput(
                    day, get(form, "starts_at"), get(form, "ends_at"), get(form, "label")))
    except ValidationFailed as exc:
        return _roster(request, post_id, page_day(day if len(day) == 10 else None), exc.errors, values_of(form), 422)
    return RedirectResponse(f"/deployments/posts/{post_id}?day={day}", status_code=303)


@router.post("/deployments/shifts/{shift_id}/members", response_class=HTMLResponse)
def add_member_page(request: Request, shift_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = rosters.MemberInput(kind=get(form, "kind"), user_id=optional_id(form, "user_id"), name=get(form, "name"),
                               hours=number(form, "hours"))
    with work(request) as w:
        post, shift = rosters.get_shift(w.session, w.user, shift_id)
        post_id, day = post.id, shift.day
    try:
        with work(request) as w:
            rosters.add_member(w.session, w.user, shift_id, data)
    except ValidationFailed as exc:
        errors = [FieldError(f"shift.{shift_id}.{e.field}", e.message, e.params) for e in exc.errors]
        return _roster(request, post_id, day, errors, {f"shift.{shift_id}.{k}": v for k, v in values_of(form).items()},
                       422)
    return RedirectResponse(f"/deployments/posts/{post_id}?day={day.isoformat()}#shift-{shift_id}", status_code=303)


@router.post("/deployments/shifts/{shift_id}/delete")
def delete_shift_page(request: Request, shift_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        shift = rosters.delete_shift(w.session, w.user, shift_id)
        target = f"/deployments/posts/{shift.post_id}?day={shift.day.isoformat()}"
    return RedirectResponse(target, status_code=303)


@router.post("/deployments/members/{member_id}/delete")
def remove_member_page(request: Request, member_id: Id, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    with work(request) as w:
        member = rosters.remove_member(w.session, w.user, member_id)
        post, shift = rosters.get_shift(w.session, w.user, member.shift_id)
        target = f"/deployments/posts/{post.id}?day={shift.day.isoformat()}"
    return RedirectResponse(target, status_code=303)


def _secondments(request: Request, errors: list[Any], values: dict[str, Any], status: int = 200) -> HTMLResponse:
    with work(request) as w:
        items = rosters.visible_secondments(w.session, w.user)
        unit_names = dict(w.session.execute(select(Unit.id, Unit.name)).all())
        user_ids = {s.user_id for s in items if s.user_id}
        user_names = dict(w.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
        all_units = [(u.id, u.name) for u in w.session.execute(select(Unit).where(Unit.kind != UnitKind.AGENCY)
                                                               .order_by(Unit.path)).scalars()]
        ctx = {**labels(), "items": items, "unit_names": unit_names, "user_names": user_names, "errors": errors,
               "values": values, "units": all_units, "users": _users(w), "can_manage": can(w.user, DEPLOYMENT_MANAGE)}
    return render(request, "deployments/secondments.html", ctx, status)


@router.get("/deployments/secondments", response_class=HTMLResponse)
def secondments_page(request: Request) -> HTMLResponse:
    return _secondments(request, [], {})


@router.post("/deployments/secondments", response_class=HTMLResponse)
def add_secondment_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    data = rosters.SecondmentInput(user_id=optional_id(form, "user_id"), name=get(form, "name"),
                                   kind=get(form, "kind") or "police", home_unit_id=optional_id(form, "home_unit_id"),
                                   unit_id=optional_id(form, "unit_id"), starts_on=get(form, "starts_on"),
                                   ends_on=get(form, "ends_on"), note=get(form, "note"))
    try:
        with work(request) as w:
            rosters.add_secondment(w.session, w.user, data)
    except ValidationFailed as exc:
        return _secondments(request, exc.errors, values_of(form), 422)
    return RedirectResponse("/deployments/secondments", status_code=303)


def _log(request: Request, day: date, unit_id: int | None, errors: list[Any], status: int = 200) -> HTMLResponse:
    with work(request) as w:
        rows = daylog.day_log(w.session, w.user, day)
        target = next((r for r in rows if r.unit.id == unit_id), rows[0] if rows else None)
        history = daylog.corrections_of(w.session, w.user, target.unit.id, day) if target else []
        ctx = {**labels(), "rows": rows, "day": day, "target": target, "history": history, "errors": errors,
               "can_manage": can(w.user, DEPLOYMENT_MANAGE), "prev_day": day - timedelta(days=1),
               "next_day": day + timedelta(days=1)}
    return render(request, "deployments/log.html", ctx, status)


@router.get("/deployments/log", response_class=HTMLResponse)
def log_page(request: Request, day: Day = None, unit_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
             ) -> HTMLResponse:
    return _log(request, page_day(day), unit_id, [])


@router.post("/deployments/log", response_class=HTMLResponse)
def correct_log_page(request: Request, form: Annotated[FormData, Depends(checked_form)]) -> Response:
    day, unit_id = get(form, "day"), optional_id(form, "unit_id")
    try:
        with work(request) as w:
            daylog.correct_log(w.session, w.user, unit_id, day, {k: get(form, k) for k in daylog.FIELDS},
                               get(form, "reason"))
    except ValidationFailed as exc:
        return _log(request, page_day(day if len(day) == 10 else None), unit_id, exc.errors, 422)
    return RedirectResponse(f"/deployments/log?day={day}&unit_id={unit_id}", status_code=303)


@router.get("/deployments/posts.xlsx")
def posts_download(request: Request) -> Response:
    with work(request) as w:
        data = sheets.posts_sheet(w.session, w.user)
    return _download(data, "posts.xlsx")


@router.get("/deployments/log.xlsx")
def log_download(request: Request, day: Day = None) -> Response:
    the_day = page_day(day)
    with work(request) as w:
        data = sheets.log_sheet(w.session, w.user, the_day)
    return _download(data, f"deployment-log-{the_day.isoformat()}.xlsx")
