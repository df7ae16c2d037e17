"""What public registration hands to other capabilities: leads (through the leads intake) and risk
status (through people.status), in the name of the city, since the public has no account.

The audit rows still name the real actor (anonymous, with the request's IP and id): the stand-in
user below only carries the city's jurisdiction into use cases that take a user.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.context import current_actor
from fangkong.core.models import Role, Unit, User
from fangkong.leads.intake import LeadInput, get_or_create_source, take_in
from fangkong.leads.models import LeadBatch, LeadSource

INTAKE_NAME = "公众自主登记"  # who set a status, as people.status records it


def city_unit(session: Session) -> Unit:
    return session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).scalar_one()


def acting_for_city(session: Session) -> User:
    """Return a transient (never saved) command-centre user of the city unit, for use cases that take one."""
    return User(id=None, username="system:registration", display_name=INTAKE_NAME, role=Role.COMMAND,
                unit=city_unit(session), unit_id=None, active=False, password_hash="!")


def _day_batch(session: Session, source_name: str, now: datetime) -> tuple[LeadSource, LeadBatch]:
    """Return the source and its system batch of the local day (one batch a day, as for manual entries)."""
    source = _source(session, source_name)
    day = now.astimezone(LOCAL_TZ).strftime("%Y-%m-%d")
    batch = session.execute(select(LeadBatch).where(LeadBatch.source_id == source.id, LeadBatch.channel == "system",
                                                    LeadBatch.reference == day).order_by(LeadBatch.id).limit(1)
                            ).scalar_one_or_none()
    if batch is None:
        batch = LeadBatch(source_id=source.id, channel="system", reference=day, unit_id=city_unit(session).id,
                          received_by=current_actor.get().username[:64])
        session.add(batch)
        session.flush()
    return source, batch


def _source(session: Session, name: str) -> LeadSource:
    """Return the lead source, creating it once even when two first registrations race (PostgreSQL)."""
    found = session.execute(select(LeadSource).where(LeadSource.name == name)).scalar_one_or_none()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            return get_or_create_source(session, name)
    except IntegrityError:
        return session.execute(select(LeadSource).where(LeadSource.name == name)).scalar_one()


def raise_lead(session: Session, source_name: str, item: dict[str, object], now: datetime) -> int:
    """Take one lead in through the leads intake (dispatched by its address); return its id."""
    source, batch = _day_batch(session, source_name, now)
    result = take_in(session, source, batch, [LeadInput(**item)])  # type: ignore[arg-type]
    return result.lead_ids[0]
