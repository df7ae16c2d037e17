"""Venue tables: venues with their venue code, visits (entry/exit registration), inspections and closures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core.db import Base, UTCDateTime, utcnow


class Venue(Base):
    """A place the public scans into (场所). Its code is a random token, never the id (issue 6)."""

    __tablename__ = "venues"
    __audited__ = True
    __audit_masked__ = ("token",)  # the audit log records that the code changed, not the code

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))  # see registration.venues.KINDS
    address: Mapped[str] = mapped_column(String(255), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # owning unit (jurisdiction)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # secrets.token_urlsafe(16): 22 characters
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Visit(Base):
    """One check-in (and perhaps its check-out) at a venue; also a presence record for tracing.

    Written by the check-in writer in batches (registration.checkin); `person_id` is filled by the
    linking step after the acknowledgement (registration.venues.link_pending_visits).
    """

    __tablename__ = "visits"
    __audited__ = True
    __audit_masked__ = ("name", "phone")
    __table_args__ = (Index("ix_visits_venue_in", "venue_id", "checked_in_at"),
                      Index("ix_visits_unlinked", "person_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(32), unique=True)  # the form's nonce: a retry is idempotent
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(11))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Inspection(Base):
    """An inspection of a venue or a closure order on it, with its status (open → closed → reopened …)."""

    __tablename__ = "venue_inspections"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # inspection | closure
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | closed | reopened
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the recording user's unit
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
