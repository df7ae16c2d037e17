"""Offence cases (涉疫案件): the register, persons dealt with, seizures and links to leads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow


class OffenceCase(Base):
    """A case from registration (受案) through filing (立案) to solving (破案) with its outcome."""

    __tablename__ = "offence_cases"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), default="")  # the case number of the case system
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(24), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="received", index=True)  # received | filed | solved
    outcome: Mapped[str | None] = mapped_column(String(24))  # administrative_penalty | detention | prosecution
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    persons: Mapped[list[CasePerson]] = relationship(order_by="CasePerson.id", cascade="all, delete-orphan",
                                                     lazy="selectin")
    seizures: Mapped[list[Seizure]] = relationship(order_by="Seizure.id", cascade="all, delete-orphan",
                                                   lazy="selectin")
    leads: Mapped[list[CaseLead]] = relationship(order_by="CaseLead.id", cascade="all, delete-orphan",
                                                 lazy="selectin")


class CasePerson(Base):
    """A person dealt with in a case, linked to a person file when one is known."""

    __tablename__ = "offence_case_persons"
    __audited__ = True
    __audit_masked__ = ("name", "id_number")

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("offence_cases.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18))
    measure: Mapped[str | None] = mapped_column(String(24))  # the outcome for this person, if known


class Seizure(Base):
    """Goods seized: item, quantity and the unit it is counted in (箱, 只, 瓶 …), all required."""

    __tablename__ = "offence_case_seizures"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("offence_cases.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[float] = mapped_column(Float)
    unit_of_measure: Mapped[str] = mapped_column(String(16))


class CaseLead(Base):
    __tablename__ = "offence_case_leads"
    __audited__ = True
    __table_args__ = (UniqueConstraint("case_id", "lead_id", name="uq_offence_case_leads_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("offence_cases.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
