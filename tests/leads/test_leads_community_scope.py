"""Issue 17, finding 7: a community cadre opens only leads that have a community leg of theirs."""

from __future__ import annotations

from sqlalchemy import select, update

from fangkong.core.access import scope_path
from fangkong.core.models import Unit, User
from fangkong.leads.models import Lead, LeadLeg


def test_community_cannot_open_police_only_leads_by_id(personas, db) -> None:
    with db.sessions() as s, s.begin():  # move the leads to a station of the cadre's district
        cadre = s.execute(select(User).where(User.username == "community")).scalar_one()
        station = s.execute(select(Unit.id).where(Unit.path.startswith(scope_path(cadre)), Unit.kind == "station")
                            .limit(1)).scalar_one()
        s.execute(update(Lead).values(unit_id=station))
        s.execute(update(LeadLeg).values(unit_id=station))
    with db.sessions() as s:
        with_community = set(s.execute(select(LeadLeg.lead_id).where(LeadLeg.kind == "community")).scalars())
        cadre = s.execute(select(User).where(User.username == "community")).scalar_one()
        district = scope_path(cadre)  # the cadre's unit sits under a district: the leads there are in reach
        in_reach = s.execute(select(Lead.id).join(Unit, Unit.id == Lead.unit_id)
                             .where(Unit.path.startswith(district)).order_by(Lead.id)).scalars()
        police_only = [i for i in in_reach if i not in with_community]
    assert police_only, "the demo city has police-only leads in the cadre's district"
    c, headers = personas.browser("community"), personas.headers("community")
    answers = {c.get(f"/api/v1/leads/{lead_id}", headers=headers).status_code for lead_id in police_only[:40]}
    assert answers == {404}
