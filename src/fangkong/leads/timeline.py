"""The leads' contribution to a person's timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.i18n import N_
from fangkong.leads.models import Lead, LeadLeg, LeadSource
from fangkong.leads.workflow import OUTCOMES, STATUS_LABELS
from fangkong.people.timeline import TimelineEntry


def lead_entries(session: Session, person_id: int) -> list[TimelineEntry]:
    rows = session.execute(select(Lead, LeadSource.name).join(LeadSource, LeadSource.id == Lead.source_id)
                           .where(Lead.person_id == person_id)).all()
    entries = []
    for lead, source in rows:
        entries.append(TimelineEntry(lead.received_at, N_("Lead received"),
                                     (source, lead.kind or "", STATUS_LABELS.get(lead.status, lead.status)),
                                     f"/leads/{lead.id}"))
    legs = session.execute(select(LeadLeg).join(Lead, Lead.id == LeadLeg.lead_id).where(
        Lead.person_id == person_id, LeadLeg.verified_at.is_not(None))).scalars()
    for leg in legs:
        entries.append(TimelineEntry(leg.verified_at, N_("Lead verified"),  # type: ignore[arg-type]
                                     (OUTCOMES.get(leg.outcome or "", ""), leg.verified_by or ""),
                                     f"/leads/{leg.lead_id}"))
    return entries
