"""Core tables: the jurisdiction tree (units and the areas they own), users, logins and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow


class UnitKind(StrEnum):
    CITY = "city"  # city bureau / command centre (市局, 指挥中心)
    DISTRICT = "district"  # sub-bureau (分局)
    STATION = "station"  # police station (派出所)
    AGENCY = "agency"  # non-police body (卫健委, 疾控, 社区) working in its parent's jurisdiction


class Role(StrEnum):
    COMMAND = "command"
    DISTRICT = "district"
    STATION = "station"
    CHECKPOINT = "checkpoint"
    HEALTH = "health"
    COMMUNITY = "community"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SCREEN = "screen"  # the command hall's big screen: figures only, no personal data


class Unit(Base):
    """A node of the jurisdiction tree; `path` ("/1/4/17/") makes subtree queries one prefix match."""

    __tablename__ = "units"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    area_code: Mapped[str | None] = mapped_column(String(6))  # GB/T 2260 code the unit covers, if any
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])
    areas: Mapped[list[UnitArea]] = relationship(
        back_populates="unit", cascade="all, delete-orphan", order_by="UnitArea.name"
    )

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class UnitArea(Base):
    """A named street, town, community or village (below GB/T 2260 level) owned by a unit."""

    __tablename__ = "unit_areas"
    __audited__ = True
    __table_args__ = (UniqueConstraint("area_code", "name", name="uq_unit_areas_area_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    area_code: Mapped[str] = mapped_column(String(6))  # the county-level code the named area lies in
    name: Mapped[str] = mapped_column(String(100))

    unit: Mapped[Unit] = relationship(back_populates="areas")


class User(Base):
    __tablename__ = "users"
    __audited__ = True
    __audit_hidden__ = ("password_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")


class UserSession(Base):
    """A browser login. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for the JSON API. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
