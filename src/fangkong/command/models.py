"""Command's tables: the daily roll-up of every capability's figures, daily reports with their history,
and the city's response level."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core.db import Base, UTCDateTime, utcnow


class DailyFigure(Base):
    """One figure of one unit's own objects on one local day, as the capability's `figures` hook counted it.

    Rebuilt idempotently (delete the day, insert the hook's rows): reading never scans raw rows, and a
    subtree's figure is the sum over its units.
    """

    __tablename__ = "daily_figures"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class RollupRun(Base):
    """When a day was last rolled up (the dashboard shows the figures' age)."""

    __tablename__ = "rollup_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rows: Mapped[int] = mapped_column(Integer, default=0)


class DailyReport(Base):
    """A unit's daily report (日报): its figures as submitted, a zero report (零报告), a note; corrections
    after submission raise the version and keep the earlier one in `daily_report_revisions`."""

    __tablename__ = "daily_reports"
    __audited__ = True
    __table_args__ = (UniqueConstraint("unit_id", "day", name="uq_daily_reports_unit_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    zero_report: Mapped[bool] = mapped_column(Boolean, default=False)
    values: Mapped[str] = mapped_column(Text, default="{}")  # JSON: figure key -> value as submitted
    note: Mapped[str] = mapped_column(String(1000), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by: Mapped[str] = mapped_column(String(100))
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class DailyReportRevision(Base):
    """An earlier version of a daily report, kept when it was corrected."""

    __tablename__ = "daily_report_revisions"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("daily_reports.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    zero_report: Mapped[bool] = mapped_column(Boolean)
    values: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(1000))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str] = mapped_column(String(100))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replaced_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))


class ResponseLevel(Base):
    """The city's emergency response level (一级/二级/三级响应) from a date; running totals count from the
    start of the current response (the first day of an unbroken run of levels)."""

    __tablename__ = "response_levels"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[int] = mapped_column(Integer)  # 1 (highest) … 3, 0 = response ended
    started_on: Mapped[date] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
