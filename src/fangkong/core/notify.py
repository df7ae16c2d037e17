"""In-app notifications: what the platform tells a unit (or one user) without anyone having to look.

A notification is addressed to a unit (every user of that unit sees it) or to one user. The rule that
raised it (an escalation, a missing daily report, a post below strength) writes it in its own
transaction, so it exists exactly when the event does. `dedupe_key` makes raising idempotent: the
scheduler may evaluate a rule every minute and the unit is told once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from fangkong.core.db import Base, UTCDateTime, utcnow
from fangkong.core.models import User


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # escalation | report_missing | referral_overdue …
    message: Mapped[str] = mapped_column(String(255))  # msgid, translated when shown
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON parameters of the message (no personal data)
    href: Mapped[str] = mapped_column(String(255), default="/")
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class NotificationRead(Base):
    __tablename__ = "notification_reads"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"),
                                                 primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True)
class Notice:
    id: int
    kind: str
    message: str
    params: dict[str, Any]
    href: str
    at: datetime
    read: bool


def notify(session: Session, *, kind: str, message: str, href: str, unit_id: int | None = None,
           user_id: int | None = None, dedupe_key: str | None = None, **params: Any) -> bool:
    """Tell a unit (or a user); return False when the same `dedupe_key` was raised before."""
    values = {"unit_id": unit_id, "user_id": user_id, "kind": kind, "message": message, "href": href,
              "params": json.dumps(params, ensure_ascii=False, default=str), "dedupe_key": dedupe_key,
              "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Notification.__table__).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # RETURNING, not rowcount: psycopg reports a row for an INSERT that ON CONFLICT skipped
    return session.connection().execute(stmt.returning(Notification.__table__.c.id)).first() is not None


def _mine(user: Any) -> Any:  # a User or a page's Viewer: its id and unit id
    return or_(Notification.user_id == user.id, (Notification.unit_id == user.unit_id) & Notification.user_id.is_(None))


def unread_count(session: Session, user: Any) -> int:
    read = select(NotificationRead.notification_id).where(NotificationRead.user_id == user.id)
    return session.execute(select(func.count(Notification.id)).where(
        _mine(user), Notification.id.not_in(read))).scalar_one()


def notices(session: Session, user: User, limit: int = 50) -> list[Notice]:
    """Return the user's newest notifications, with whether each was read."""
    read = set(session.execute(select(NotificationRead.notification_id)
                               .where(NotificationRead.user_id == user.id)).scalars())
    rows = session.execute(select(Notification).where(_mine(user))
                           .order_by(Notification.id.desc()).limit(limit)).scalars()
    return [Notice(n.id, n.kind, n.message, json.loads(n.params), n.href, n.created_at, n.id in read) for n in rows]


def mark_read(session: Session, user: User) -> int:
    """Mark every notification of the user as read; return how many were unread."""
    read = select(NotificationRead.notification_id).where(NotificationRead.user_id == user.id)
    ids = session.execute(select(Notification.id).where(_mine(user), Notification.id.not_in(read))).scalars().all()
    session.add_all([NotificationRead(notification_id=i, user_id=user.id) for i in ids])
    return len(ids)


__all__ = ["Notice", "Notification", "NotificationRead", "mark_read", "notices", "notify", "unread_count"]
