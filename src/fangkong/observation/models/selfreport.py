"""Self-report tables (issue 20): the personal link each observation gets, and what its holder reported."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core.db import Base, UTCDateTime, utcnow


class SelfReportLink(Base):
    """A personal self-report link of one observation. Only the token's SHA-256 is kept: the link is shown
    once (SMS text, QR on the notice); a new link revokes the previous one."""

    __tablename__ = "self_report_links"
    __audited__ = True
    __audit_masked__ = ("token_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the end of the observation (with monitoring)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SelfReport(Base):
    """One report sent through a personal link: temperature, symptoms, at home (home quarantine)."""

    __tablename__ = "self_reports"
    __audited__ = True
    __audit_masked__ = ("temperature_c", "symptoms", "at_home")
    __table_args__ = (Index("ix_self_reports_observation_day", "observation_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("self_report_links.id"), index=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # local calendar day
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    temperature_c: Mapped[float] = mapped_column(Float)
    symptoms: Mapped[str] = mapped_column(String(255), default="", server_default="")  # comma-separated codes
    at_home: Mapped[bool | None] = mapped_column(Boolean)  # asked only of home quarantine
    nonce: Mapped[str] = mapped_column(String(64), unique=True)  # the form's: a replay changes nothing
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
