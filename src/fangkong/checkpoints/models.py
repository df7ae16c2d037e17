"""Checkpoint tables: checkpoints and the officers posted to them, risk areas, passages with the
people checked in each (every row is also a presence record for tracing), referrals to health."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))  # ring_station | toll_gate | temporary_post | community_gate
    location: Mapped[str] = mapped_column(String(255), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    lanes: Mapped[int] = mapped_column(Integer, default=2)
    seconds_per_vehicle: Mapped[int] = mapped_column(Integer, default=90)  # measured inspection time
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CheckpointPost(Base):
    """An officer posted to a checkpoint; checkpoint officers see only their posts."""

    __tablename__ = "checkpoint_posts"
    __audited__ = True
    __table_args__ = (UniqueConstraint("checkpoint_id", "user_id", name="uq_checkpoint_posts_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Passage(Base):
    """One vehicle (or walker) through a checkpoint, with its people."""

    __tablename__ = "passages"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)  # device-supplied: retries are idempotent
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    lane: Mapped[int | None] = mapped_column(Integer)
    plate: Mapped[str | None] = mapped_column(String(12), index=True)
    plate_region: Mapped[str | None] = mapped_column(String(50))
    origin: Mapped[str | None] = mapped_column(String(100))
    destination: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(100))
    flags: Mapped[str] = mapped_column(String(255), default="")  # vehicle flags, comma-separated
    recorded_by: Mapped[str] = mapped_column(String(64))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    people: Mapped[list[PassagePerson]] = relationship(back_populates="passage", order_by="PassagePerson.id",
                                                       lazy="selectin", cascade="all, delete-orphan")


class PassagePerson(Base):
    """A person checked in a passage; also the presence record (person, checkpoint, time) tracing reads."""

    __tablename__ = "passage_people"
    __audited__ = True
    __audit_masked__ = ("name", "id_number", "doc_number")

    id: Mapped[int] = mapped_column(primary_key=True)
    passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))  # driver | passenger | walker
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18))
    doc_type: Mapped[str | None] = mapped_column(String(32))
    doc_number: Mapped[str | None] = mapped_column(String(32))
    temperature_c: Mapped[float] = mapped_column(Float)
    disposition: Mapped[str] = mapped_column(String(16))  # passed | turned_back | referred | quarantined
    flags: Mapped[str] = mapped_column(String(255), default="")
    override_reason: Mapped[str | None] = mapped_column(String(200))  # why a proposed referral was not made

    passage: Mapped[Passage] = relationship(back_populates="people")
