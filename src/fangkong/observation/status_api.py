"""Risk status API (JSON) on a person file: read it, change it, release from observation.

Same paths as the person file API (`/api/v1/persons/{id}/status`); observation owns the rules behind them.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fangkong.core.access import PERSON_STATUS
from fangkong.core.web.params import EventTime, Id
from fangkong.core.web.work import guard, work
from fangkong.observation import status

router = APIRouter(prefix="/api/v1/persons", tags=["risk status"], dependencies=[guard()])


class StatusIn(BaseModel):
    status: str = Field(description="confirmed, asymptomatic, suspected, close_contact, secondary_contact, "
                                    "arrival_high, arrival_medium, fever_referral or released")
    reason: str = Field(max_length=500)
    evidence: str = Field("", max_length=500)
    last_exposure: EventTime | None = Field(None, description="Observation counts from the last exposure")
    place: str = Field("", max_length=255, description="Home, or a named quarantine site")


class RiskStatusOut(BaseModel):
    status: str
    since: datetime
    ended_at: datetime | None
    set_by: str
    reason: str
    evidence: str | None


class ObservationOut(BaseModel):
    kind: str
    place: str | None
    start: datetime
    planned_end: datetime
    home_monitoring_until: datetime | None
    test_days: str
    profile: str


class StatusOut(BaseModel):
    current: RiskStatusOut | None
    observation: ObservationOut | None
    release_due: bool
    history: list[RiskStatusOut]

    @classmethod
    def of(cls, view: status.StatusView) -> StatusOut:
        def one(s: object) -> RiskStatusOut:
            return RiskStatusOut.model_validate(s, from_attributes=True)

        obs = ObservationOut.model_validate(view.observation, from_attributes=True) if view.observation else None
        return cls(current=one(view.current) if view.current else None, observation=obs,
                   release_due=view.release_due, history=[one(s) for s in view.history])


class ReleaseIn(BaseModel):
    reason: str = Field("", max_length=500)


@router.get("/{person_id}/status", response_model=StatusOut)
def read_status(request: Request, person_id: Id) -> StatusOut:
    with work(request) as w:
        return StatusOut.of(status.status_of(w.session, w.user, person_id))


@router.post("/{person_id}/status", response_model=StatusOut, dependencies=[guard(PERSON_STATUS)])
def set_status(request: Request, person_id: Id, body: StatusIn) -> StatusOut:
    """Change the risk status (who may set which status is the protocol's rule); opens the observation."""
    with work(request) as w:
        view = status.change_status(w.session, w.user, person_id, body.status, body.reason, body.evidence,
                                    body.last_exposure, body.place, request.app.state.settings.protocol_profile,
                                    request.app.state.status_listeners)
        return StatusOut.of(view)


@router.post("/{person_id}/release", response_model=StatusOut, dependencies=[guard(PERSON_STATUS)])
def release(request: Request, person_id: Id, body: ReleaseIn) -> StatusOut:
    """Release a person whose observation period has ended (health)."""
    with work(request) as w:
        return StatusOut.of(status.release(w.session, w.user, person_id, body.reason))
