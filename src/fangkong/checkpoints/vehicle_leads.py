"""Vehicle leads (涉疫车辆): a plate pushed from above pulls up every passage of that plate at the city's
checkpoints, and each person who travelled in it becomes a person lead, dispatched by the address in
their file (or to the manual queue), with the plate and the passage on the lead."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import Checkpoint, Passage, PassagePerson
from fangkong.core import audit
from fangkong.core.access import LEAD_INTAKE, require
from fangkong.core.clock import LOCAL_TZ, local_time
from fangkong.core.codes import CodeError, normalize_plate
from fangkong.core.db import utcnow
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.leads.deadlines import PRIORITIES, Clocks
from fangkong.leads.intake import RawLead, submit_leads
from fangkong.leads.models import Lead
from fangkong.people.models import Person

KIND = "涉疫车辆乘员"
MAX_DAYS = 60
NO_PASSAGES = N_("No passage of this plate in the period: nothing to dispatch.")
BAD_PERIOD = N_("Give a period of at most {days} days ending today at the latest.")


@dataclass(frozen=True)
class Occupant:
    person_id: int
    name: str
    id_number: str | None
    role: str
    checkpoint: str
    at: datetime


@dataclass
class VehicleTrace:
    plate: str
    passages: int = 0
    occupants: list[Occupant] = field(default_factory=list)


def aware(moment: datetime | None) -> datetime | None:
    """A time without an offset is local time (Asia/Shanghai), as staff write it."""
    return moment.replace(tzinfo=LOCAL_TZ) if moment is not None and moment.tzinfo is None else moment


def _plate(raw: str) -> str:
    try:
        return normalize_plate(raw).number
    except CodeError as exc:
        raise ValidationFailed.one("plate", exc.message, **exc.params) from None


def trace_plate(session: Session, user: User, plate: str, since: datetime | None = None,
                until: datetime | None = None) -> VehicleTrace:
    """Return every passage of the plate in the period (default: the last 14 days) with its people."""
    require(user, LEAD_INTAKE)
    number = _plate(plate)
    since, until = (aware(x) for x in (since, until))
    until = until or utcnow()
    since = since or until - timedelta(days=14)
    if since >= until or until - since > timedelta(days=MAX_DAYS) or until > utcnow() + timedelta(days=1):
        raise ValidationFailed.one("since", BAD_PERIOD, days=MAX_DAYS)
    rows = session.execute(
        select(Passage.id, Passage.at, Checkpoint.name, PassagePerson.person_id, PassagePerson.name,
               PassagePerson.id_number, PassagePerson.role)
        .join(Checkpoint, Checkpoint.id == Passage.checkpoint_id)
        .join(PassagePerson, PassagePerson.passage_id == Passage.id)
        .where(Passage.plate == number, Passage.at >= since, Passage.at < until)
        .order_by(Passage.at)).all()
    found = VehicleTrace(number, passages=len({r[0] for r in rows}))
    seen: set[int] = set()
    for _pid, at, checkpoint, person_id, name, id_number, role in rows:
        if person_id not in seen:
            seen.add(person_id)
            found.occupants.append(Occupant(person_id, name, id_number, role, checkpoint, at))
    audit.record(session, "list", "passages", None, plate=number, results=found.passages, purpose="vehicle lead")
    return found


def dispatch_vehicle_lead(session: Session, user: User, source: str, plate: str, priority: str, note: str,
                          rules: dict[str, Clocks], since: datetime | None = None,
                          until: datetime | None = None) -> tuple[VehicleTrace, list[int]]:
    """Dispatch every occupant of the plate's passages as a person lead; return the trace and the lead ids."""
    if priority not in PRIORITIES:
        raise ValidationFailed([FieldError("priority", N_("Choose one of the options."))])
    found = trace_plate(session, user, plate, since, until)
    if not found.occupants:
        raise ValidationFailed.one("plate", NO_PASSAGES)
    addresses = dict(session.execute(select(Person.id, Person.current_address).where(
        Person.id.in_([o.person_id for o in found.occupants]))).all())
    raws = [RawLead(name=o.name, id_number=o.id_number or "", current_address=addresses.get(o.person_id) or "",
                    kind=KIND, priority=priority,
                    note=f"{found.plate} {local_time(o.at)} 经{o.checkpoint}（{note.strip()[:200]}）")
            for o in found.occupants if o.id_number]
    if not raws:
        raise ValidationFailed.one("plate", NO_PASSAGES)
    _batch, result = submit_leads(session, user, source or "涉疫车辆", "api", raws, f"车牌 {found.plate}",
                                  rules=rules, priority=priority)
    session.execute(Lead.__table__.update().where(Lead.id.in_(result.lead_ids)).values(plate=found.plate))
    return found, result.lead_ids
