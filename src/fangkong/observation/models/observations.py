"""The observation that follows from a risk status (quarantine, health monitoring) and its period.

`one_open_per_person` in a table's info tells person merging (people.merging) which column closes a row,
so that after a merge the survivor keeps only its newest open one, without people knowing this table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core.db import Base, UTCDateTime


class Observation(Base):
    """Quarantine or health monitoring that follows from a risk status, with its period from the profile."""

    __tablename__ = "observations"
    __audited__ = True
    __table_args__ = ({"info": {"one_open_per_person": "released_at"}},)

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
