"""Rosters: the shifts of a post for a day and who and what is on each; secondments (下沉).

Two rules keep a roster true to the ground: a post's shifts do not overlap (so "on duty now" is one
shift), and nobody (officer, volunteer, vehicle, drone) stands on two shifts at once, at any post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from fangkong.core.access import in_jurisdiction, require, restrict
from fangkong.core.clock import LOCAL_TZ, local_time
from fangkong.core.errors import FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, User
from fangkong.deployments.models import Post, Secondment, Shift, ShiftMember
from fangkong.deployments.posts import get_post, visible_unit, visible_user
from fangkong.deployments.rules import (
    CHOOSE,
    DEPLOYMENT_MANAGE,
    DEPLOYMENT_READ,
    MEMBER_KINDS,
    OFFICERS,
    PATTERNS,
    REQUIRED,
    day_of,
    day_start,
    moment,
    text,
)

ENDS_BEFORE_START = N_("The shift ends before it starts.")
TOO_LONG_SHIFT = N_("A shift lasts at most 24 hours.")
NOT_ON_DAY = N_("The shift must start on its roster day ({day}).")
OVERLAPS = N_("This shift overlaps the shift {label} ({start}–{end}) of this post.")
BUSY = N_("{who} is already on duty at {post} from {start} to {end}.")
NAME_OR_USER = N_("Choose a user or type a name.")
UNKNOWN_OFFICER = N_("No such officer in your jurisdiction or seconded to it.")
BAD_HOURS = N_("Give the flight hours, from 0 to 24.")
ENDS_BEFORE_STARTS_ON = N_("The secondment ends before it starts.")
SAME_UNIT = N_("The host unit must differ from the home unit.")
MAX_SHIFT = timedelta(hours=24)


@dataclass
class MemberInput:
    kind: str = "police"
    user_id: int | None = None
    name: str = ""
    hours: float | None = None


@dataclass
class ShiftInput:
    day: date | str | None = None
    starts_at: datetime | str | None = None
    ends_at: datetime | str | None = None
    label: str = ""
    members: list[MemberInput] = field(default_factory=list)


def roster(session: Session, user: User, post_id: int, day: date) -> list[Shift]:
    post = get_post(session, user, post_id)
    return list(session.execute(select(Shift).where(Shift.post_id == post.id, Shift.day == day)
                                .order_by(Shift.starts_at, Shift.id)).scalars())


def _span(f: Shift | ShiftInput) -> str:
    return f"{local_time(f.starts_at, '%m-%d %H:%M')}–{local_time(f.ends_at, '%H:%M')}"  # type: ignore[arg-type]


def _clean_times(data: ShiftInput, errors: list[FieldError]) -> tuple[date, datetime, datetime] | None:
    day = day_of(errors, "day", data.day)
    starts, ends = moment(errors, "starts_at", data.starts_at), moment(errors, "ends_at", data.ends_at)
    if day is None or starts is None or ends is None:
        return None
    if ends <= starts:
        errors.append(FieldError("ends_at", ENDS_BEFORE_START))
    elif ends - starts > MAX_SHIFT:
        errors.append(FieldError("ends_at", TOO_LONG_SHIFT))
    if starts.astimezone(LOCAL_TZ).date() != day:
        errors.append(FieldError("starts_at", NOT_ON_DAY, {"day": day.isoformat()}))
    return day, starts, ends


def _overlapping(session: Session, post_id: int, starts: datetime, ends: datetime) -> Shift | None:
    return session.execute(select(Shift).where(Shift.post_id == post_id, Shift.starts_at < ends,
                                               Shift.ends_at > starts).limit(1)).scalar_one_or_none()


def add_shift(session: Session, user: User, post_id: int, data: ShiftInput) -> Shift:
    """Add a shift (and its members) to a post's roster, refusing overlaps and double duty."""
    post = get_post(session, user, post_id, DEPLOYMENT_MANAGE)
    errors: list[FieldError] = []
    data.label = text(errors, "label", data.label, 50)
    times = _clean_times(data, errors)
    if times and not errors:
        other = _overlapping(session, post.id, times[1], times[2])
        if other is not None:
            errors.append(FieldError("starts_at", OVERLAPS, {"label": other.label or "#" + str(other.id),
                                                             "start": local_time(other.starts_at, "%m-%d %H:%M"),
                                                             "end": local_time(other.ends_at, "%H:%M")}))
    if errors or times is None:
        raise ValidationFailed(errors)
    shift = Shift(post_id=post.id, day=times[0], starts_at=times[1], ends_at=times[2], label=data.label)
    session.add(shift)
    session.flush()
    for index, member in enumerate(data.members):
        _add(session, user, post, shift, member, f"members.{index}.")
    return shift


def fill_pattern(session: Session, user: User, post_id: int, day: date | str | None, pattern: str) -> list[Shift]:
    """Add the empty shifts of a usual pattern for a day: three 8-hour shifts, or one 24-hour watch."""
    errors: list[FieldError] = []
    the_day = day_of(errors, "day", day)
    if pattern not in PATTERNS:
        errors.append(FieldError("pattern", CHOOSE))
    if errors or the_day is None:
        raise ValidationFailed(errors)
    start = day_start(the_day)
    if pattern == "watch_24h":  # 24-hour watch handed over at 08:00
        plan = [("24h", start + timedelta(hours=8), start + timedelta(hours=32))]
    else:  # 两组三班: three shifts the two groups take in turn
        plan = [(label, start + timedelta(hours=h), start + timedelta(hours=h + 8))
                for label, h in (("00-08", 0), ("08-16", 8), ("16-24", 16))]
    return [add_shift(session, user, post_id, ShiftInput(the_day, s, e, label)) for label, s, e in plan]


def get_shift(session: Session, user: User, shift_id: int, action: str = DEPLOYMENT_READ) -> tuple[Post, Shift]:
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise NotFound()
    return get_post(session, user, shift.post_id, action), shift


def add_member(session: Session, user: User, shift_id: int, data: MemberInput) -> ShiftMember:
    post, shift = get_shift(session, user, shift_id, DEPLOYMENT_MANAGE)
    return _add(session, user, post, shift, data, "")


def _seconded_here(session: Session, post: Post, day: date, user_id: int | None, name: str) -> Secondment | None:
    """Return the secondment that brings this officer to the post's unit (or a unit above it) on `day`."""
    who = Secondment.user_id == user_id if user_id else and_(Secondment.user_id.is_(None), Secondment.name == name)
    hosts = [int(x) for x in post_unit_path(session, post).strip("/").split("/")]  # the post's unit and those above
    stmt = select(Secondment).where(who, Secondment.unit_id.in_(hosts), Secondment.starts_on <= day,
                                    Secondment.ends_on >= day).limit(1)
    return session.execute(stmt).scalar_one_or_none()


def post_unit_path(session: Session, post: Post) -> str:
    return session.execute(select(Unit.path).where(Unit.id == post.unit_id)).scalar_one()


def _clean_member(session: Session, user: User, post: Post, shift: Shift, data: MemberInput,
                  prefix: str) -> ShiftMember:
    errors: list[FieldError] = []
    name = text(errors, prefix + "name", data.name, 100)
    if data.kind not in MEMBER_KINDS:
        raise ValidationFailed.one(prefix + "kind", CHOOSE)
    member = ShiftMember(shift_id=shift.id, kind=data.kind, name=name, home_unit_id=post.unit_id)
    if data.kind in OFFICERS and data.user_id is not None:
        officer = visible_user(session, user, data.user_id) or session.get(User, data.user_id)
        secondment = _seconded_here(session, post, shift.day, data.user_id, "") if officer else None
        if officer is None or (secondment is None and not in_jurisdiction(user, officer.unit)):
            raise ValidationFailed.one(prefix + "user_id", UNKNOWN_OFFICER)
        member.user_id, member.name, member.home_unit_id = officer.id, "", officer.unit_id  # the home unit stays
    elif not name:
        raise ValidationFailed.one(prefix + "name", NAME_OR_USER if data.kind in OFFICERS else REQUIRED)
    elif data.kind in OFFICERS:
        secondment = _seconded_here(session, post, shift.day, None, name)
        member.home_unit_id = secondment.home_unit_id if secondment else post.unit_id
    if data.kind == "drone":
        if data.hours is not None and not 0 <= data.hours <= 24:
            raise ValidationFailed.one(prefix + "hours", BAD_HOURS)
        member.hours = data.hours
    if errors:
        raise ValidationFailed(errors)
    return member


def _same_one(member: ShiftMember) -> ColumnElement[bool]:
    """Rows that stand for the same officer, vehicle or drone: the user, else the kind and the typed name."""
    if member.user_id:
        return ShiftMember.user_id == member.user_id
    kinds = list(OFFICERS) if member.kind in OFFICERS else [member.kind]
    return and_(ShiftMember.user_id.is_(None), ShiftMember.kind.in_(kinds), ShiftMember.name == member.name)


def _busy(session: Session, member: ShiftMember, shift: Shift) -> tuple[Shift, str] | None:
    stmt = (select(Shift, Post.name).join(ShiftMember, ShiftMember.shift_id == Shift.id)
            .join(Post, Post.id == Shift.post_id)
            .where(_same_one(member), Shift.starts_at < shift.ends_at, Shift.ends_at > shift.starts_at).limit(1))
    row = session.execute(stmt).first()
    return (row[0], row[1]) if row else None


def _add(session: Session, user: User, post: Post, shift: Shift, data: MemberInput, prefix: str) -> ShiftMember:
    member = _clean_member(session, user, post, shift, data, prefix)
    clash = _busy(session, member, shift)
    if clash is not None:
        other, post_name = clash
        who = session.get(User, member.user_id).display_name if member.user_id else member.name  # type: ignore[union-attr]
        name_field = prefix + ("user_id" if member.user_id else "name")
        raise ValidationFailed.one(name_field, BUSY, who=who, post=post_name,
                                   start=local_time(other.starts_at, "%m-%d %H:%M"),
                                   end=local_time(other.ends_at, "%m-%d %H:%M"))
    session.add(member)
    session.flush()
    return member


def remove_member(session: Session, user: User, member_id: int) -> ShiftMember:
    member = session.get(ShiftMember, member_id)
    if member is None:
        raise NotFound()
    get_shift(session, user, member.shift_id, DEPLOYMENT_MANAGE)
    session.delete(member)
    session.flush()
    return member


def delete_shift(session: Session, user: User, shift_id: int) -> Shift:
    _post, shift = get_shift(session, user, shift_id, DEPLOYMENT_MANAGE)
    session.delete(shift)
    session.flush()
    return shift


# --- secondments (下沉) -----------------------------------------------------------------------------

@dataclass
class SecondmentInput:
    user_id: int | None = None
    name: str = ""
    kind: str = "police"
    home_unit_id: int | None = None
    unit_id: int | None = None
    starts_on: date | str | None = None
    ends_on: date | str | None = None
    note: str = ""


def visible_secondments(session: Session, user: User) -> list[Secondment]:
    """Secondments into or out of the jurisdiction, latest first."""
    require(user, DEPLOYMENT_READ)
    inside = restrict(select(Unit.id), user, Unit.id)
    stmt = select(Secondment).where(or_(Secondment.unit_id.in_(inside), Secondment.home_unit_id.in_(inside)))
    return list(session.execute(stmt.order_by(Secondment.starts_on.desc(), Secondment.id.desc()).limit(500))
                .scalars())


def add_secondment(session: Session, user: User, data: SecondmentInput) -> Secondment:
    """Record an officer sent from a home unit to a host unit; the user must see one of the two."""
    require(user, DEPLOYMENT_MANAGE)
    errors: list[FieldError] = []
    name = text(errors, "name", data.name, 100)
    note = text(errors, "note", data.note, 255)
    starts, ends = day_of(errors, "starts_on", data.starts_on), day_of(errors, "ends_on", data.ends_on)
    if starts and ends and ends < starts:
        errors.append(FieldError("ends_on", ENDS_BEFORE_STARTS_ON))
    if data.kind not in OFFICERS:
        errors.append(FieldError("kind", CHOOSE))
    home_id = data.home_unit_id
    if data.user_id is not None:
        officer = session.get(User, data.user_id)
        home_id = officer.unit_id if officer and visible_user(session, user, officer.id) else None
        if home_id is None:
            errors.append(FieldError("user_id", UNKNOWN_OFFICER))
    elif not name:
        errors.append(FieldError("name", NAME_OR_USER))
    host = session.get(Unit, data.unit_id) if data.unit_id else None
    home = session.get(Unit, home_id) if home_id else None
    if host is None:
        errors.append(FieldError("unit_id", CHOOSE))
    if home is None and data.user_id is None:
        errors.append(FieldError("home_unit_id", CHOOSE))
    if host and home and host.id == home.id:
        errors.append(FieldError("unit_id", SAME_UNIT))
    if host and home and visible_unit(session, user, host.id) is None and visible_unit(session, user, home.id) is None:
        errors.append(FieldError("unit_id", CHOOSE))  # neither end is the user's to arrange
    if errors:
        raise ValidationFailed(errors)
    item = Secondment(user_id=data.user_id, name="" if data.user_id else name, kind=data.kind,
                      home_unit_id=home.id, unit_id=host.id, starts_on=starts, ends_on=ends, note=note)  # type: ignore[union-attr]
    session.add(item)
    session.flush()
    return item
