"""Supervision (督导): leaders' visits to posts and units, their findings and rectification items."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow


class SupervisionVisit(Base):
    __tablename__ = "supervision_visits"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the unit visited
    post_id: Mapped[int | None] = mapped_column(ForeignKey("deployment_posts.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date, index=True)
    leader: Mapped[str] = mapped_column(String(100))
    findings: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[RectificationItem]] = relationship(order_by="RectificationItem.id", lazy="selectin",
                                                          cascade="all, delete-orphan")


class RectificationItem(Base):
    """Something to put right by a deadline; closed when rectified."""

    __tablename__ = "supervision_items"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("supervision_visits.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(500))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | rectified
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rectified_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(500), default="")
