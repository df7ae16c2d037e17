"""Posts: the registry of fixed posts, who is on duty at each now, and the posts below strength."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from fangkong.core.access import require, restrict
from fangkong.core.db import utcnow
from fangkong.core.errors import FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, User
from fangkong.deployments.models import Post, Shift, ShiftMember
from fangkong.deployments.rules import CHOOSE, DEPLOYMENT_MANAGE, DEPLOYMENT_READ, OFFICERS, POST_KINDS, text

BAD_STRENGTH = N_("Give a number from 0 to {n}.")
UNKNOWN_USER = N_("No such user in your jurisdiction.")
MAX_STRENGTH = 500


def visible_posts(user: User) -> Select[Post]:
    return restrict(select(Post), user, Post.unit_id)


def list_posts(session: Session, user: User, active_only: bool = True) -> list[Post]:
    require(user, DEPLOYMENT_READ)
    stmt = visible_posts(user)
    if active_only:
        stmt = stmt.where(Post.active.is_(True))
    return list(session.execute(stmt.order_by(Post.unit_id, Post.name, Post.id)).scalars())


def get_post(session: Session, user: User, post_id: int, action: str = DEPLOYMENT_READ) -> Post:
    """Return a post the user may `action`; NotFound outside the jurisdiction, Forbidden for the role."""
    require(user, action)
    post = session.execute(visible_posts(user).where(Post.id == post_id)).scalar_one_or_none()
    if post is None:
        raise NotFound()
    return post


def visible_user(session: Session, user: User, user_id: int) -> User | None:
    return session.execute(restrict(select(User).where(User.id == user_id), user, User.unit_id)).unique() \
        .scalar_one_or_none()


def visible_unit(session: Session, user: User, unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    return session.execute(restrict(select(Unit).where(Unit.id == unit_id), user, Unit.id)).scalar_one_or_none()


@dataclass
class PostInput:
    name: str = ""
    kind: str = "checkpoint"
    location: str = ""
    unit_id: int | None = None
    chief_id: int | None = None
    chief_name: str = ""
    required_strength: int | None = 2
    active: bool = True


def _clean(session: Session, user: User, data: PostInput) -> list[FieldError]:
    errors: list[FieldError] = []
    data.name = text(errors, "name", data.name, 100, required=True)
    data.location = text(errors, "location", data.location, 255)
    data.chief_name = text(errors, "chief_name", data.chief_name, 100)
    if data.kind not in POST_KINDS:
        errors.append(FieldError("kind", CHOOSE))
    if visible_unit(session, user, data.unit_id) is None:
        errors.append(FieldError("unit_id", CHOOSE))
    if data.chief_id is not None:
        chief = visible_user(session, user, data.chief_id)
        if chief is None:
            errors.append(FieldError("chief_id", UNKNOWN_USER))
        elif not data.chief_name:
            data.chief_name = chief.display_name
    if data.required_strength is None or not 0 <= data.required_strength <= MAX_STRENGTH:
        errors.append(FieldError("required_strength", BAD_STRENGTH, {"n": MAX_STRENGTH}))
    return errors


def save_post(session: Session, user: User, data: PostInput, post_id: int | None = None) -> Post:
    """Create a post, or update one the user may manage."""
    require(user, DEPLOYMENT_MANAGE)
    post = get_post(session, user, post_id, DEPLOYMENT_MANAGE) if post_id else Post()
    errors = _clean(session, user, data)
    if errors:
        raise ValidationFailed(errors)
    for key in ("name", "kind", "location", "unit_id", "chief_id", "chief_name", "required_strength", "active"):
        setattr(post, key, getattr(data, key))
    session.add(post)
    session.flush()
    return post


@dataclass(frozen=True)
class Duty:
    """A post and its shift on duty at a moment: how many officers stand there against the strength it needs."""

    post: Post
    shift: Shift | None
    officers: int

    @property
    def short(self) -> bool:
        return self.post.active and self.officers < self.post.required_strength

    @property
    def missing(self) -> int:
        return max(0, self.post.required_strength - self.officers)


def officers_on(shift: Shift | None) -> int:
    return sum(1 for m in shift.members if m.kind in OFFICERS) if shift else 0


def current_shifts(session: Session, post_ids: Sequence[int], at: datetime) -> dict[int, Shift]:
    """Return the shift on duty at `at` for each post that has one (a post's shifts never overlap)."""
    if not post_ids:
        return {}
    stmt = select(Shift).where(Shift.post_id.in_(list(post_ids)), Shift.starts_at <= at, Shift.ends_at > at)
    return {s.post_id: s for s in session.execute(stmt).scalars()}


def duty_board(session: Session, user: User, at: datetime | None = None) -> list[Duty]:
    """Return every active post of the jurisdiction with who is on duty at `at` (now)."""
    posts = list_posts(session, user)
    shifts = current_shifts(session, [p.id for p in posts], at or utcnow())
    return [Duty(p, shifts.get(p.id), officers_on(shifts.get(p.id))) for p in posts]


def below_strength(session: Session, user: User, at: datetime | None = None) -> list[Duty]:
    """Return the posts with fewer officers on duty now than they need: the alert list."""
    return [d for d in duty_board(session, user, at) if d.short]


def shift_duty(post: Post, shift: Shift) -> Duty:
    return Duty(post, shift, officers_on(shift))


def member_names(session: Session, members: Sequence[ShiftMember]) -> dict[int, str]:
    """Return member id -> the name to show (a user's display name, else the typed name)."""
    ids = {m.user_id for m in members if m.user_id}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return {m.id: names.get(m.user_id, m.name) if m.user_id else m.name for m in members}
