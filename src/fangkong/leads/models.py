"""Lead tables: sources (with remembered column mappings), batches, leads, their legs, source rows, events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow


class LeadStatus:
    DISPATCHED = "dispatched"  # in a unit's queue, legs open
    MANUAL = "manual"  # the address gave no unit: the command centre's manual queue
    VERIFIED = "verified"  # every leg verified
    OUTSIDE = "outside"  # address outside the city: straight to feedback
    FED_BACK = "fed_back"  # the result went back to the source

    CLOSED = (VERIFIED, OUTSIDE, FED_BACK)


class LeadSource(Base):
    """An upstream that pushes leads (a provincial platform, the city task force …)."""

    __tablename__ = "lead_sources"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    mapping: Mapped[str] = mapped_column(Text, default="{}")  # JSON: header text -> field, remembered
    two_legs: Mapped[bool] = mapped_column(Boolean, default=False)  # 双推送、双核查、双反馈
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LeadBatch(Base):
    """One push: a sheet, an API batch, or the manual/system entries of a day."""

    __tablename__ = "lead_batches"
    __audited__ = True
    __table_args__ = (UniqueConstraint("source_id", "file_sha256", name="uq_lead_batches_source_file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("lead_sources.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sheet | api | manual | system
    reference: Mapped[str | None] = mapped_column(String(100))  # the upstream's batch name or file name
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(255))
    sheet_name: Mapped[str | None] = mapped_column(String(100))
    header_row: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the importing unit
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_by: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    leads_new: Mapped[int] = mapped_column(Integer, default=0)
    leads_repeated: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[str | None] = mapped_column(String(16))  # the batch's priority for rows that give none

    source: Mapped[LeadSource] = relationship(lazy="joined")


class Lead(Base):
    __tablename__ = "leads"
    __audited__ = True
    __audit_masked__ = ("name", "id_number", "phone", "current_address")

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("lead_sources.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("lead_batches.id"), index=True)
    kind: Mapped[str | None] = mapped_column(String(50))
    priority: Mapped[str] = mapped_column(String(16))  # express | urgent | normal
    name: Mapped[str | None] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    phone: Mapped[str | None] = mapped_column(String(11))
    current_address: Mapped[str | None] = mapped_column(String(255))
    origin: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    person_match: Mapped[str | None] = mapped_column(String(16))  # id_number | phone_name | new
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # responsible unit now
    status: Mapped[str] = mapped_column(String(16), index=True)
    hint: Mapped[str | None] = mapped_column(String(255))  # origin of phone/ID, for the manual queue
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    report_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the report-back clock (express: 10 min)
    plate: Mapped[str | None] = mapped_column(String(12), index=True)  # a vehicle lead (涉疫车辆)
    flags: Mapped[str | None] = mapped_column(String(64))  # fields given but not valid (matched without them)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fed_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    legs: Mapped[list[LeadLeg]] = relationship(back_populates="lead", order_by="LeadLeg.id", lazy="selectin")
    batch: Mapped[LeadBatch] = relationship(lazy="joined")


class LeadLeg(Base):
    """One verification on the ground: the police leg, and a community leg for two-leg leads."""

    __tablename__ = "lead_legs"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # police | community
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | verified
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))  # found | not_found | elsewhere | left_city
    temperature_c: Mapped[float | None] = mapped_column(Float)
    symptoms: Mapped[str | None] = mapped_column(String(255))
    measure: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(500))
    verified_by: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The verifying device's id (offline queue, issue 20): sending the same verification again changes nothing.
    verify_client_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    lead: Mapped[Lead] = relationship(back_populates="legs")


class LeadSourceRow(Base):
    """Which lead each row of a pushed sheet became (several rows may repeat one lead), or why none."""

    __tablename__ = "lead_source_rows"

    batch_id: Mapped[int] = mapped_column(ForeignKey("lead_batches.id", ondelete="CASCADE"), primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    problem: Mapped[str | None] = mapped_column(String(255))


class LeadEvent(Base):
    """The history of a lead: received, dispatched, re-dispatched, escalated, verified, fed back."""

    __tablename__ = "lead_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    note: Mapped[str | None] = mapped_column(String(500))
