"""Lead rules that act by themselves: an overdue leg escalates to the unit above and that unit is told;
a verified lead not reported back by its report-back clock is flagged to the unit that took it in;
a verification's measure has its consequence (referral, risk status and observation, escalation when
the person is not found); a leg can be handed on to the unit that should have it.

The scheduler runs the jobs as the system, so escalations are attributed to the system, not to
whoever happened to open a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.core.access import LEAD_VERIFY, require, scope_path
from fangkong.core.clock import local_time
from fangkong.core.db import rowcount
from fangkong.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, Unit, UnitKind, User
from fangkong.core.notify import notify
from fangkong.core.protocol import FEVER_C
from fangkong.core.scheduler import JobContext
from fangkong.leads.models import Lead, LeadBatch, LeadEvent, LeadLeg, LeadStatus
from fangkong.observation.models import Referral
from fangkong.observation.status import change_status
from fangkong.people.models import Person

ESCALATED = N_("Lead #{lead} is overdue at {unit}: escalated to you.")
NOT_REPORTED = N_("Lead #{lead} is verified but not reported back upstream (due {due}).")
NOT_FOUND = N_("Lead #{lead}: {unit} did not find the person at the address.")
FORWARDED = N_("Lead #{lead} was handed on to your unit by {unit}.")
OUTSIDE_REACH = N_("Hand the lead on within your district (a station of it, or a neighbouring one).")
ALREADY_MOVED = N_("This leg was verified or handed on meanwhile: reload the lead.")


def _event(session: Session, lead_id: int, action: str, unit_id: int | None, note: str | None = None,
           username: str = "system") -> None:
    session.add(LeadEvent(lead_id=lead_id, username=username, action=action, unit_id=unit_id, note=note))


def escalation_job(session: Session, ctx: JobContext) -> int:
    """Escalate every open leg past its deadline to the unit above, once, and tell that unit."""
    legs = session.execute(select(LeadLeg.id, LeadLeg.lead_id, Unit.parent_id, Unit.name)
                           .join(Unit, Unit.id == LeadLeg.unit_id)
                           .where(LeadLeg.status == "open", LeadLeg.due_at < ctx.now,
                                  LeadLeg.escalated_at.is_(None))).all()
    done = 0
    for leg_id, lead_id, parent_id, unit_name in legs:
        changed = rowcount(session.execute(update(LeadLeg).where(LeadLeg.id == leg_id, LeadLeg.escalated_at.is_(None))
                                           .values(escalated_at=ctx.now)))
        if not changed:
            continue
        done += 1
        _event(session, lead_id, "escalated", parent_id)
        if parent_id is not None:
            notify(session, kind="escalation", message=ESCALATED, href=f"/leads/{lead_id}", unit_id=parent_id,
                   dedupe_key=f"escalated:{leg_id}", lead=lead_id, unit=unit_name)
    return done


def report_back_job(session: Session, ctx: JobContext) -> int:
    """Tell the unit that took a lead in when its result is due upstream and has not gone back."""
    late = session.execute(select(Lead.id, Lead.report_due_at, LeadBatch.unit_id)
                           .join(LeadBatch, LeadBatch.id == Lead.batch_id)
                           .where(Lead.status == LeadStatus.VERIFIED, Lead.fed_back_at.is_(None),
                                  Lead.report_due_at < ctx.now)).all()
    told = 0
    for lead_id, due, unit_id in late:
        told += notify(session, kind="report_back", message=NOT_REPORTED, href=f"/leads/{lead_id}", unit_id=unit_id,
                       dedupe_key=f"report:{lead_id}", lead=lead_id, due=local_time(due))
    return told


@dataclass(frozen=True)
class Effects:
    """What a verification's consequences need from the deployment: the protocol profile and the
    status listeners (tracing upgrades secondary contacts)."""

    profile: str = "edition-9"
    listeners: tuple[Any, ...] = field(default_factory=tuple)


def effects_of(request: Any) -> Effects:
    """Return the consequences' configuration of the app serving the request."""
    return Effects(request.app.state.settings.protocol_profile, tuple(request.app.state.status_listeners))


def status_for(kind: str | None, measure: str, fever: bool) -> str | None:
    """Return the risk status a verification's measure sets, from what the lead says the person is."""
    text = kind or ""
    if measure in ("home_observation", "centralised_quarantine"):
        if "次密" in text:
            return "secondary_contact"
        if "密接" in text or "密切接触" in text:
            return "close_contact"
        return "arrival_high" if measure == "centralised_quarantine" else "arrival_medium"
    if measure == "referral" or fever:
        return "fever_referral"
    return None


def apply_consequences(session: Session, user: User, lead: Lead, leg: LeadLeg, outcome: str, measure: str,
                       temperature_c: float | None, now: datetime, effects: Effects) -> list[str]:
    """Act on a police leg's result; return what was done (for the lead's history)."""
    done: list[str] = []
    if leg.kind != "police" or lead.person_id is None:
        return done
    if outcome == "not_found":
        parent = session.get(Unit, leg.unit_id)
        if parent is not None and parent.parent_id is not None:
            notify(session, kind="not_found", message=NOT_FOUND, href=f"/leads/{lead.id}", unit_id=parent.parent_id,
                   dedupe_key=f"not_found:{leg.id}", lead=lead.id, unit=parent.name)
            _event(session, lead.id, "escalated", parent.parent_id, "not_found", user.username)
            done.append("escalated")
        return done
    person = session.get(Person, lead.person_id)
    if person is not None and outcome == "found" and person.unit_id != leg.unit_id:
        # the verifying station is now responsible for the file; the audit row keeps the old owner
        person.unit_id = leg.unit_id
        if lead.current_address:
            person.current_address = lead.current_address
        session.flush()
        done.append("file_moved")
    fever = temperature_c is not None and temperature_c >= FEVER_C
    if measure == "referral" or fever:
        reason = f"线索核查：体温 {temperature_c:.1f}" if fever and temperature_c is not None else "线索核查：移交卫健"
        session.add(Referral(source="lead", person_id=lead.person_id, at=now, reason=reason, lead_id=lead.id))
        done.append("referred")
    status = status_for(lead.kind, measure, fever)
    if status is not None:
        try:
            with session.begin_nested():
                change_status(session, user, lead.person_id, status, f"线索核查 #{lead.id}",
                              profile_name=effects.profile, listeners=effects.listeners)
            done.append(status)
        except (ValidationFailed, DomainError):  # already so, or a case: the status stays as it is
            pass
    session.flush()
    return done


def forward_leg(session: Session, user: User, lead_id: int, leg_id: int, unit_id: int, note: str) -> LeadLeg:
    """Hand an open leg on to another unit: down (district → station) or sideways (a neighbouring station)."""
    require(user, LEAD_VERIFY)
    if user.role == Role.COMMUNITY:  # cadres verify their community legs; police units route leads
        raise Forbidden()
    leg = session.execute(select(LeadLeg).join(Unit, Unit.id == LeadLeg.unit_id)
                          .where(LeadLeg.id == leg_id, LeadLeg.lead_id == lead_id,
                                 Unit.path.startswith(scope_path(user), autoescape=True))).scalar_one_or_none()
    if leg is None:
        raise NotFound()
    target = session.get(Unit, unit_id)
    reach = _reach(user)
    if target is None or target.kind not in (UnitKind.STATION, UnitKind.DISTRICT) or \
            not target.path.startswith(reach) or target.id == leg.unit_id:
        raise ValidationFailed.one("unit_id", OUTSIDE_REACH)
    changed = rowcount(session.execute(update(LeadLeg).where(LeadLeg.id == leg.id, LeadLeg.status == "open",
                                                             LeadLeg.unit_id == leg.unit_id)
                                       .values(unit_id=target.id, escalated_at=None)))
    if changed != 1:
        raise Conflict(ALREADY_MOVED)
    if leg.kind == "police":
        session.execute(update(Lead).where(Lead.id == lead_id).values(unit_id=target.id))
    _event(session, lead_id, "forwarded", target.id, note.strip()[:500] or None, user.username)
    notify(session, kind="forwarded", message=FORWARDED, href=f"/leads/{lead_id}", unit_id=target.id,
           dedupe_key=f"forwarded:{leg.id}:{target.id}:{datetime.now().timestamp():.0f}", lead=lead_id,
           unit=user.unit.name)
    session.flush()
    session.refresh(leg)
    return leg


def _reach(user: User) -> str:
    """Return the subtree a user may hand legs on to: its own unit's parent's (its district, for a station)."""
    unit = user.unit
    if unit.kind == UnitKind.STATION and unit.parent_id is not None:
        return unit.path.rsplit("/", 2)[0] + "/"
    return scope_path(user)
