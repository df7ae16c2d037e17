"""Tracing tables: a case being traced (onset, isolation, the rules used) and its contacts with evidence.

A contact (Exposure) is keyed by its presence-store key: "p:<id>" for a person file, or an imported
file's key; `person_id` is set once the key is resolved to a person file (at once for platform keys,
at dispatch for imported ID numbers). Re-running a trace refreshes the evidence; contacts struck or added
by hand keep the reason and who did it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow
from fangkong.core.jobs import JobColumns


class TraceCase(Base):
    __tablename__ = "trace_cases"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    onset: Mapped[datetime] = mapped_column(UTCDateTime())  # symptom onset, or sampling if asymptomatic
    isolated: Mapped[datetime | None] = mapped_column(UTCDateTime())  # none: the end of the data
    profile: Mapped[str] = mapped_column(String(24))
    hops: Mapped[int] = mapped_column(Integer, default=2)
    traced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    traced_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The trace report (流调报告): core facts due 4 h and the full report 24 h after the case was reported.
    core_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    core_reported_by: Mapped[str | None] = mapped_column(String(100))
    full_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    full_reported_by: Mapped[str | None] = mapped_column(String(100))

    exposures: Mapped[list[Exposure]] = relationship(back_populates="case", order_by="Exposure.id",
                                                     cascade="all, delete-orphan")


class Exposure(Base):
    """A close (hop 1) or secondary (hop 2) contact of a case, with its evidence."""

    __tablename__ = "exposures"
    __audited__ = True
    __table_args__ = (UniqueConstraint("case_id", "contact_key", name="uq_exposures_case_contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("trace_cases.id", ondelete="CASCADE"), index=True)
    contact_key: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    hop: Mapped[int] = mapped_column(Integer)  # 1 close contact, 2 secondary contact
    first_exposure: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_exposure: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{place, kind, start, end}] for hop 1
    origin: Mapped[str] = mapped_column(String(8), default="trace")  # trace | manual
    note: Mapped[str | None] = mapped_column(String(500))  # why it was added by hand
    added_by: Mapped[str | None] = mapped_column(String(100))
    struck_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    struck_by: Mapped[str | None] = mapped_column(String(100))
    strike_reason: Mapped[str | None] = mapped_column(String(500))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[TraceCase] = relationship(back_populates="exposures")
    links: Mapped[list[ExposureLink]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class TraceDispatch(JobColumns, Base):
    """One dispatch of a case's new contacts as urgent leads: a job of the platform's job runner
    (core/jobs.py, lane "dispatch"), with its progress, so the page polls a row any worker can read.

    `plan` is what the user confirmed (unit → count, as JSON) and `digest` fingerprints it: the run
    refuses to start when the contacts changed since.
    """

    __tablename__ = "trace_dispatches"

    case_id: Mapped[int] = mapped_column(ForeignKey("trace_cases.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    plan: Mapped[str] = mapped_column(Text, default="[]")
    done: Mapped[int] = mapped_column(Integer, default=0)  # contacts given their lead and status so far
    statuses_set: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # moves with each part


class ExposureLink(Base):
    """A secondary contact's link: the close contact (store key) it came through."""

    __tablename__ = "exposure_links"
    __table_args__ = (UniqueConstraint("exposure_id", "via_key", name="uq_exposure_links_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exposure_id: Mapped[int] = mapped_column(ForeignKey("exposures.id", ondelete="CASCADE"), index=True)
    via_key: Mapped[str] = mapped_column(String(64), index=True)
