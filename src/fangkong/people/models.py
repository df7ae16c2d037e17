"""Person files (一人一档): one row per person, whatever source first met them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow
from fangkong.core.models import Unit


class Person(Base):
    __tablename__ = "persons"
    __audited__ = True
    # Personal fields are masked in audit snapshots: the audit log records that they changed, not to what.
    __audit_masked__ = ("name", "id_number", "doc_number", "phone", "birth_date", "current_address",
                        "household_address")
    __table_args__ = (UniqueConstraint("doc_type", "doc_number", name="uq_persons_document"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)  # normalised GB 11643 number
    doc_type: Mapped[str | None] = mapped_column(String(32))  # for non-residents (passport, permits …)
    doc_number: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(11), index=True)
    sex: Mapped[str | None] = mapped_column(String(1))  # "M" / "F"
    birth_date: Mapped[date | None] = mapped_column(Date)
    current_address: Mapped[str | None] = mapped_column(String(255))
    household_address: Mapped[str | None] = mapped_column(String(255))
    area_code: Mapped[str | None] = mapped_column(String(6))  # county-level code of the current address
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # jurisdiction
    # Made from a lead or registration and not yet seen by an officer.
    unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")


class RiskStatus(Base):
    """One period of a person's risk status; the current one has no `ended_at`. History is never rewritten."""

    __tablename__ = "risk_statuses"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    set_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[str | None] = mapped_column(String(500))


class Observation(Base):
    """Quarantine or health monitoring that follows from a risk status, with its period from the profile."""

    __tablename__ = "observations"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    risk_status_id: Mapped[int] = mapped_column(ForeignKey("risk_statuses.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    place: Mapped[str | None] = mapped_column(String(255))
    start: Mapped[datetime] = mapped_column(UTCDateTime())  # the last exposure
    planned_end: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    home_monitoring_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    test_days: Mapped[str] = mapped_column(String(64), default="")
    profile: Mapped[str] = mapped_column(String(24))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(100))
