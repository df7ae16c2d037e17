"""Pass tables: an application (from the public form or a staff sheet), the passes it holds (one per
vehicle or person, each signed once approved), and every verification at a checkpoint."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow


class PassApplication(Base):
    """What a company asked for, and the responsible unit's decision on it."""

    __tablename__ = "pass_applications"
    __audited__ = True
    __audit_masked__ = ("contact_phone",)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)  # the applicant's code for /passes/status
    source: Mapped[str] = mapped_column(String(8))  # public | bulk
    company: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(11))
    address: Mapped[str] = mapped_column(String(200))  # where the goods or people go in the city: picks the unit
    purpose: Mapped[str] = mapped_column(String(24))
    route: Mapped[str] = mapped_column(String(200))
    wanted_from: Mapped[datetime] = mapped_column(UTCDateTime())
    wanted_until: Mapped[datetime] = mapped_column(UTCDateTime())
    document_name: Mapped[str | None] = mapped_column(String(100))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document_type: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the unit that decides
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending | approved | refused
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    purge_after: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    passes: Mapped[list[Pass]] = relationship(back_populates="application", order_by="Pass.id", lazy="selectin")


class Pass(Base):
    """One vehicle (with its driver) or one person allowed through the checkpoints for a time."""

    __tablename__ = "passes"
    __audited__ = True
    __audit_masked__ = ("holder_name", "holder_id_number")
    __audit_hidden__ = ("token",)  # derived from the other columns; no need to keep it twice

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("pass_applications.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # vehicle | person
    plate: Mapped[str | None] = mapped_column(String(12), index=True)
    holder_name: Mapped[str | None] = mapped_column(String(100))  # the driver, or the person
    holder_id_number: Mapped[str | None] = mapped_column(String(18))
    purpose: Mapped[str] = mapped_column(String(24))
    route: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the issuing unit
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # None until approved
    key_id: Mapped[str | None] = mapped_column(String(8), index=True)
    token: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))

    application: Mapped[PassApplication] = relationship(back_populates="passes")


class PassVerification(Base):
    """One check of a pass at a checkpoint, whatever its outcome (forged tokens included)."""

    __tablename__ = "pass_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int | None] = mapped_column(ForeignKey("passes.id", ondelete="SET NULL"), index=True)
    # by table name: passes sits below checkpoints and never imports it
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)  # the checkpoint's unit
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # valid | forged | malformed | unknown | revoked | expired …
    plate_seen: Mapped[str | None] = mapped_column(String(12))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    impossible_travel: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_by: Mapped[str] = mapped_column(String(64))
    gap_minutes: Mapped[int | None] = mapped_column(Integer)  # minutes since the use elsewhere it is flagged against
