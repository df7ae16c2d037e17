"""The command picture: tiles (today against yesterday), trends, on-time rates and overdue leads by
unit, the map of the jurisdiction shaded by a chosen figure, and the alerts that wait for someone. Read
from the daily roll-up and a few indexed counts; drill-down goes city → district → station."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.command import rollup
from fangkong.command.levels import LEVEL_LABELS, response_on
from fangkong.core.access import in_jurisdiction, restrict, scope_path
from fangkong.core.capability import FigureKind
from fangkong.core.clock import local_time
from fangkong.core.codes.areas import lookup_area
from fangkong.core.db import utcnow
from fangkong.core.errors import NotFound
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import Unit, User
from fangkong.leads.models import Lead, LeadLeg, LeadStatus
from fangkong.observation.models import Referral

TILES = ("checkpoints.vehicles", "checkpoints.persons", "checkpoints.fever", "leads.received", "leads.verified",
         "leads.overdue", "observation.under_observation", "observation.followups_done", "observation.referrals",
         "tracing.close_contacts", "registration.arrivals", "deployments.officer_shifts")
TRENDS = ("checkpoints.persons", "leads.received", "leads.verified", "observation.under_observation",
          "observation.referrals")
MAP_DEFAULT = "checkpoints.persons"
TREND_DAYS = 14
# The seeds' sentences: "登记车辆 N 辆，人员 N 名" … (msgid, keys)
SENTENCES = ((N_("Vehicles registered: {a}; persons: {b}"), ("checkpoints.vehicles", "checkpoints.persons")),
             (N_("Leads received: {a}; verified: {b}"), ("leads.received", "leads.verified")),
             (N_("Follow-ups done: {a}; referrals to health: {b}"),
              ("observation.followups_done", "observation.referrals")),
             (N_("Close contacts traced: {a}; secondary: {b}"),
              ("tracing.close_contacts", "tracing.secondary_contacts")),
             (N_("Officers deployed: {a} person-shifts; police vehicles: {b} trips"),
              ("deployments.officer_shifts", "deployments.vehicle_trips")),
             (N_("Offence cases solved: {a}; persons dealt with: {b}"),
              ("deployments.cases_solved", "deployments.persons_dealt")))


def focus_unit(session: Session, user: User, unit_id: int | None) -> Unit:
    """Return the unit to show: the user's own, or one of its jurisdiction (drill-down)."""
    if unit_id is None:
        return user.unit
    unit = session.get(Unit, unit_id)
    if unit is None or not in_jurisdiction(user, unit):
        raise NotFound()
    return unit


def _region(code: str | None) -> str | None:
    """Return the short GB/T 2260 name the map's polygons carry (城关区), if the unit covers an area."""
    area = lookup_area(code) if code else None
    return area.name if area else None


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Alerts:
    overdue_legs: int
    open_referrals: int


def alerts(session: Session, user: User, unit: Unit, overdue_minutes: int) -> Alerts:
    """Return what waits now in the unit's subtree: overdue lead legs, referrals health has not taken."""
    now = utcnow()
    units = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))
    legs = session.execute(restrict(select(func.count(LeadLeg.id)).join(Lead, Lead.id == LeadLeg.lead_id)
                                    .where(LeadLeg.status == "open", LeadLeg.due_at < now,
                                           Lead.status.not_in(LeadStatus.CLOSED), LeadLeg.unit_id.in_(units)),
                                    user, LeadLeg.unit_id)).scalar_one()
    from fangkong.people.models import Person

    referrals = session.execute(restrict(select(func.count(Referral.id)).join(Person, Person.id == Referral.person_id)
                                         .where(Referral.acknowledged_at.is_(None), Person.unit_id.in_(units)),
                                         user, Person.unit_id)).scalar_one()
    return Alerts(legs, referrals)


def dashboard_data(session: Session, user: User, unit: Unit, kinds: dict[str, FigureKind], today: date,
                   map_key: str, settings: Any) -> dict[str, Any]:
    """Return everything the dashboard and the big screen draw, as JSON-ready data (no personal data)."""
    first = today - timedelta(days=TREND_DAYS - 1)
    s = rollup.series(session, kinds, unit.path, first, today)
    label = {k: gettext(v.label) for k, v in kinds.items()}
    tiles = [{"key": k, "label": label[k], "today": s.values[k][-1], "yesterday": s.values[k][-2],
              "unit": gettext(kinds[k].unit) if kinds[k].unit else ""} for k in TILES if k in kinds]
    response = response_on(session, today)
    _, running = rollup.totals(session, kinds, unit.path, today, response.began if response else first)
    map_key = map_key if map_key in kinds else MAP_DEFAULT
    wanted = ["leads.verified", "leads.verified_on_time", map_key]
    children = rollup.by_child(session, wanted, unit, today, today)
    overdue_now = rollup.by_child(session, ["leads.overdue"], unit, today, today)
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.parent_id == unit.id)).all())
    codes = dict(session.execute(select(Unit.id, Unit.area_code).where(Unit.parent_id == unit.id)).all())
    by_unit = [{"id": cid, "name": names[cid], "region": _region(codes.get(cid)) or names[cid],
                "on_time": _pct(v["leads.verified_on_time"], v["leads.verified"]),
                "overdue": overdue_now[cid]["leads.overdue"], "value": v[map_key]}
               for cid, v in children.items()]
    a = alerts(session, user, unit, settings.referral_overdue_minutes)
    built = rollup.built_at(session, today)
    return {
        "unit": {"id": unit.id, "name": unit.name, "drill_up": unit.parent_id if unit.path != scope_path(user)
                 and unit.parent_id else None},
        "day": today.isoformat(), "built_at": local_time(built, "%H:%M") if built else None,
        "response": {"label": gettext(LEVEL_LABELS[response.level]), "began": response.began.isoformat()}
        if response else None,
        "tiles": tiles,
        "sentences": [gettext(msg, a=f"{running.get(x, 0):,}", b=f"{running.get(y, 0):,}")
                      for msg, (x, y) in SENTENCES if x in kinds and y in kinds],
        "trend": {"days": [d.isoformat()[5:] for d in s.days],
                  "series": {label[k]: s.values[k] for k in TRENDS if k in kinds}},
        "map": {"key": map_key, "label": label[map_key], "units": by_unit,
                "on_time_label": gettext("Verified on time (%)"), "overdue_label": gettext("Overdue now")},
        "alerts": {"overdue_legs": a.overdue_legs, "open_referrals": a.open_referrals},
        "map_keys": [{"key": k, "label": label[k]} for k in kinds],
    }
