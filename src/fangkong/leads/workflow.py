"""Lead workflow after intake: queues, the manual queue, verification on the ground, re-dispatch,
overdue escalation and on-time rates. State changes are compare-and-swap, so two officers verifying
the same leg cannot both win."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import LEAD_DISPATCH, LEAD_READ, LEAD_VERIFY, require, restrict
from fangkong.core.context import current_actor
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, Unit, UnitKind, User
from fangkong.core.units import get_unit_in_scope
from fangkong.leads.deadlines import DEADLINES, Clocks, verify_due
from fangkong.leads.dispatch import load_jurisdiction
from fangkong.leads.loops import Effects, apply_consequences
from fangkong.leads.models import Lead, LeadEvent, LeadLeg, LeadStatus

OUTCOMES = {"found": N_("Found at the address"), "not_found": N_("Not found"),
            "elsewhere": N_("Lives elsewhere in the city"), "left_city": N_("Has left the city")}
MEASURES = {"none": N_("No measure"), "home_observation": N_("Home observation"),
            "centralised_quarantine": N_("Centralised quarantine"), "referral": N_("Referred to health")}
STATUS_LABELS = {"dispatched": N_("Dispatched"), "manual": N_("Manual queue"), "verified": N_("Verified"),
                 "outside": N_("Outside the city"), "fed_back": N_("Fed back")}
EVENT_LABELS = {"received": N_("Received"), "dispatched": N_("Dispatched"), "manual": N_("To the manual queue"),
                "outside": N_("Outside the city"), "redispatched": N_("Re-dispatched"),
                "escalated": N_("Overdue: escalated"), "forwarded": N_("Handed on"),
                "consequences": N_("Measures taken"),
                "verified_police": N_("Police leg verified"), "verified_community": N_("Community leg verified"),
                "closed": N_("Closed")}
MATCH_LABELS = {"id_number": N_("matched by ID number"), "phone_name": N_("matched by phone and name"),
                "new": N_("new file, unconfirmed")}
ALREADY_VERIFIED = N_("This leg has already been verified by someone else.")
NOT_IN_MANUAL_QUEUE = N_("This lead is no longer waiting for a unit.")
TEMPERATURE_RANGE = N_("A body temperature lies between {low} and {high} °C.")
CHOOSE = N_("Choose one of the options.")
WHERE_NOW = N_("Give the new address or choose the unit.")
MIN_TEMP, MAX_TEMP = 34.0, 43.0
REASSIGNED = N_("This lead was handed to another unit while your verification waited to be sent. It was not "
                "recorded; the lead is no longer yours.")
CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


def leads_in_scope(user: User) -> Select[Lead]:
    """Return the leads the user may open: a community cadre only those with a community leg of theirs.

    A police-only lead lies in the district the community unit sits under, but is not the cadres'
    business (issue 17, finding 7: `GET /api/v1/leads/<id>` let them read it).
    """
    stmt = restrict(select(Lead), user, Lead.unit_id)
    if user.role == Role.COMMUNITY:
        legs = restrict(select(LeadLeg.lead_id).where(LeadLeg.kind == "community"), user, LeadLeg.unit_id)
        stmt = stmt.where(Lead.id.in_(legs))
    return stmt


def open_lead(session: Session, user: User, lead_id: int) -> Lead:
    """Return a lead of the user's jurisdiction (with legs), recording the read."""
    require(user, LEAD_READ)
    lead = session.execute(leads_in_scope(user).where(Lead.id == lead_id)).unique().scalar_one_or_none()
    if lead is None:
        raise NotFound()
    audit.record(session, "read", "leads", lead.id)
    return lead


def lead_events(session: Session, lead_id: int) -> list[tuple[LeadEvent, str | None]]:
    stmt = (select(LeadEvent, Unit.name).outerjoin(Unit, Unit.id == LeadEvent.unit_id)
            .where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.at, LeadEvent.id))
    return [(event, unit_name) for event, unit_name in session.execute(stmt).all()]


@dataclass(frozen=True)
class QueueRow:
    leg: LeadLeg
    lead: Lead
    unit_name: str
    overdue: bool


def queue(session: Session, user: User, state: str = "open", limit: int = 200) -> list[QueueRow]:
    """Return legs in the user's jurisdiction: open (soonest due first), overdue, or verified."""
    require(user, LEAD_READ)
    now = utcnow()
    stmt = (restrict(select(LeadLeg, Lead, Unit.name), user, LeadLeg.unit_id)
            .join(Lead, Lead.id == LeadLeg.lead_id).join(Unit, Unit.id == LeadLeg.unit_id))
    if user.role == Role.COMMUNITY:
        stmt = stmt.where(LeadLeg.kind == "community")
    if state == "verified":
        stmt = stmt.where(LeadLeg.status == "verified").order_by(LeadLeg.verified_at.desc())
    else:
        stmt = stmt.where(LeadLeg.status == "open")
        if state == "overdue":
            stmt = stmt.where(LeadLeg.due_at < now)
        stmt = stmt.order_by(LeadLeg.due_at, LeadLeg.id)
    rows = session.execute(stmt.limit(limit)).unique().all()
    audit.record(session, "list", "leads", None, state=state, results=len(rows))
    return [QueueRow(leg, lead, unit_name, leg.status == "open" and leg.due_at < now) for leg, lead, unit_name in rows]


def manual_queue(session: Session, user: User) -> list[Lead]:
    require(user, LEAD_DISPATCH)
    stmt = leads_in_scope(user).where(Lead.status == LeadStatus.MANUAL).order_by(Lead.due_at, Lead.id)
    leads = list(session.execute(stmt).unique().scalars())
    audit.record(session, "list", "leads", None, state="manual", results=len(leads))
    return leads


def _event(session: Session, lead_id: int, action: str, unit_id: int | None = None, note: str | None = None) -> None:
    session.add(LeadEvent(lead_id=lead_id, username=current_actor.get().username, action=action, unit_id=unit_id,
                          note=note))


def assign(session: Session, user: User, lead_id: int, unit_id: int | None, note: str = "",
           rules: dict[str, Clocks] = DEADLINES) -> Lead:
    """Dispatch a lead from the manual queue to a unit chosen by the command centre or district."""
    require(user, LEAD_DISPATCH)
    lead = session.execute(leads_in_scope(user).where(Lead.id == lead_id)).unique().scalar_one_or_none()
    if lead is None:
        raise NotFound()
    unit = _unit_or_field_error(session, user, unit_id, "unit_id")
    now = utcnow()
    changed = rowcount(session.execute(
        update(Lead).where(Lead.id == lead.id, Lead.status == LeadStatus.MANUAL)
        .values(status=LeadStatus.DISPATCHED, unit_id=unit.id, dispatched_at=now,
                due_at=verify_due(lead.priority, now, rules))
    ))
    if changed != 1:
        raise Conflict(NOT_IN_MANUAL_QUEUE)
    session.refresh(lead)
    session.add(LeadLeg(lead_id=lead.id, kind="police", unit_id=unit.id, status="open", due_at=lead.due_at))
    if lead.batch.source.two_legs:
        community = load_jurisdiction(session).community_unit(unit.id)
        if community is not None:
            session.add(LeadLeg(lead_id=lead.id, kind="community", unit_id=community, status="open",
                                due_at=lead.due_at))
    _event(session, lead.id, "dispatched", unit.id, note or None)
    session.flush()
    return lead


def _unit_or_field_error(session: Session, user: User, unit_id: int | None, field_name: str) -> Unit:
    try:
        if unit_id is None:
            raise NotFound()
        return get_unit_in_scope(session, user, unit_id)
    except NotFound:
        raise ValidationFailed.one(field_name, N_("Unknown unit.")) from None


@dataclass
class Verification:
    outcome: str = ""
    temperature_c: float | None = None
    symptoms: str = ""
    measure: str = "none"
    note: str = ""
    new_address: str = ""
    new_unit_id: int | None = None
    client_id: str | None = None  # the verifying device's id (offline queue): a resend changes nothing


def _check(v: Verification) -> list[FieldError]:
    errors = []
    if v.outcome not in OUTCOMES:
        errors.append(FieldError("outcome", CHOOSE))
    if v.measure not in MEASURES:
        errors.append(FieldError("measure", CHOOSE))
    if v.temperature_c is not None and not MIN_TEMP <= v.temperature_c <= MAX_TEMP:
        errors.append(FieldError("temperature_c", TEMPERATURE_RANGE, {"low": MIN_TEMP, "high": MAX_TEMP}))
    if v.outcome == "elsewhere" and not v.new_address.strip() and v.new_unit_id is None:
        errors.append(FieldError("new_address", WHERE_NOW))
    if v.client_id is not None and not CLIENT_ID.match(v.client_id):
        errors.append(FieldError("client_id", N_("The device's id of this verification is not valid.")))
    return errors


def _queued_leg(session: Session, user: User, lead_id: int, leg_id: int, client_id: str) -> LeadLeg | None:
    """For a verification sent from the offline queue: the leg already verified with this device id (a resend),
    or a Conflict when the leg was once the user's unit's and has since been handed elsewhere."""
    done = session.execute(select(LeadLeg).where(LeadLeg.verify_client_id == client_id)).scalar_one_or_none()
    if done is not None:
        if done.id != leg_id:
            raise Conflict(N_("This device id was already used for another verification."))
        if done.status != "open":  # verified: a resend shows the lead only to who may still see it
            _leg_in_scope(session, user, lead_id, leg_id)
        return done  # open: this device re-dispatched it; answered as the first time (it may have left us)
    try:
        _leg_in_scope(session, user, lead_id, leg_id)
    except NotFound:
        once_ours = restrict(select(LeadEvent.id).where(LeadEvent.lead_id == lead_id), user, LeadEvent.unit_id)
        if session.execute(once_ours.limit(1)).first() is not None:
            raise Conflict(REASSIGNED) from None
        raise
    return None


def _leg_in_scope(session: Session, user: User, lead_id: int, leg_id: int) -> LeadLeg:
    stmt = restrict(select(LeadLeg).where(LeadLeg.id == leg_id, LeadLeg.lead_id == lead_id), user, LeadLeg.unit_id)
    if user.role == Role.COMMUNITY:
        stmt = stmt.where(LeadLeg.kind == "community")
    leg = session.execute(stmt).scalar_one_or_none()
    if leg is None:
        raise NotFound()
    return leg


def verify_leg(session: Session, user: User, lead_id: int, leg_id: int, v: Verification,
               effects: Effects | None = None) -> Lead:
    """Record the result on the ground and act on it (referral, risk status, the file moves to the verifying
    station, escalation when not found); a person living elsewhere in the city is re-dispatched instead."""
    require(user, LEAD_VERIFY)
    if v.client_id is not None and CLIENT_ID.match(v.client_id):
        done = _queued_leg(session, user, lead_id, leg_id, v.client_id)
        if done is not None:
            lead = session.get(Lead, done.lead_id)
            assert lead is not None
            return lead
    leg = _leg_in_scope(session, user, lead_id, leg_id)
    errors = _check(v)
    if errors:
        raise ValidationFailed(errors)
    if v.outcome == "elsewhere":
        return _redispatch(session, user, leg, v)
    now = utcnow()
    changed = rowcount(session.execute(
        update(LeadLeg).where(LeadLeg.id == leg.id, LeadLeg.status == "open").values(
            status="verified", outcome=v.outcome, temperature_c=v.temperature_c, symptoms=v.symptoms.strip() or None,
            measure=v.measure, note=v.note.strip()[:500] or None, verified_by=user.display_name, verified_at=now,
            verify_client_id=v.client_id)
    ))
    if changed != 1:
        raise Conflict(ALREADY_VERIFIED)
    _event(session, lead_id, f"verified_{leg.kind}", leg.unit_id, OUTCOMES[v.outcome])
    session.flush()
    lead_row = session.get(Lead, lead_id)
    assert lead_row is not None
    consequences = apply_consequences(session, user, lead_row, leg, v.outcome, v.measure, v.temperature_c, now,
                                      effects or Effects())
    if consequences:
        _event(session, lead_id, "consequences", leg.unit_id, ",".join(consequences))
    still_open = session.execute(select(func.count()).where(LeadLeg.lead_id == lead_id,
                                                            LeadLeg.status == "open")).scalar_one()
    if still_open == 0:
        session.execute(update(Lead).where(Lead.id == lead_id, Lead.status == LeadStatus.DISPATCHED)
                        .values(status=LeadStatus.VERIFIED, closed_at=now))
        _event(session, lead_id, "closed")
    session.flush()
    lead = session.get(Lead, lead_id)
    assert lead is not None
    session.refresh(lead)
    return lead


def _redispatch(session: Session, user: User, leg: LeadLeg, v: Verification) -> Lead:
    lead = session.get(Lead, leg.lead_id)
    assert lead is not None
    if v.new_unit_id is not None:
        # The person may live anywhere in the city, beyond the officer's own jurisdiction.
        target = session.get(Unit, v.new_unit_id)
        if target is None or target.kind not in (UnitKind.STATION, UnitKind.DISTRICT):
            raise ValidationFailed.one("new_unit_id", N_("Unknown unit."))
        target_id = target.id
    else:
        placement = load_jurisdiction(session).locate(v.new_address)
        if placement.unit_id is None or placement.kind != "station":
            raise ValidationFailed.one("new_address", N_("No station owns this address; choose the unit."))
        target_id = placement.unit_id
    changed = rowcount(session.execute(update(LeadLeg).where(LeadLeg.id == leg.id, LeadLeg.status == "open",
                                                             LeadLeg.unit_id == leg.unit_id)
                                       .values(unit_id=target_id, verify_client_id=v.client_id)))
    if changed != 1:
        raise Conflict(ALREADY_VERIFIED)
    if leg.kind == "police":
        lead.unit_id = target_id
        if v.new_address.strip():
            lead.current_address = v.new_address.strip()[:255]
    _event(session, lead.id, "redispatched", target_id, v.note.strip()[:500] or None)
    session.flush()
    return lead


@dataclass(frozen=True)
class UnitRate:
    unit_id: int
    unit_name: str
    due: int
    on_time: int
    late: int
    overdue: int
    open: int = 0
    due_soon: int = 0  # open and due within the hour

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


def on_time_rates(session: Session, user: User) -> list[UnitRate]:
    """Return the per-unit board: legs due so far, on time, late, overdue, open, and due within the hour."""
    require(user, LEAD_READ)
    now = utcnow()
    due_now = LeadLeg.due_at <= now
    on_time = and_(LeadLeg.status == "verified", LeadLeg.verified_at <= LeadLeg.due_at)
    late = and_(LeadLeg.status == "verified", LeadLeg.verified_at > LeadLeg.due_at)
    overdue = and_(LeadLeg.status == "open", due_now)
    soon = and_(LeadLeg.status == "open", LeadLeg.due_at > now, LeadLeg.due_at <= now + timedelta(hours=1))
    stmt = restrict(select(
        Unit.id, Unit.name,
        func.sum(case((on_time, 1), (late, 1), (overdue, 1), else_=0)),
        func.sum(case((on_time, 1), else_=0)), func.sum(case((late, 1), else_=0)),
        func.sum(case((overdue, 1), else_=0)), func.sum(case((LeadLeg.status == "open", 1), else_=0)),
        func.sum(case((soon, 1), else_=0)),
    ).join(LeadLeg, LeadLeg.unit_id == Unit.id).group_by(Unit.id, Unit.name).order_by(Unit.name), user, Unit.id)
    return [UnitRate(unit_id, name, *(int(x or 0) for x in sums)) for unit_id, name, *sums in session.execute(stmt)]


def lead_counts(session: Session, user: User, batch_id: int | None = None) -> dict[str, Any]:
    """Return counts by status (and overdue) for the user's jurisdiction or one batch."""
    require(user, LEAD_READ)
    stmt = restrict(select(Lead.status, func.count()).group_by(Lead.status), user, Lead.unit_id)
    if batch_id is not None:
        stmt = stmt.where(Lead.batch_id == batch_id)
    counts: dict[str, Any] = dict(session.execute(stmt).all())
    overdue = restrict(select(func.count(func.distinct(LeadLeg.lead_id))).join(Lead, Lead.id == LeadLeg.lead_id)
                       .where(LeadLeg.status == "open", LeadLeg.due_at < utcnow()), user, Lead.unit_id)
    if batch_id is not None:
        overdue = overdue.where(Lead.batch_id == batch_id)
    counts["overdue"] = session.execute(overdue).scalar_one()
    return counts
