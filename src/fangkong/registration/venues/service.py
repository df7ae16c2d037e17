"""Venue use cases: the registry and its codes, who came and went, linking visits to person files,
inspections and closure orders with their counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import VENUE_INSPECT, VENUE_MANAGE, VENUE_READ, VISIT_READ, require, restrict
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.context import current_actor
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, Unit, User
from fangkong.core.paging import Page, paginate
from fangkong.core.units import get_unit_in_scope
from fangkong.people.matching import IncomingRecord, link_persons
from fangkong.registration.venues.checkin_limits import new_token
from fangkong.registration.venues.models import Inspection, Venue, Visit

KINDS = {"market": N_("Market"), "supermarket": N_("Supermarket"), "pharmacy": N_("Pharmacy"),
         "hospital": N_("Hospital"), "quarantine_site": N_("Quarantine site"),
         "residential_compound": N_("Residential compound"), "village": N_("Village"),
         "station": N_("Station (rail, bus)"), "shop": N_("Shop"), "entertainment": N_("Entertainment venue"),
         "other": N_("Other")}
COMMUNITY_KINDS = ("residential_compound", "village")  # the entry/exit registration community cadres keep
INSPECTION_KINDS = {"inspection": N_("Inspection"), "closure": N_("Closure order")}
STATUSES = {"open": N_("Open, in force"), "closed": N_("Closed, lifted"), "reopened": N_("Reopened")}
# An inspection stays open until its findings are put right; a closure order is open while in force.
# Either may be reopened after closing (a repeat finding, a renewed order).
NEXT_STATUS = {"open": ("closed",), "closed": ("reopened",), "reopened": ("closed",)}
CHOOSE = N_("Choose one of the options.")
STATUS_CHANGED = N_("The status was changed meanwhile; reload the page.")
NO_OPEN_VISIT = N_("There is no open check-in at this venue on this phone. Check in first.")
VISIT_ENDED = N_("This check-in was more than {hours} hours ago and has ended on its own. If you are here now, "
                 "check in again.")
# A check-in can be checked out this long after (the phone keeps its open visit as long). Later, the visit
# keeps its assumed stay: a check-out days later would record days at the venue, and tracing's store
# rewrites only today's and yesterday's stays (tracing.sync.OPEN_DAYS).
OPEN_VISIT = timedelta(hours=12)


# --- registry ------------------------------------------------------------------------------------

def visible_venues(user: User) -> Select[Venue]:
    """Venues in the user's jurisdiction; community cadres see only compounds and villages."""
    stmt = restrict(select(Venue), user, Venue.unit_id)
    if user.role == Role.COMMUNITY:
        stmt = stmt.where(Venue.kind.in_(COMMUNITY_KINDS))
    return stmt


def list_venues(session: Session, user: User, q: str = "", kind: str = "", page: int = 1,
                page_size: int = 50) -> Page[Venue]:
    require(user, VENUE_READ)
    stmt = visible_venues(user)
    if q.strip():
        stmt = stmt.where(Venue.name.contains(q.strip()[:50], autoescape=True))
    if kind in KINDS:
        stmt = stmt.where(Venue.kind == kind)
    return paginate(session, stmt.order_by(Venue.name, Venue.id), page, page_size)


def get_venue(session: Session, user: User, venue_id: int, action: str = VENUE_READ) -> Venue:
    """Return a venue the user may `action`, else NotFound (outside the jurisdiction) or Forbidden."""
    require(user, action)
    found = session.execute(visible_venues(user).where(Venue.id == venue_id)).scalar_one_or_none()
    if found is None:
        raise NotFound()
    return found


@dataclass
class VenueInput:
    name: str = ""
    kind: str = "market"
    address: str = ""
    unit_id: int | None = None


def save_venue(session: Session, user: User, data: VenueInput, venue_id: int | None = None) -> Venue:
    """Create a venue (with a fresh code) or change its details."""
    require(user, VENUE_MANAGE)
    name, address = " ".join(data.name.split()), " ".join(data.address.split())
    errors = []
    if not name:
        errors.append(FieldError("name", N_("Enter the name.")))
    elif len(name) > 100:
        errors.append(FieldError("name", N_("At most {n} characters."), {"n": 100}))
    if len(address) > 255:
        errors.append(FieldError("address", N_("At most {n} characters."), {"n": 255}))
    if data.kind not in KINDS:
        errors.append(FieldError("kind", CHOOSE))
    unit: Unit | None = None
    if data.unit_id:
        try:
            unit = get_unit_in_scope(session, user, data.unit_id)
        except NotFound:
            unit = None
    if unit is None:
        errors.append(FieldError("unit_id", N_("Unknown unit.")))
    if errors:
        raise ValidationFailed(errors)
    assert unit is not None
    if venue_id is None:
        venue = Venue(token=new_token(), active=True, token_issued_at=utcnow())
        session.add(venue)
    else:
        venue = get_venue(session, user, venue_id, VENUE_MANAGE)
    venue.name, venue.kind, venue.address, venue.unit_id = name, data.kind, address, unit.id
    session.flush()
    return venue


def set_venue_active(session: Session, user: User, venue_id: int, active: bool) -> Venue:
    """Enable or disable a venue's code: a disabled code checks nobody in."""
    venue = get_venue(session, user, venue_id, VENUE_MANAGE)
    venue.active = active
    session.flush()
    return venue


def rotate_code(session: Session, user: User, venue_id: int) -> tuple[Venue, str]:
    """Give the venue a new code (the printed posters stop working); return it and the old code."""
    venue = get_venue(session, user, venue_id, VENUE_MANAGE)
    old = venue.token
    venue.token, venue.token_issued_at = new_token(), utcnow()
    session.flush()
    audit.record(session, "rotate_code", "venues", venue.id)
    return venue, old


@dataclass(frozen=True)
class PublicVenue:
    """What the public check-in page needs of a venue (cached per worker)."""

    id: int
    name: str
    kind: str
    active: bool


def venue_by_token(session: Session, token: str) -> PublicVenue | None:
    row = session.execute(select(Venue.id, Venue.name, Venue.kind, Venue.active)
                          .where(Venue.token == token)).first()
    return PublicVenue(*row) if row else None


def unit_tree_for(session: Session, user: User) -> list[Unit]:
    from fangkong.core.units import unit_tree

    return unit_tree(session, user)


# --- visits --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VisitRow:
    id: int
    person_id: int | None
    name: str
    phone: str
    checked_in_at: datetime
    checked_out_at: datetime | None


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, LOCAL_TZ)
    return start, start + timedelta(days=1)


def today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


@dataclass(frozen=True)
class VisitDay:
    """One page of a venue's day of visits, with the day's totals (never silently cut)."""

    venue: Venue
    rows: list[VisitRow]
    total: int
    inside: int  # not checked out
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def visits_of_day(session: Session, user: User, venue_id: int, day: date | None = None, page: int = 1,
                  page_size: int = 500) -> VisitDay:
    """Return a page of who checked in at a venue on a local day, newest first, each visit with its person
    file (linked here, waiting for a linker that holds some of them): an audited read of personal data."""
    venue = get_venue(session, user, venue_id, VISIT_READ)
    start, end = local_day_bounds(day or today())
    where = (Visit.venue_id == venue.id, Visit.checked_in_at >= start, Visit.checked_in_at < end)
    while link_pending_visits(session, where=where, wait=True):  # all of the day's, in batches
        pass
    total, inside = session.execute(select(func.count(Visit.id), func.coalesce(func.sum(
        case((Visit.checked_out_at.is_(None), 1), else_=0)), 0)).where(*where)).one()
    page = max(1, page)
    rows = session.execute(select(Visit.id, Visit.person_id, Visit.name, Visit.phone, Visit.checked_in_at,
                                  Visit.checked_out_at).where(*where)
                           .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    audit.record(session, "list", "visits", None, venue=venue.id, day=str(day or today()), results=len(rows),
                 page=page)
    return VisitDay(venue, [VisitRow(*r) for r in rows], int(total), int(inside), page, page_size)


def link_pending_visits(session: Session, limit: int = 1000, where: tuple[Any, ...] = (), wait: bool = False) -> int:
    """Link visits without a person file to one (match on phone and name, else a new unconfirmed file).

    The check-in hot path leaves this for after the acknowledgement; it runs in the writer's idle time,
    on every read that shows visits (the guard's list, presence for tracing) and from
    `fangkong venues link-visits`. Returns the number of visits linked.
    """
    stmt = (select(Visit.id, Visit.name, Visit.phone, Venue.unit_id).join(Venue, Venue.id == Visit.venue_id)
            .where(Visit.person_id.is_(None), *where).order_by(Visit.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        # Two linkers never link the same rows: the background one skips rows another holds; a read that
        # must show every visit with its file waits for them instead (then finds them linked).
        stmt = stmt.with_for_update(of=Visit, skip_locked=not wait)
    pending = session.execute(stmt).all()
    if not pending:
        return 0
    links = link_persons(session, [IncomingRecord(name=name, id_number=None, phone=phone, address=None,
                                                  unit_id=unit_id) for _id, name, phone, unit_id in pending])
    table = Visit.__table__
    session.execute(update(table).where(table.c.id == bindparam("visit"), table.c.person_id.is_(None))
                    .values(person_id=bindparam("person")),
                    [{"visit": visit_id, "person": link.person_id}
                     for (visit_id, *_rest), link in zip(pending, links, strict=True)])  # one executemany
    created = sum(1 for link in links if link.how == "new")
    audit.record(session, "link", "visits", None, visits=len(pending), new_persons=created)
    return len(pending)


def check_out(session: Session, venue_id: int, client_id: str) -> Visit:
    """Record the check-out of the visit with this nonce at this venue (public; compare-and-swap)."""
    visit = session.execute(select(Visit).where(Visit.client_id == client_id, Visit.venue_id == venue_id)
                            ).scalar_one_or_none()
    if visit is None or visit.checked_out_at is not None:
        raise ValidationFailed.one("visit", NO_OPEN_VISIT)
    now = utcnow()
    if now - visit.checked_in_at > OPEN_VISIT:
        raise ValidationFailed.one("visit", VISIT_ENDED, hours=int(OPEN_VISIT.total_seconds() // 3600))
    changed = rowcount(session.execute(update(Visit).where(Visit.id == visit.id, Visit.checked_out_at.is_(None))
                                       .values(checked_out_at=now)))
    if not changed:
        raise ValidationFailed.one("visit", NO_OPEN_VISIT)
    audit.record(session, "checkout", "visits", visit.id, venue=venue_id)
    session.refresh(visit)
    return visit


# --- inspections and closure orders ----------------------------------------------------------------

def record_inspection(session: Session, user: User, venue_id: int, kind: str, note: str = "") -> Inspection:
    """Record an inspection of a venue or a closure order on it (status open)."""
    venue = get_venue(session, user, venue_id, VENUE_INSPECT)
    errors = []
    if kind not in INSPECTION_KINDS:
        errors.append(FieldError("kind", CHOOSE))
    note = " ".join(note.split())
    if len(note) > 500:
        errors.append(FieldError("note", N_("At most {n} characters."), {"n": 500}))
    if errors:
        raise ValidationFailed(errors)
    item = Inspection(venue_id=venue.id, kind=kind, status="open", at=utcnow(), note=note,
                      recorded_by=current_actor.get().username, unit_id=user.unit_id)
    session.add(item)
    session.flush()
    return item


def set_inspection_status(session: Session, user: User, inspection_id: int, status: str) -> Inspection:
    """Move an inspection or closure order to its next status (compare-and-swap on the current one)."""
    require(user, VENUE_INSPECT)
    item = session.get(Inspection, inspection_id)
    if item is None:
        raise NotFound()
    get_venue(session, user, item.venue_id, VENUE_INSPECT)
    if status not in NEXT_STATUS.get(item.status, ()):
        raise ValidationFailed.one("status", CHOOSE)
    changed = rowcount(session.execute(update(Inspection)
                                       .where(Inspection.id == item.id, Inspection.status == item.status)
                                       .values(status=status, changed_at=utcnow())))
    if not changed:
        raise Conflict(STATUS_CHANGED)
    audit.record(session, "status", "venue_inspections", item.id, old=item.status, new=status)
    session.refresh(item)
    return item


def venue_inspections(session: Session, user: User, venue_id: int) -> list[Inspection]:
    venue = get_venue(session, user, venue_id)
    return list(session.execute(select(Inspection).where(Inspection.venue_id == venue.id)
                                .order_by(Inspection.at.desc(), Inspection.id.desc()).limit(200)).scalars())


@dataclass(frozen=True)
class InspectionCount:
    kind: str
    venue_kind: str
    status: str
    count: int


def inspection_counts(session: Session, user: User, since: datetime | None = None,
                      until: datetime | None = None) -> list[InspectionCount]:
    """Count inspections and closure orders by venue kind and status, in the user's jurisdiction."""
    require(user, VENUE_READ)
    ids = visible_venues(user).with_only_columns(Venue.id)
    stmt = (select(Inspection.kind, Venue.kind, Inspection.status, func.count(Inspection.id))
            .join(Venue, Venue.id == Inspection.venue_id).where(Inspection.venue_id.in_(ids))
            .group_by(Inspection.kind, Venue.kind, Inspection.status))
    if since is not None:
        stmt = stmt.where(Inspection.at >= since)
    if until is not None:
        stmt = stmt.where(Inspection.at < until)
    return [InspectionCount(*row) for row in session.execute(stmt).all()]


def venue_visit_counts(session: Session, user: User, venue_ids: list[int]) -> dict[int, int]:
    """Return today's check-ins per venue (counts only: no personal data)."""
    if not venue_ids:
        return {}
    start, end = local_day_bounds(today())
    return dict(session.execute(select(Visit.venue_id, func.count(Visit.id)).where(
        Visit.venue_id.in_(venue_ids), Visit.checked_in_at >= start, Visit.checked_in_at < end)
        .group_by(Visit.venue_id)).all())
