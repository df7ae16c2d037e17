"""What the case page, its graph and the trace report read (issue 22): the case's contacts, each with the
unit it goes to and, once dispatched, its lead. A handful of queries whatever the number of contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.db import in_chunks, one_of, utcnow
from fangkong.core.models import Unit, User
from fangkong.leads.models import Lead, LeadStatus
from fangkong.tracing.cases import CaseView, Presence, case_view
from fangkong.tracing.contacts import UnitInfo
from fangkong.tracing.dispatch import DispatchPlan, pending, plan_rows


@dataclass(frozen=True)
class LeadInfo:
    id: int
    unit_id: int
    status: str
    due_at: datetime | None

    @property
    def overdue(self) -> bool:
        return self.status in (LeadStatus.DISPATCHED, LeadStatus.MANUAL) and self.due_at is not None \
            and self.due_at < utcnow()


@dataclass(frozen=True)
class CaseData:
    view: CaseView
    units: dict[int, UnitInfo]
    unit_of: dict[int, int | None]  # exposure id → the unit its lead went (or goes) to
    leads: dict[int, LeadInfo]  # lead id → the lead's unit and state
    plan: DispatchPlan | None  # the contacts not yet dispatched, placed

    def unit_name(self, exposure_id: int) -> str:
        unit_id = self.unit_of.get(exposure_id)
        return self.units[unit_id].name if unit_id in self.units else ""


def case_data(session: Session, user: User, person_id: int, presence: Presence, action: str = "trace_view",
              **detail: object) -> CaseData:
    """Return a case's contacts with their units and leads (the read audited as `action`)."""
    view = case_view(session, user, person_id, presence, action, **detail)
    units = {u.id: UnitInfo(u.id, u.name, u.parent_id, u.path) for u in session.execute(
        select(Unit.id, Unit.name, Unit.parent_id, Unit.path)).all()}
    root = next((u.id for u in units.values() if u.parent_id is None), None)
    contacts = view.close + view.secondary
    leads = _leads(session, [c.exposure.lead_id for c in contacts if c.exposure.lead_id])
    plan = None
    if view.case is not None:
        people = {c.person.id: c.person for c in contacts if c.person is not None}
        plan = plan_rows(session, view.person, view.case, pending(view.case), people)
    planned = {row.id: (p.unit_id or root) if p is not None else None
               for row, p in zip(plan.rows, plan.placements, strict=True)} if plan else {}
    unit_of: dict[int, int | None] = {}
    for c in contacts:
        x = c.exposure
        if x.lead_id and x.lead_id in leads:
            unit_of[x.id] = leads[x.lead_id].unit_id
        elif planned.get(x.id) is not None:
            unit_of[x.id] = planned[x.id]
        else:
            unit_of[x.id] = c.person.unit_id if c.person is not None else None
    return CaseData(view, units, unit_of, leads, plan)


def _leads(session: Session, ids: list[int]) -> dict[int, LeadInfo]:
    found: dict[int, LeadInfo] = {}
    for chunk in in_chunks(session, sorted(set(ids))):
        for lead_id, unit_id, status, due_at in session.execute(
                select(Lead.id, Lead.unit_id, Lead.status, Lead.due_at).where(one_of(session, Lead.id, chunk))):
            found[lead_id] = LeadInfo(lead_id, unit_id, status, due_at)
    return found
