"""Leads' daily figures (核查线索): received by priority, verified, verified on time, overdue, per unit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from fangkong.core.capability import DayWindow, Figure, FigureKind
from fangkong.core.i18n import N_
from fangkong.leads.deadlines import PRIORITIES
from fangkong.leads.models import Lead, LeadLeg, LeadStatus

KINDS = (
    FigureKind("leads.received", N_("Leads received"), N_("leads")),
    *(FigureKind(f"leads.received_{p}", label, N_("leads")) for p, label in (
        ("express", N_("Express leads received")), ("urgent", N_("Urgent leads received")),
        ("normal", N_("Normal leads received")))),
    FigureKind("leads.verified", N_("Leads verified"), N_("leads")),
    FigureKind("leads.verified_on_time", N_("Leads verified on time"), N_("leads")),
    FigureKind("leads.overdue", N_("Leads overdue (open past deadline)"), N_("leads"), kind="stock", incident=True),
    FigureKind("leads.escalated", N_("Lead legs escalated"), N_("legs"), incident=True),
)
assert {k.key for k in KINDS} >= {f"leads.received_{p}" for p in PRIORITIES}


def daily_figures(session: Session, window: DayWindow) -> Iterable[Figure]:
    """Return the day's counts per responsible unit (received by the unit the lead lies with now)."""
    received = session.execute(
        select(Lead.unit_id, Lead.priority, func.count(Lead.id))
        .where(Lead.received_at >= window.start, Lead.received_at < window.end)
        .group_by(Lead.unit_id, Lead.priority)).all()
    totals: dict[int, int] = {}
    for unit_id, priority, n in received:
        totals[unit_id] = totals.get(unit_id, 0) + n
        yield unit_id, f"leads.received_{priority}", n
    yield from ((u, "leads.received", n) for u, n in totals.items())
    verified = session.execute(
        select(LeadLeg.unit_id, func.count(LeadLeg.id),
               func.sum(case((LeadLeg.verified_at <= LeadLeg.due_at, 1), else_=0)))
        .where(LeadLeg.verified_at >= window.start, LeadLeg.verified_at < window.end)
        .group_by(LeadLeg.unit_id)).all()
    for unit_id, n, on_time in verified:
        yield unit_id, "leads.verified", n
        yield unit_id, "leads.verified_on_time", int(on_time or 0)
    overdue = session.execute(  # open at the day's end, past its deadline then
        select(LeadLeg.unit_id, func.count(LeadLeg.id))
        .join(Lead, Lead.id == LeadLeg.lead_id)
        .where(LeadLeg.due_at < window.end, Lead.received_at < window.end, Lead.status.not_in(LeadStatus.CLOSED),
               (LeadLeg.verified_at.is_(None)) | (LeadLeg.verified_at >= window.end))
        .group_by(LeadLeg.unit_id)).all()
    yield from ((u, "leads.overdue", n) for u, n in overdue)
    escalated = session.execute(
        select(LeadLeg.unit_id, func.count(LeadLeg.id))
        .where(and_(LeadLeg.escalated_at >= window.start, LeadLeg.escalated_at < window.end))
        .group_by(LeadLeg.unit_id)).all()
    yield from ((u, "leads.escalated", n) for u, n in escalated)
