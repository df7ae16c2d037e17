"""Supervision (督导): leaders visit posts and units, write findings and rectification items with
deadlines; the visited unit reports each item rectified. Open items past their deadline are overdue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import require, restrict
from fangkong.core.context import current_actor
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.deployments.models import RectificationItem, SupervisionVisit
from fangkong.deployments.posts import get_post, visible_unit
from fangkong.deployments.rules import (
    CHOOSE,
    SUPERVISION_READ,
    SUPERVISION_RECTIFY,
    SUPERVISION_WRITE,
    day_of,
    local_today,
    text,
)

ALREADY_RECTIFIED = N_("This item was already reported rectified.")
DUE_BEFORE_VISIT = N_("The deadline lies before the visit.")
IN_FUTURE = N_("This date lies in the future.")


def visible_visits(user: User) -> Select[SupervisionVisit]:
    return restrict(select(SupervisionVisit), user, SupervisionVisit.unit_id)


def list_visits(session: Session, user: User, limit: int = 200) -> list[SupervisionVisit]:
    require(user, SUPERVISION_READ)
    stmt = visible_visits(user).order_by(SupervisionVisit.visited_on.desc(), SupervisionVisit.id.desc())
    return list(session.execute(stmt.limit(limit)).scalars())


def get_visit(session: Session, user: User, visit_id: int, action: str = SUPERVISION_READ) -> SupervisionVisit:
    require(user, action)
    found = session.execute(visible_visits(user).where(SupervisionVisit.id == visit_id)).scalar_one_or_none()
    if found is None:
        raise NotFound()
    return found


@dataclass
class ItemInput:
    description: str = ""
    due_on: date | str | None = None


@dataclass
class VisitInput:
    unit_id: int | None = None
    post_id: int | None = None
    visited_on: date | str | None = None
    leader: str = ""
    findings: str = ""
    items: list[ItemInput] = field(default_factory=list)


def record_visit(session: Session, user: User, data: VisitInput) -> SupervisionVisit:
    """Record a supervision visit to a unit (or one of its posts) with its rectification items."""
    require(user, SUPERVISION_WRITE)
    errors: list[FieldError] = []
    leader = text(errors, "leader", data.leader, 100, required=True)
    findings = text(errors, "findings", data.findings, 5000)
    visited = day_of(errors, "visited_on", data.visited_on)
    if visited and visited > local_today():
        errors.append(FieldError("visited_on", IN_FUTURE))
    unit_id = get_post(session, user, data.post_id).unit_id if data.post_id else data.unit_id
    if visible_unit(session, user, unit_id) is None:
        errors.append(FieldError("unit_id", CHOOSE))
    items = [_item(errors, f"items.{i}.", item, visited) for i, item in enumerate(data.items)]
    if errors:
        raise ValidationFailed(errors)
    visit = SupervisionVisit(unit_id=unit_id, post_id=data.post_id, visited_on=visited, leader=leader,
                             findings=findings, recorded_by=current_actor.get().username)
    visit.items = [i for i in items if i is not None]
    session.add(visit)
    session.flush()
    return visit


def _item(errors: list[FieldError], prefix: str, data: ItemInput, visited: date | None) -> RectificationItem | None:
    before = len(errors)
    description = text(errors, prefix + "description", data.description, 500, required=True)
    due = day_of(errors, prefix + "due_on", data.due_on)
    if due and visited and due < visited:
        errors.append(FieldError(prefix + "due_on", DUE_BEFORE_VISIT))
    if len(errors) > before:
        return None
    return RectificationItem(description=description, due_on=due, status="open")


def add_item(session: Session, user: User, visit_id: int, data: ItemInput) -> RectificationItem:
    visit = get_visit(session, user, visit_id, SUPERVISION_WRITE)
    errors: list[FieldError] = []
    item = _item(errors, "", data, visit.visited_on)
    if errors or item is None:
        raise ValidationFailed(errors)
    item.visit_id = visit.id
    session.add(item)
    session.flush()
    return item


def rectify_item(session: Session, user: User, item_id: int, note: str) -> RectificationItem:
    """Report an item rectified (compare-and-swap on its open status: reported once)."""
    item = session.get(RectificationItem, item_id)
    if item is None:
        raise NotFound()
    get_visit(session, user, item.visit_id, SUPERVISION_RECTIFY)
    errors: list[FieldError] = []
    note = text(errors, "note", note, 500, required=True)
    if errors:
        raise ValidationFailed(errors)
    changed = rowcount(session.execute(update(RectificationItem).where(RectificationItem.id == item.id,
                                                                       RectificationItem.status == "open")
                                       .values(status="rectified", rectified_at=utcnow(), note=note,
                                               rectified_by=current_actor.get().username)))
    if changed != 1:
        raise Conflict(ALREADY_RECTIFIED)
    audit.record(session, "status", "supervision_items", item.id, old="open", new="rectified")
    session.refresh(item)
    return item


def open_items(session: Session, user: User, overdue_only: bool = False) -> list[tuple[RectificationItem,
                                                                                       SupervisionVisit]]:
    """Return the open rectification items of the jurisdiction, earliest deadline first."""
    require(user, SUPERVISION_READ)
    stmt = (restrict(select(RectificationItem, SupervisionVisit), user, SupervisionVisit.unit_id)
            .join(SupervisionVisit, SupervisionVisit.id == RectificationItem.visit_id)
            .where(RectificationItem.status == "open"))
    if overdue_only:
        stmt = stmt.where(RectificationItem.due_on < local_today())
    rows = session.execute(stmt.order_by(RectificationItem.due_on, RectificationItem.id).limit(500)).all()
    return [(item, visit) for item, visit in rows]


def is_overdue(item: RectificationItem, today: date | None = None) -> bool:
    return item.status == "open" and item.due_on < (today or local_today())
