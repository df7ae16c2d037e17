"""Core JSON API: tokens, the current user, units, users, the audit log."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fangkong.core.access import AUDIT_READ, ROLE_LABELS, UNIT_MANAGE, USER_GRANT, USER_MANAGE, require
from fangkong.core.audit import AuditFilter, search_entries
from fangkong.core.audit_anchor import verify_anchored
from fangkong.core.auth import attempt_login, issue_token
from fangkong.core.context import acting_as
from fangkong.core.i18n import gettext
from fangkong.core.models import Unit, User
from fangkong.core.ratelimit import login_throttle
from fangkong.core.units import (
    UnitInput,
    UserInput,
    create_unit,
    create_user,
    list_users,
    unit_tree,
    update_unit,
    update_user,
)
from fangkong.core.web.params import BodyId, EventTime, Id, PageNo
from fangkong.core.web.work import actor_for, client_ip, guard, guard_any, public_work, work

router = APIRouter(prefix="/api/v1")


class TokenIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class UnitOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    area_code: str | None
    areas: list[str]

    @classmethod
    def of(cls, unit: Unit) -> UnitOut:
        return cls(id=unit.id, code=unit.code, name=unit.name, kind=unit.kind, parent_id=unit.parent_id,
                   area_code=unit.area_code, areas=[a.name for a in unit.areas])


class UnitIn(BaseModel):
    name: str = Field(max_length=100)
    code: str = Field(max_length=32)
    kind: str = Field(description="city, district, station or agency")
    parent_id: BodyId | None = None
    area_code: str = Field("", max_length=6, description="GB/T 2260 code")
    areas: list[str] = Field(default_factory=list, description="Named streets, towns, communities owned")


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    unit_id: int
    unit_name: str
    active: bool
    locked_until: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   role_label=gettext(ROLE_LABELS[user.role]), unit_id=user.unit_id, unit_name=user.unit.name,
                   active=user.active, locked_until=user.locked_until)


class UserIn(BaseModel):
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=100)
    role: str
    unit_id: BodyId
    password: str = Field("", max_length=256, description="At least 10 characters; empty keeps the old one")
    active: bool = True
    unlock: bool = False


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str
    role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    detail: str
    ip: str | None
    request_id: str | None
    purpose: str | None
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditOut]
    total: int
    page: int
    pages: int


class ChainOut(BaseModel):
    ok: bool
    rows: int
    first_bad_id: int | None
    reason: str | None
    anchored_id: int | None = None


@router.post("/auth/token", response_model=TokenOut, tags=["auth"])
def token(request: Request, body: TokenIn) -> TokenOut:
    """Exchange a username and password for a bearer token (same lockout rules as the login page)."""
    settings = request.app.state.settings
    with public_work(request) as session:
        attempt = attempt_login(session, settings, body.username, body.password, login_throttle(request),
                                client_ip(request) or "-")
        if attempt.user is not None:
            with acting_as(actor_for(request, attempt.user)):
                issued = issue_token(session, settings, attempt.user)
    if attempt.error is not None:
        raise attempt.error
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.get("/me", response_model=UserOut, tags=["auth"])
def me(request: Request) -> UserOut:
    """Return the user the token belongs to."""
    with work(request) as w:
        return UserOut.of(w.user)


@router.get("/units", response_model=list[UnitOut], tags=["admin"])
def units(request: Request) -> list[UnitOut]:
    """List the units of your jurisdiction in tree order."""
    with work(request) as w:
        require(w.user, UNIT_MANAGE)
        return [UnitOut.of(u) for u in unit_tree(w.session, w.user)]


@router.post("/units", response_model=UnitOut, status_code=201, tags=["admin"], dependencies=[guard(UNIT_MANAGE)])
def add_unit(request: Request, body: UnitIn) -> UnitOut:
    with work(request) as w:
        return UnitOut.of(create_unit(w.session, w.user, UnitInput(**body.model_dump())))


@router.put("/units/{unit_id}", response_model=UnitOut, tags=["admin"], dependencies=[guard(UNIT_MANAGE)])
def change_unit(request: Request, unit_id: Id, body: UnitIn) -> UnitOut:
    with work(request) as w:
        return UnitOut.of(update_unit(w.session, w.user, unit_id, UnitInput(**body.model_dump())))


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def users(request: Request) -> list[UserOut]:
    with work(request) as w:
        return [UserOut.of(u) for u in list_users(w.session, w.user)]


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"],
             dependencies=[guard_any(USER_MANAGE, USER_GRANT)])
def add_user(request: Request, body: UserIn) -> UserOut:
    with work(request) as w:
        data = UserInput(**body.model_dump(exclude={"unlock"}))
        return UserOut.of(create_user(w.session, request.app.state.settings, w.user, data))


@router.put("/users/{user_id}", response_model=UserOut, tags=["admin"],
            dependencies=[guard_any(USER_MANAGE, USER_GRANT)])
def change_user(request: Request, user_id: Id, body: UserIn) -> UserOut:
    with work(request) as w:
        data = UserInput(**body.model_dump(exclude={"unlock"}))
        return UserOut.of(update_user(w.session, request.app.state.settings, w.user, user_id, data, body.unlock))


@router.get("/audit", response_model=AuditPageOut, tags=["audit"])
def audit_log(request: Request, username: str = "", action: str = "", object_type: str = "", object_id: str = "",
              since: EventTime | None = None, until: EventTime | None = None,
              page: PageNo = 1) -> AuditPageOut:
    """Filter the audit log, newest first (auditors only)."""
    flt = AuditFilter(username, action, object_type, object_id, since, until)
    with work(request) as w:
        result = search_entries(w.session, w.user, flt, page, request.app.state.settings.page_size)
        items = [AuditOut.model_validate(e, from_attributes=True) for e in result.rows]
    return AuditPageOut(items=items, total=result.total, page=result.page, pages=result.pages)


@router.get("/audit/verify", response_model=ChainOut, tags=["audit"])
def audit_verify(request: Request) -> ChainOut:
    """Recompute the audit hash chain and report the first broken entry, if any."""
    with work(request) as w:
        require(w.user, AUDIT_READ)
        report = verify_anchored(w.session, request.app.state.settings)
    return ChainOut(**report.__dict__)
