"""Arrival self-registration (来X人员信息填报): one row per form a person sent from a phone."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime, utcnow
from fangkong.core.models import Unit


class Arrival(Base):
    __tablename__ = "arrivals"
    __audited__ = True
    __audit_masked__ = ("name", "id_number", "doc_number", "phone", "destination_address", "plate",
                        "transport_number", "symptoms", "temperature_c", "test_result")

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)  # shown on the receipt, without the dash
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    purge_after: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # retention (settings)
    name: Mapped[str] = mapped_column(String(100))
    doc_type: Mapped[str] = mapped_column(String(32))  # resident_id | passport | permits …
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    doc_number: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(11))
    origin_code: Mapped[str | None] = mapped_column(String(6), index=True)  # GB/T 2260, county or above
    origin_text: Mapped[str | None] = mapped_column(String(200))  # compound, village, street
    route: Mapped[str | None] = mapped_column(String(300))  # places passed through, as typed
    departed_on: Mapped[date] = mapped_column(Date)
    arrived_on: Mapped[date] = mapped_column(Date, index=True)
    transport: Mapped[str] = mapped_column(String(12))  # train | flight | car | coach | other
    transport_number: Mapped[str | None] = mapped_column(String(20))  # train or flight number
    plate: Mapped[str | None] = mapped_column(String(12))
    destination_address: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # placed by the address
    placement: Mapped[str] = mapped_column(String(12))  # station | district | outside | unknown
    symptoms: Mapped[str] = mapped_column(String(100), default="")  # comma-separated keys, "" for none
    temperature_c: Mapped[float | None] = mapped_column(Float)
    test_result: Mapped[str] = mapped_column(String(12))  # none | negative | positive | pending
    test_on: Mapped[date | None] = mapped_column(Date)
    risk_level: Mapped[str | None] = mapped_column(String(8), index=True)  # high | medium | None
    risk_reason: Mapped[str | None] = mapped_column(String(12))  # origin | route
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(Integer)  # the lead the leads capability made, if any
    status_set: Mapped[str | None] = mapped_column(String(24))  # the risk status given, if any

    unit: Mapped[Unit] = relationship(lazy="joined")
