"""Green-channel passes at the checkpoint (issue 18): checkpoints knows the posts and the checkpoint's unit,
passes knows the passes; this is the seam. A pass is verified (and the verification recorded, whatever
its outcome) before the passage is registered; a valid one lets the vehicle's people take the
`green_lane` disposition, each of them still registered (逐车逐人)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from fangkong.checkpoints import service
from fangkong.checkpoints.models import Checkpoint
from fangkong.core.access import CHECKPOINT_READ
from fangkong.core.capability import DayWindow
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import utcnow
from fangkong.core.errors import FieldError
from fangkong.core.models import User
from fangkong.core.web.params import BodyId, EventDay, Id
from fangkong.core.web.work import guard, work
from fangkong.passes.access import PASS_VERIFY
from fangkong.passes.rules import IMPOSSIBLE_TRAVEL, OUTCOMES
from fangkong.passes.tokens import key_ring
from fangkong.passes.verification import TravelRule, Verification, Where, counts_by_checkpoint, verify_pass

router = APIRouter(prefix="/api/v1", tags=["passes"], dependencies=[guard()])
VALID = OUTCOMES["valid"]


def verify_at(session: Session, user: User, settings: Any, checkpoint_id: int, token: str, plate: str,
              latitude: float | None = None, longitude: float | None = None) -> Verification:
    """Verify a pass at a checkpoint the officer is posted to, and record it (with the checkpoint's unit)."""
    checkpoint: Checkpoint = service.get_checkpoint(session, user, checkpoint_id, PASS_VERIFY)
    rule = TravelRule(settings.passes_max_speed_kmh, settings.passes_min_transfer_minutes)
    where = Where(checkpoint.id, checkpoint.unit_id, latitude, longitude)
    return verify_pass(session, key_ring(settings.var_dir), token, plate, where, rule)


def refusal(found: Verification) -> FieldError | None:
    """Return the pass field's error when the pass does not open the green lane (None when it does)."""
    if found.green_lane:
        return None
    if found.valid:  # valid but flagged: a copied code, the vehicle takes the normal lane
        return FieldError("pass_token", IMPOSSIBLE_TRAVEL, {"minutes": found.gap_minutes})
    return FieldError("pass_token", OUTCOMES[found.outcome], found.params)


class VerifyIn(BaseModel):
    checkpoint_id: BodyId
    token: str = Field(max_length=600, description="The scanned QR code (the token or the URL holding it), "
                                                   "or a typed pass number")
    plate: str = Field("", max_length=20, description="The plate of the vehicle at the checkpoint")
    latitude: float | None = Field(None, ge=-90, le=90, description="The tablet's position, if known")
    longitude: float | None = Field(None, ge=-180, le=180)


class VerifyOut(BaseModel):
    verification_id: int = Field(description="Send it as pass_verification_id with the passage (green lane)")
    outcome: str = Field(description="valid, malformed, forged, unknown, not_approved, revoked, expired, "
                                     "not_yet_valid or plate_mismatch")
    green_lane: bool
    message: str
    flagged: bool = Field(description="Used at another checkpoint too far away for the time between")
    pass_id: int | None
    kind: str | None
    subject: str | None
    company: str | None
    purpose: str | None
    valid_until: Any = None


@router.post("/passes/verify", response_model=VerifyOut, dependencies=[guard(PASS_VERIFY)])
def verify(request: Request, body: VerifyIn) -> VerifyOut:
    """Verify a pass at a checkpoint: signature, validity, revocation, plate; recorded whatever the outcome."""
    from fangkong.core.i18n import gettext

    with work(request) as w:
        found = verify_at(w.session, w.user, request.app.state.settings, body.checkpoint_id, body.token, body.plate,
                          body.latitude, body.longitude)
    problem = refusal(found)
    message = gettext(problem.message, **problem.params) if problem else gettext(VALID)
    return VerifyOut(verification_id=found.id, outcome=found.outcome, green_lane=found.green_lane, message=message,
                     flagged=found.flagged, pass_id=found.pass_id, kind=found.kind, subject=found.subject,
                     company=found.company, purpose=found.purpose, valid_until=found.valid_until)


class PassCountsOut(BaseModel):
    day: date
    valid: int
    refused: int
    flagged: int


def day_counts(session: Session, user: User, checkpoint_id: int, day: date | None = None) -> PassCountsOut:
    """Return a checkpoint's pass verifications of a local day (today by default)."""
    checkpoint = service.get_checkpoint(session, user, checkpoint_id, CHECKPOINT_READ)
    window = DayWindow(day or utcnow().astimezone(LOCAL_TZ).date())
    valid, refused, flagged = counts_by_checkpoint(session, [checkpoint.id], window.start, window.end).get(
        checkpoint.id, (0, 0, 0))
    return PassCountsOut(day=window.day, valid=valid, refused=refused, flagged=flagged)


@router.get("/checkpoints/{checkpoint_id}/pass-checks", response_model=PassCountsOut,
            dependencies=[guard(CHECKPOINT_READ)])
def pass_checks(request: Request, checkpoint_id: Id, day: Annotated[EventDay | None, Query()] = None) -> PassCountsOut:
    """Count the passes verified and refused at a checkpoint on a day."""
    with work(request) as w:
        return day_counts(w.session, w.user, checkpoint_id, day)
