"""Care team and follow-up tables (issue 5): who looks after a person under observation, and the
daily follow-ups generated from the observation, with what each one found."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow


class CareTeam(Base):
    """The N包1 team of one observation: one member per configured team role."""

    __tablename__ = "care_teams"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[CareTeamMember]] = relationship(back_populates="team", lazy="selectin",
                                                         cascade="all, delete-orphan",
                                                         order_by="CareTeamMember.id")


class CareTeamMember(Base):
    __tablename__ = "care_team_members"
    __audited__ = True
    __table_args__ = (UniqueConstraint("team_id", "team_role", name="uq_care_team_members_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("care_teams.id", ondelete="CASCADE"), index=True)
    team_role: Mapped[str] = mapped_column(String(24))  # a role of FANGKONG_CARE_TEAM_ROLES
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assigned_by: Mapped[str] = mapped_column(String(100))

    team: Mapped[CareTeam] = relationship(back_populates="members")


class FollowUp(Base):
    """One day's follow-up of one observation (随访); generated the day before, recorded on the day."""

    __tablename__ = "follow_ups"
    __audited__ = True
    # Health findings are personal data: the audit log records that they were written, not what they say.
    __audit_masked__ = ("temperature_c", "symptoms", "test_result", "note")
    __table_args__ = (UniqueConstraint("observation_id", "day", name="uq_follow_ups_observation_day"),
                      Index("ix_follow_ups_day_done", "day", "done_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    day: Mapped[date] = mapped_column(Date)  # local calendar day
    day_no: Mapped[int] = mapped_column(Integer)  # day of observation, 1 = the day of the last exposure
    phase: Mapped[str] = mapped_column(String(16))  # observation | home_monitoring
    method: Mapped[str] = mapped_column(String(8))  # visit | call | site
    test_due: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(100))
    temperature_c: Mapped[float | None] = mapped_column(Float)
    symptoms: Mapped[str] = mapped_column(String(255), default="", server_default="")  # comma-separated codes
    test_result: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(500))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    # The recording device's id (offline queue, issue 20): sending the same recording again changes nothing.
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    source: Mapped[str | None] = mapped_column(String(16))  # None: staff; "self_report": the person's own link
    # Set when the person had not self-reported by the setting's hour: first on the list, to be called.
    call_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
