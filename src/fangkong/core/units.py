"""Administration use cases: the jurisdiction tree (units and their areas) and user accounts."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from fangkong.core import audit
from fangkong.core.access import (
    PERSONAL_DATA_ROLES,
    UNIT_MANAGE,
    USER_GRANT,
    USER_MANAGE,
    can,
    require,
    restrict,
    scope_path,
)
from fangkong.core.auth import forget_tokens, hash_password
from fangkong.core.codes import lookup_area
from fangkong.core.db import utcnow
from fangkong.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import ApiToken, Role, Unit, UnitArea, UnitKind, User, UserSession
from fangkong.core.settings import Settings


def unit_tree(session: Session, user: User) -> list[Unit]:
    """Return the units of the user's jurisdiction in tree order (by path)."""
    stmt = select(Unit).where(Unit.path.startswith(scope_path(user), autoescape=True)).options(selectinload(Unit.areas))
    units = list(session.execute(stmt).scalars())
    # Tree order: siblings by name. Sorting on the chain of names keeps children under their parent.
    by_id = {u.id: u for u in units}

    def key(unit: Unit) -> list[str]:
        chain = [int(x) for x in unit.path.strip("/").split("/")]
        return [by_id[i].name if i in by_id else "" for i in chain]

    return sorted(units, key=key)


def get_unit_in_scope(session: Session, user: User, unit_id: int) -> Unit:
    unit = session.execute(restrict(select(Unit).where(Unit.id == unit_id), user, Unit.id)).scalar_one_or_none()
    if unit is None:
        raise NotFound()
    return unit


def district_code_of(session: Session, unit: Unit) -> str | None:
    """Return the nearest GB/T 2260 code on the unit's path (its own, else an ancestor's)."""
    ids = [int(x) for x in unit.path.strip("/").split("/")]
    rows = dict(session.execute(select(Unit.id, Unit.area_code).where(Unit.id.in_(ids))).all())
    for unit_id in reversed(ids):
        if rows.get(unit_id):
            return rows[unit_id]
    return None


@dataclass
class UnitInput:
    name: str = ""
    code: str = ""
    kind: str = UnitKind.STATION
    parent_id: int | None = None
    area_code: str = ""
    areas: list[str] = field(default_factory=list)  # named streets/towns/communities owned


def _clean_unit(
    session: Session, user: User, data: UnitInput, unit: Unit | None
) -> tuple[Unit | None, list[FieldError]]:
    errors: list[FieldError] = []
    data.name = " ".join(data.name.split())
    data.code = data.code.strip()
    data.area_code = data.area_code.strip()
    if not data.name:
        errors.append(FieldError("name", N_("Enter the name.")))
    if not data.code:
        errors.append(FieldError("code", N_("Enter the code.")))
    if data.kind not in set(UnitKind):
        errors.append(FieldError("kind", N_("Unknown unit kind.")))
    if data.area_code and lookup_area(data.area_code) is None:
        errors.append(FieldError("area_code", N_("Unknown area code {code}."), {"code": data.area_code}))
    parent = None
    if data.parent_id is not None:
        try:
            parent = get_unit_in_scope(session, user, data.parent_id)
        except NotFound:
            errors.append(FieldError("parent_id", N_("Unknown unit.")))
        if parent is not None and unit is not None and parent.path.startswith(unit.path):
            errors.append(FieldError("parent_id", N_("A unit cannot be placed under itself.")))
    elif unit is None or unit.parent_id is not None:
        errors.append(FieldError("parent_id", N_("Choose the parent unit.")))
    clash = select(Unit.id).where(Unit.code == data.code)
    if unit is not None:
        clash = clash.where(Unit.id != unit.id)
    if data.code and session.execute(clash).first():
        errors.append(FieldError("code", N_("This code is already used.")))
    return parent, errors


def _set_areas(session: Session, unit: Unit, names: list[str]) -> None:
    code = district_code_of(session, unit)
    wanted = {" ".join(n.split()) for n in names if n.strip()}
    if wanted and code is None:
        raise ValidationFailed.one("areas", N_("Give the unit or one of its parents an area code first."))
    taken = session.execute(
        select(UnitArea.name, Unit.name).join(Unit).where(
            UnitArea.area_code == code, UnitArea.name.in_(wanted), UnitArea.unit_id != unit.id)
    ).first()
    if taken:
        raise ValidationFailed.one("areas", N_("{area} is already owned by {unit}."), area=taken[0], unit=taken[1])
    unit.areas = [a for a in unit.areas if a.name in wanted]
    have = {a.name for a in unit.areas}
    unit.areas.extend(UnitArea(area_code=code, name=n) for n in sorted(wanted - have))


def create_unit(session: Session, user: User, data: UnitInput) -> Unit:
    """Create a unit under a parent in the admin's jurisdiction, with the areas it owns."""
    require(user, UNIT_MANAGE)
    parent, errors = _clean_unit(session, user, data, None)
    if errors:
        raise ValidationFailed(errors)
    unit = Unit(name=data.name, code=data.code, kind=data.kind, parent_id=parent.id if parent else None,
                area_code=data.area_code or None, path="")
    session.add(unit)
    session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    session.flush()
    _set_areas(session, unit, data.areas)
    return unit


def update_unit(session: Session, user: User, unit_id: int, data: UnitInput) -> Unit:
    """Change a unit; moving it re-roots its whole subtree."""
    require(user, UNIT_MANAGE)
    unit = get_unit_in_scope(session, user, unit_id)
    parent, errors = _clean_unit(session, user, data, unit)
    if errors:
        raise ValidationFailed(errors)
    unit.name, unit.code, unit.kind, unit.area_code = data.name, data.code, data.kind, data.area_code or None
    if parent is not None and parent.id != unit.parent_id:
        old, new = unit.path, parent.path + f"{unit.id}/"
        for child in session.execute(select(Unit).where(Unit.path.startswith(old, autoescape=True))).scalars():
            child.path = new + child.path[len(old):]
        unit.parent_id = parent.id
    session.flush()
    _set_areas(session, unit, data.areas)
    return unit


def _audit_user_change(session: Session, user: User, data: UserInput) -> bool:
    """Record a reset, role change or deactivation; return whether the user's logins must end."""
    if data.password:
        audit.record(session, "password_reset", "users", user.id)
    if data.role != user.role:
        audit.record(session, "role_change", "users", user.id, old=user.role, new=data.role)
    if user.active and not data.active:
        audit.record(session, "deactivate", "users", user.id)
    return bool(data.password) or data.role != user.role or data.unit_id != user.unit_id or not data.active


def revoke_logins(session: Session, user_id: int) -> None:
    """End a user's browser sessions and API tokens (reset, deactivation, new role or unit)."""
    now = utcnow()
    session.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def list_users(session: Session, user: User) -> list[User]:
    require(user, USER_MANAGE)
    stmt = restrict(select(User), user, User.unit_id).order_by(User.username)
    return list(session.execute(stmt).unique().scalars())


@dataclass
class UserInput:
    username: str = ""
    display_name: str = ""
    role: str = ""
    unit_id: int | None = None
    password: str = ""
    active: bool = True


def _clean_user(session: Session, admin: User | None, data: UserInput, existing: User | None) -> list[FieldError]:
    errors: list[FieldError] = []
    data.username = data.username.strip()
    data.display_name = " ".join(data.display_name.split())
    if existing is None and (not data.username or not data.username.replace("_", "").replace(".", "").isalnum()
                             or not data.username.isascii() or len(data.username) > 64):
        errors.append(FieldError("username", N_("Use letters, digits, dots and underscores.")))
    if not data.display_name:
        errors.append(FieldError("display_name", N_("Enter the name.")))
    if data.role not in set(Role):
        errors.append(FieldError("role", N_("Unknown role.")))
    if not _unit_exists(session, admin, data.unit_id):
        errors.append(FieldError("unit_id", N_("Unknown unit.")))
    return errors


def _unit_exists(session: Session, admin: User | None, unit_id: int | None) -> bool:
    if unit_id is None:
        return False
    if admin is None:
        return session.get(Unit, unit_id) is not None
    try:
        get_unit_in_scope(session, admin, unit_id)
    except NotFound:
        return False
    return True


ONLY_COMMAND_GRANTS = N_("Only the command centre may give a role with access to personal data.")


def _require_user_admin(actor: User) -> None:
    if not (can(actor, USER_MANAGE) or can(actor, USER_GRANT)):
        raise Forbidden()


def _check_grant(actor: User, role: str, old_role: str | None) -> None:
    """Refuse a new personal-data role unless the actor may grant it (separation of duties, issue 17)."""
    if role in PERSONAL_DATA_ROLES and role != old_role and not can(actor, USER_GRANT):
        raise Forbidden(ONLY_COMMAND_GRANTS)


def create_user(session: Session, settings: Settings, admin: User, data: UserInput) -> User:
    """Create a login with a role in a unit of the admin's jurisdiction (personal-data roles: command only)."""
    _require_user_admin(admin)
    return _insert_user(session, settings, admin, data)


def create_user_unchecked(session: Session, settings: Settings, data: UserInput) -> User:
    """Create a login from the command line (the operator of the server; there may be no admin yet)."""
    return _insert_user(session, settings, None, data)


def _insert_user(session: Session, settings: Settings, admin: User | None, data: UserInput) -> User:
    errors = _clean_user(session, admin, data, None)
    if errors:
        raise ValidationFailed(errors)
    if admin is not None:
        _check_grant(admin, data.role, None)
    if session.execute(select(User.id).where(User.username == data.username)).first():
        raise Conflict(N_("This username is taken."))
    user = User(username=data.username, display_name=data.display_name, role=data.role,
                unit_id=data.unit_id, active=data.active, password_hash=hash_password(settings, data.password))
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, settings: Settings, admin: User, user_id: int, data: UserInput,
                unlock: bool = False) -> User:
    """Change a user's name, role, unit or state; a non-empty password resets it.

    Each reset, role change and deactivation is audited on its own (the password hash is hidden from
    the change rows, so a reset alone left no trace), and ends the user's sessions and API tokens.
    """
    _require_user_admin(admin)
    stmt = restrict(select(User).where(User.id == user_id), admin, User.unit_id)
    user = session.execute(stmt).unique().scalar_one_or_none()
    if user is None:
        raise NotFound()
    errors = _clean_user(session, admin, data, user)
    if errors:
        raise ValidationFailed(errors)
    _check_grant(admin, data.role, user.role)
    revoke = _audit_user_change(session, user, data)
    assert data.unit_id is not None  # _clean_user refused a missing unit
    user.display_name, user.role, user.unit_id, user.active = data.display_name, data.role, data.unit_id, data.active
    if data.password:
        user.password_hash = hash_password(settings, data.password)
    if unlock:
        user.failed_logins, user.locked_until = 0, None
        audit.record(session, "unlock", "users", user.id)
    if revoke:
        revoke_logins(session, user.id)
    session.flush()
    forget_tokens()  # its API tokens are checked again on their next request (role, unit, active)
    return user
