"""The daily deployment log: the figures come from the rosters; a unit's corrections are kept as rows,
never overwritten, so the history of every figure stays readable (the latest correction counts)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core.db import Base, UTCDateTime, utcnow


class LogCorrection(Base):
    __tablename__ = "deployment_log_corrections"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    field: Mapped[str] = mapped_column(String(24))  # officer_shifts | vehicle_trips | … (deployments.log.FIELDS)
    value: Mapped[float] = mapped_column(Float)
    previous: Mapped[float | None] = mapped_column(Float)  # the figure it replaced, as shown then
    reason: Mapped[str] = mapped_column(String(255), default="")
    corrected_by: Mapped[str] = mapped_column(String(100))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
