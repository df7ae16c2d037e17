"""Fixed posts (卡点、定点医院、留观点、小区), their rosters (shifts with who and what is on them) and
secondments (下沉): an officer serving in another unit for a period keeps the home unit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow


class Post(Base):
    """A fixed post with a chief (卡长/点长) and the strength it needs on duty at any time."""

    __tablename__ = "deployment_posts"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))  # checkpoint | hospital | observation_site | compound | other
    location: Mapped[str] = mapped_column(String(255), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    chief_name: Mapped[str] = mapped_column(String(100), default="")  # when the chief has no login
    required_strength: Mapped[int] = mapped_column(Integer, default=2)  # officers (民警 + 辅警) on duty
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Shift(Base):
    """One shift of a post's roster for a day: [starts_at, ends_at). A post's shifts never overlap, so
    whoever is on duty together is on the same shift."""

    __tablename__ = "deployment_shifts"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("deployment_posts.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # the roster day (local) it belongs to
    label: Mapped[str] = mapped_column(String(50), default="")  # 早班, A组 …
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[ShiftMember]] = relationship(back_populates="shift", order_by="ShiftMember.id",
                                                      cascade="all, delete-orphan", lazy="selectin")


class ShiftMember(Base):
    """An officer (a user or named personnel), a vehicle, a drone or a volunteer on a shift."""

    __tablename__ = "deployment_shift_members"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("deployment_shifts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # police | auxiliary | volunteer | vehicle | drone
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")  # named personnel, plate, drone number
    home_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # kept when seconded
    hours: Mapped[float | None] = mapped_column(Float)  # drone flight hours of the sortie

    shift: Mapped[Shift] = relationship(back_populates="members")


class Secondment(Base):
    """An officer sent down (下沉) from the home unit to a host unit for a period; the home unit stays."""

    __tablename__ = "deployment_secondments"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16), default="police")  # police | auxiliary
    home_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the host unit
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
