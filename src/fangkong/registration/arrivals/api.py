"""Arrivals API (JSON): the public arrival form for apps and mini-programs (no account, rate-limited), and,
for police units, arrivals in the jurisdiction, masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fangkong.core.access import REGISTRATION_READ
from fangkong.core.codes import mask_phone
from fangkong.core.ratelimit import check_rate
from fangkong.core.web.params import EventDay, Id, PageNo
from fangkong.core.web.work import guard, public_work, work
from fangkong.registration import inputs
from fangkong.registration.arrivals import service as arrivals
from fangkong.registration.arrivals.models import Arrival

router = APIRouter(prefix="/api/v1", tags=["registration"])
STAFF = [guard(REGISTRATION_READ)]


class ArrivalIn(BaseModel):
    """The public arrival form (the same rules as the page); dates YYYY-MM-DD, origin a GB/T 2260 code."""

    name: str = Field(max_length=100)
    doc_type: str = Field("resident_id", max_length=40)
    doc_number: str = Field(max_length=40)
    phone: str = Field(max_length=40)
    origin_code: str = Field("", max_length=6)
    origin_text: str = Field("", max_length=200)
    route: str = Field("", max_length=400)
    departed_on: str = Field(max_length=10)
    arrived_on: str = Field(max_length=10)
    transport: str = Field(max_length=12, description="train, flight, car, coach or other")
    transport_number: str = Field("", max_length=20)
    plate: str = Field("", max_length=20)
    destination_address: str = Field(max_length=200)
    symptoms: list[str] = Field(default_factory=list, max_length=10)
    temperature_c: str = Field("", max_length=8)
    test_result: str = Field("none", max_length=12)
    test_on: str = Field("", max_length=10)
    consent: bool = Field(description="The person has read the notice (GET /register/arrival shows it)")


class ReceiptOut(BaseModel):
    reference: str = Field(description="Show as two groups of five; looked up again with the phone")


@router.post("/public/arrivals", response_model=ReceiptOut, status_code=201)
def register_arrival(request: Request, body: ArrivalIn) -> ReceiptOut:
    """Register an arrival without an account (rate-limited per IP): returns the receipt's reference code."""
    check_rate(request, "arrival")
    settings = request.app.state.settings
    data = arrivals.ArrivalInput(**body.model_dump(exclude={"symptoms"}), symptoms=[s[:20] for s in body.symptoms])
    with public_work(request) as session:
        arrival = arrivals.register_arrival(session, data, settings.registration_retention_days,
                                            settings.protocol_profile)
        return ReceiptOut(reference=inputs.show_reference(arrival.reference))


class ArrivalOut(BaseModel):
    id: int
    reference: str
    created_at: datetime
    name: str
    doc_type: str
    document: str | None = Field(description="Masked")
    phone: str = Field(description="Masked")
    origin_code: str | None
    origin_text: str | None
    route: str | None
    departed_on: date
    arrived_on: date
    transport: str
    transport_number: str | None
    plate: str | None
    destination_address: str
    unit_id: int
    risk_level: str | None
    risk_reason: str | None
    symptoms: list[str]
    temperature_c: float | None
    test_result: str
    person_id: int
    lead_id: int | None

    @classmethod
    def of(cls, a: Arrival) -> ArrivalOut:
        return cls(id=a.id, reference=a.reference, created_at=a.created_at, name=a.name, doc_type=a.doc_type,
                   document=inputs.masked_document(a.id_number, a.doc_number), phone=mask_phone(a.phone),
                   origin_code=a.origin_code, origin_text=a.origin_text, route=a.route, departed_on=a.departed_on,
                   arrived_on=a.arrived_on, transport=a.transport, transport_number=a.transport_number,
                   plate=a.plate, destination_address=a.destination_address, unit_id=a.unit_id,
                   risk_level=a.risk_level, risk_reason=a.risk_reason,
                   symptoms=[s for s in a.symptoms.split(",") if s], temperature_c=a.temperature_c,
                   test_result=a.test_result, person_id=a.person_id, lead_id=a.lead_id)


class ArrivalPage(BaseModel):
    total: int
    page: int
    arrivals: list[ArrivalOut]


@router.get("/arrivals", response_model=ArrivalPage, dependencies=STAFF)
def list_arrivals(request: Request, day: EventDay | None = None,
                  origin: Annotated[str, Query(max_length=6, description="Province (2 digits) or area code")] = "",
                  risk: Annotated[str, Query(pattern="^(|high|medium|risk|none)$")] = "",
                  page: PageNo = 1) -> ArrivalPage:
    """Arrivals to the caller's jurisdiction, newest first."""
    with work(request) as w:
        found = arrivals.list_arrivals(w.session, w.user, arrivals.ArrivalFilter(day, origin, risk), page,
                                       request.app.state.settings.page_size)
        return ArrivalPage(total=found.total, page=found.page, arrivals=[ArrivalOut.of(a) for a in found.rows])


@router.get("/arrivals/{arrival_id}", response_model=ArrivalOut, dependencies=STAFF)
def read_arrival(request: Request, arrival_id: Id) -> ArrivalOut:
    with work(request) as w:
        return ArrivalOut.of(arrivals.open_arrival(w.session, w.user, arrival_id))
