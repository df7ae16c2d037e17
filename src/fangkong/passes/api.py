"""Passes API (JSON) for staff systems: applications and decisions (one or many), passes and revocation.
The checkpoint side (POST /api/v1/passes/verify) is served by checkpoints, which knows the posts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fangkong.core.web.params import BodyId, Id, PageNo, PlanDay
from fangkong.core.web.work import guard, work
from fangkong.passes import applications, service
from fangkong.passes.access import PASS_APPROVE, PASS_ISSUE, PASS_READ, PASS_REVOKE
from fangkong.passes.models import Pass, PassApplication
from fangkong.passes.tokens import key_ring

router = APIRouter(prefix="/api/v1/passes", tags=["passes"], dependencies=[guard()])


class HolderIn(BaseModel):
    plate: str = Field("", max_length=20, description="Vehicle passes: the plate (GA 36)")
    name: str = Field("", max_length=50, description="The driver, or the person of a person pass")
    id_number: str = Field("", max_length=40, description="Resident ID number (required for a person pass)")


class ApplicationIn(BaseModel):
    company: str = Field(max_length=100)
    contact_phone: str = Field(max_length=20)
    address: str = Field(max_length=200, description="Where in the city the goods or people go (picks the unit)")
    purpose: Literal["daily_supplies", "medical_supplies", "resumption", "medical_staff", "other"]
    route: str = Field(max_length=200)
    valid_from: PlanDay
    valid_until: PlanDay
    kind: Literal["vehicle", "person"] = "vehicle"
    holders: list[HolderIn] = Field(max_length=20)


class PassOut(BaseModel):
    id: int
    kind: str
    plate: str | None
    holder_name: str | None
    purpose: str
    route: str
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None
    state: str = Field(description="pending, refused, valid, not_yet_valid, expired or revoked")
    token: str | None = Field(description="The signed token the QR code carries")

    @classmethod
    def of(cls, row: Pass, status: str) -> PassOut:
        return cls(id=row.id, kind=row.kind, plate=row.plate, holder_name=row.holder_name, purpose=row.purpose,
                   route=row.route, valid_from=row.valid_from, valid_until=row.valid_until, issued_at=row.issued_at,
                   revoked_at=row.revoked_at, revoke_reason=row.revoke_reason,
                   state=service.pass_state(row, status), token=row.token)


class ApplicationOut(BaseModel):
    id: int
    reference: str
    source: str
    company: str
    purpose: str
    route: str
    wanted_from: datetime
    wanted_until: datetime
    unit_id: int
    status: str
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    has_document: bool
    passes: list[PassOut]

    @classmethod
    def of(cls, a: PassApplication) -> ApplicationOut:
        return cls(id=a.id, reference=a.reference, source=a.source, company=a.company, purpose=a.purpose,
                   route=a.route, wanted_from=a.wanted_from, wanted_until=a.wanted_until, unit_id=a.unit_id,
                   status=a.status, decided_at=a.decided_at, decided_by=a.decided_by,
                   decision_reason=a.decision_reason, has_document=a.document_sha256 is not None,
                   passes=[PassOut.of(p, a.status) for p in a.passes])


class DecisionIn(BaseModel):
    approve: bool
    reason: str = Field("", max_length=500, description="Required to refuse")
    valid_from: PlanDay | None = Field(None, description="Approve for other dates than asked (both or neither)")
    valid_until: PlanDay | None = None
    route: str = Field("", max_length=200)

    def decision(self) -> applications.Decision:
        return applications.Decision(self.approve, self.reason, self.valid_from, self.valid_until, self.route)


class BulkDecisionIn(BaseModel):
    ids: list[BodyId] = Field(max_length=500)
    approve: bool
    reason: str = Field("", max_length=500)


class BulkDecisionOut(BaseModel):
    decided: list[int]
    skipped: list[int] = Field(description="Already decided, or not in your jurisdiction")


class RevokeIn(BaseModel):
    reason: str = Field(max_length=500)


@router.post("/applications", response_model=ApplicationOut, status_code=201, dependencies=[guard(PASS_ISSUE)])
def add_application(request: Request, body: ApplicationIn) -> ApplicationOut:
    """File an application on a company's behalf (as the public form does; waiting for approval)."""
    settings = request.app.state.settings
    data = applications.ApplicationInput(
        company=body.company, contact_phone=body.contact_phone, address=body.address, purpose=body.purpose,
        route=body.route, valid_from=body.valid_from.isoformat(), valid_until=body.valid_until.isoformat(),
        kind=body.kind, holders=[applications.HolderInput(**h.model_dump()) for h in body.holders], consent=True)
    with work(request) as w:
        found = applications.apply(w.session, data, None, settings.var_dir, settings.passes_approving_level,
                                   settings.registration_retention_days)
        return ApplicationOut.of(found)


@router.get("/applications", response_model=list[ApplicationOut], dependencies=[guard(PASS_READ)])
def list_applications(request: Request, page: PageNo = 1,
                      status: Annotated[Literal["", "pending", "approved", "refused"], Query()] = "pending"
                      ) -> list[ApplicationOut]:
    with work(request) as w:
        found = service.list_applications(w.session, w.user, status, page, request.app.state.settings.page_size)
        return [ApplicationOut.of(a) for a in found.rows]


@router.get("/applications/{application_id}", response_model=ApplicationOut, dependencies=[guard(PASS_READ)])
def get_application(request: Request, application_id: Id) -> ApplicationOut:
    with work(request) as w:
        return ApplicationOut.of(service.get_application(w.session, w.user, application_id))


@router.post("/applications/{application_id}/decision", response_model=ApplicationOut,
             dependencies=[guard(PASS_APPROVE)])
def decide(request: Request, application_id: Id, body: DecisionIn) -> ApplicationOut:
    """Approve (each pass is signed) or refuse with a reason; 409 if someone decided first."""
    ring = key_ring(request.app.state.settings.var_dir)
    with work(request) as w:
        return ApplicationOut.of(service.decide_one(w.session, w.user, ring, application_id, body.decision()))


@router.post("/applications/decisions", response_model=BulkDecisionOut, dependencies=[guard(PASS_APPROVE)])
def decide_many(request: Request, body: BulkDecisionIn) -> BulkDecisionOut:
    """Decide many applications at once (each keeps the validity it asked for)."""
    ring = key_ring(request.app.state.settings.var_dir)
    with work(request) as w:
        outcome = service.decide_many(w.session, w.user, ring, list(body.ids),
                                      applications.Decision(body.approve, body.reason))
    return BulkDecisionOut(decided=outcome.decided, skipped=outcome.skipped)


@router.get("", response_model=list[PassOut], dependencies=[guard(PASS_READ)])
def list_passes(request: Request, page: PageNo = 1, plate: Annotated[str, Query(max_length=12)] = ""
                ) -> list[PassOut]:
    with work(request) as w:
        found = service.list_passes(w.session, w.user, plate, page, request.app.state.settings.page_size)
        return [PassOut.of(p, p.application.status) for p in found.rows]


@router.get("/{pass_id}", response_model=PassOut, dependencies=[guard(PASS_READ)])
def get_pass(request: Request, pass_id: Id) -> PassOut:
    with work(request) as w:
        found = service.get_pass(w.session, w.user, pass_id)
        return PassOut.of(found, found.application.status)


@router.post("/{pass_id}/revoke", response_model=PassOut, dependencies=[guard(PASS_REVOKE)])
def revoke(request: Request, pass_id: Id, body: RevokeIn) -> PassOut:
    """Revoke a pass: refused online at once, offline once the tablets fetch /passes/revoked.json."""
    with work(request) as w:
        found = service.revoke(w.session, w.user, pass_id, body.reason)
        return PassOut.of(found, found.application.status)
