"""Gathering registration (密集人员登记): an event its organiser declares, and the people who attend."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow
from fangkong.core.models import Unit


class Gathering(Base):
    __tablename__ = "gatherings"
    __audited__ = True
    __audit_masked__ = ("organiser_name", "organiser_phone", "manage_token", "sign_in_token")

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    # Unguessable, revocable tokens: the organiser's page and the attendees' sign-in link.
    manage_token: Mapped[str] = mapped_column(String(43), unique=True)
    sign_in_token: Mapped[str] = mapped_column(String(43), unique=True)
    sign_in_open: Mapped[bool] = mapped_column(default=True)
    kind: Mapped[str] = mapped_column(String(12))  # wedding | funeral | market | other
    title: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(255))
    expected_size: Mapped[int] = mapped_column(Integer)
    organiser_name: Mapped[str] = mapped_column(String(100))
    organiser_phone: Mapped[str] = mapped_column(String(11))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    placement: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    purge_after: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    unit: Mapped[Unit] = relationship(lazy="joined")
    attendees: Mapped[list[GatheringAttendee]] = relationship(
        back_populates="gathering", order_by="GatheringAttendee.id", cascade="all, delete-orphan")


class GatheringAttendee(Base):
    """One person at a gathering; also the presence record (person, gathering, event time) tracing reads."""

    __tablename__ = "gathering_attendees"
    __audited__ = True
    __audit_masked__ = ("name", "id_number", "doc_number", "phone")
    __table_args__ = (UniqueConstraint("gathering_id", "person_id", name="uq_gathering_attendees_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    doc_type: Mapped[str] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(18))
    doc_number: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(11))
    added_by: Mapped[str] = mapped_column(String(10))  # organiser | self
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    gathering: Mapped[Gathering] = relationship(back_populates="attendees")
