"""Gathering registration (密集人员登记): an organiser declares an event and its attendees, or shares a
sign-in link; each attendee links to (or opens) a person file and is a presence record for tracing.

The organiser has no account: the page to manage the event is reached by an unguessable token (shown
once, on the receipt) or again by the reference code and the organiser's phone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import REGISTRATION_READ, get_visible, require, restrict
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import utcnow
from fangkong.core.errors import FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.core.paging import Page, paginate
from fangkong.core.presence import PresenceRecord
from fangkong.leads.dispatch import load_jurisdiction
from fangkong.people.matching import IncomingRecord, link_persons
from fangkong.registration import inputs
from fangkong.registration.gatherings.models import Gathering, GatheringAttendee

KINDS = {"wedding": N_("Wedding"), "funeral": N_("Funeral"), "market": N_("Market or fair"),
         "other": N_("Other gathering")}
DEFAULT_STAY = timedelta(hours=3)  # an attendee's assumed stay when the organiser gives no end time
MAX_SIZE = 100_000
MAX_ATTENDEES_PER_FORM = 20
MAX_DAYS_AHEAD, MAX_DAYS_BACK, MAX_HOURS = 60, 14, 72

ENDS_BEFORE_START = N_("The end must come after the start.")
EVENT_WINDOW = N_("Register an event of the last {back} days or the next {ahead} days.")
TOO_LONG_EVENT = N_("An event registered here lasts at most {hours} hours.")
BAD_TIME = N_("Use the form HH:MM.")
BAD_SIZE = N_("Give a number between {low} and {high}.")
OUTSIDE_CITY = N_("This address is not in the city.")
NOT_FOUND = N_("No gathering matches this code and phone number. Check both and try again.")
ALREADY_SIGNED = N_("This person is already on the list of this gathering.")
SIGN_IN_CLOSED = N_("Sign-in for this gathering is closed.")
NO_ATTENDEE = N_("Add at least one attendee.")


@dataclass
class GatheringInput:
    kind: str = ""
    title: str = ""
    date: str = ""
    start_time: str = ""
    end_time: str = ""
    address: str = ""
    expected_size: str = ""
    organiser_name: str = ""
    organiser_phone: str = ""


@dataclass
class AttendeeInput:
    name: str = ""
    doc_type: str = "resident_id"
    doc_number: str = ""
    phone: str = ""


@dataclass
class CleanAttendee:
    name: str
    doc_type: str
    id_number: str | None
    doc_number: str | None
    phone: str


def _clock(errors: list[FieldError], name: str, raw: str, required: bool) -> time | None:
    text = (raw or "").strip()
    if not text:
        if required:
            errors.append(FieldError(name, inputs.REQUIRED))
        return None
    try:
        return time.fromisoformat(text[:8])
    except ValueError:
        errors.append(FieldError(name, BAD_TIME))
        return None


def _times(errors: list[FieldError], data: GatheringInput) -> tuple[datetime | None, datetime | None]:
    day = inputs.clean_date(errors, "date", data.date)
    start_t = _clock(errors, "start_time", data.start_time, required=True)
    end_t = _clock(errors, "end_time", data.end_time, required=False)
    if day is None or start_t is None:
        return None, None
    start = datetime.combine(day, start_t, LOCAL_TZ)
    now = utcnow()
    if not now - timedelta(days=MAX_DAYS_BACK) <= start <= now + timedelta(days=MAX_DAYS_AHEAD):
        errors.append(FieldError("date", EVENT_WINDOW, {"back": MAX_DAYS_BACK, "ahead": MAX_DAYS_AHEAD}))
        return None, None
    if end_t is None:
        return start, None
    end = datetime.combine(day, end_t, LOCAL_TZ)
    if end <= start:
        errors.append(FieldError("end_time", ENDS_BEFORE_START))
        return start, None
    return start, end


def clean_gathering(data: GatheringInput) -> dict[str, object]:
    errors: list[FieldError] = []
    kind = inputs.clean_choice(errors, "kind", data.kind, KINDS)
    title = inputs.clean_text(errors, "title", data.title, 60, required=True)
    start, end = _times(errors, data)
    address = inputs.clean_text(errors, "address", data.address, 120, required=True)
    size_text = (data.expected_size or "").strip()
    size = int(size_text) if size_text.isdigit() and len(size_text) <= 6 else 0
    if not 1 <= size <= MAX_SIZE:
        errors.append(FieldError("expected_size", BAD_SIZE, {"low": 1, "high": MAX_SIZE}))
    organiser = inputs.clean_text(errors, "organiser_name", data.organiser_name, 50, required=True)
    phone = inputs.clean_phone(errors, "organiser_phone", data.organiser_phone)
    if errors:
        raise ValidationFailed(errors)
    return {"kind": kind, "title": title, "starts_at": start, "ends_at": end, "address": address,
            "expected_size": size, "organiser_name": organiser, "organiser_phone": phone}


def clean_attendees(rows: list[AttendeeInput], prefix: str = "attendees.") -> list[CleanAttendee]:
    """Return the checked attendee rows (entirely empty rows skipped), or raise naming each field."""
    errors: list[FieldError] = []
    out = []
    for index, row in enumerate(rows[:MAX_ATTENDEES_PER_FORM]):
        if not any((row.name.strip(), row.doc_number.strip(), row.phone.strip())):
            continue
        p = f"{prefix}{index}." if prefix else ""
        name = inputs.clean_text(errors, p + "name", row.name, 50, required=True)
        doc_type, id_number, doc_number = inputs.clean_document(errors, p + "doc_number", row.doc_type, row.doc_number)
        phone = inputs.clean_phone(errors, p + "phone", row.phone)
        if name and phone and (id_number or doc_number):
            out.append(CleanAttendee(name, doc_type, id_number, doc_number, phone))
    if not out and not errors:
        errors.append(FieldError(prefix.rstrip(".") or "name", NO_ATTENDEE))
    if errors:
        raise ValidationFailed(errors)
    return out


def register_gathering(session: Session, data: GatheringInput, attendees: list[AttendeeInput],
                       retention_days: int) -> Gathering:
    """Save a gathering (placed with the unit of its address) and the attendees the organiser listed."""
    errors: list[FieldError] = []
    try:
        clean = clean_gathering(data)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        clean = {}
    people: list[CleanAttendee] = []
    if any(a.name.strip() or a.doc_number.strip() or a.phone.strip() for a in attendees):
        try:
            people = clean_attendees(attendees)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    j = load_jurisdiction(session)
    placement = j.locate(str(clean["address"]))
    if placement.kind == "outside":
        raise ValidationFailed.one("address", OUTSIDE_CITY)
    starts_at, ends_at = clean["starts_at"], clean["ends_at"]
    assert isinstance(starts_at, datetime)  # the form's cleaning refuses a gathering without a start
    ends = ends_at if isinstance(ends_at, datetime) else starts_at + DEFAULT_STAY
    gathering = Gathering(reference=_unique_reference(session), manage_token=inputs.new_token(),
                          sign_in_token=inputs.new_token(), unit_id=placement.unit_id or j.city_unit_id,
                          placement=placement.kind, purge_after=ends + timedelta(days=retention_days), **clean)
    session.add(gathering)
    session.flush()
    _add(session, gathering, people, "organiser")
    return gathering


def _unique_reference(session: Session) -> str:
    while True:
        code = inputs.new_reference()
        if session.execute(select(Gathering.id).where(Gathering.reference == code)).first() is None:
            return code


def _add(session: Session, gathering: Gathering, people: list[CleanAttendee], added_by: str) -> list[GatheringAttendee]:
    """Link each attendee to a person file and add those not on the list yet; raise if all already are."""
    if not people:
        return []
    links = link_persons(session, [IncomingRecord(name=p.name, id_number=p.id_number, phone=p.phone, address=None,
                                                  unit_id=gathering.unit_id,
                                                  doc_type=None if p.id_number else p.doc_type,
                                                  doc_number=p.doc_number) for p in people])
    known = set(session.execute(select(GatheringAttendee.person_id).where(
        GatheringAttendee.gathering_id == gathering.id)).scalars())
    added = []
    for person, link in zip(people, links, strict=True):
        if link.person_id in known:
            continue
        known.add(link.person_id)
        row = GatheringAttendee(gathering_id=gathering.id, person_id=link.person_id, name=person.name,
                                doc_type=person.doc_type, id_number=person.id_number, doc_number=person.doc_number,
                                phone=person.phone, added_by=added_by)
        session.add(row)
        added.append(row)
    where = "name" if added_by == "self" else "attendees"
    if not added:
        raise ValidationFailed.one(where, ALREADY_SIGNED)
    try:
        with session.begin_nested():  # the same person signing in twice at once: one wins, one is told
            session.flush()
    except IntegrityError:
        raise ValidationFailed.one(where, ALREADY_SIGNED) from None
    return added


def by_manage_token(session: Session, token: str) -> Gathering:
    found = _by_token(session, Gathering.manage_token, token)
    audit.record(session, "read", "gatherings", found.id, by="organiser")
    return found


def by_sign_in_token(session: Session, token: str) -> Gathering:
    return _by_token(session, Gathering.sign_in_token, token)


def _by_token(session: Session, column: object, token: str) -> Gathering:
    if not 20 <= len(token) <= 60:
        raise NotFound()
    found = session.execute(select(Gathering).where(column == token)).unique().scalar_one_or_none()  # type: ignore[arg-type]
    if found is None:
        raise NotFound()
    return found


def add_attendees(session: Session, token: str, rows: list[AttendeeInput]) -> list[GatheringAttendee]:
    """The organiser adds attendees from the event's page."""
    gathering = _by_token(session, Gathering.manage_token, token)
    return _add(session, gathering, clean_attendees(rows), "organiser")


def sign_in(session: Session, token: str, row: AttendeeInput) -> tuple[Gathering, GatheringAttendee]:
    """An attendee signs in on their own phone through the shared link."""
    gathering = _by_token(session, Gathering.sign_in_token, token)
    if not gathering.sign_in_open:
        raise ValidationFailed.one("name", SIGN_IN_CLOSED)
    added = _add(session, gathering, clean_attendees([row], prefix=""), "self")
    return gathering, added[0]


def set_sign_in(session: Session, token: str, open_: bool) -> Gathering:
    """Open or close the shared sign-in link (closing revokes it; a new token is drawn on reopening)."""
    gathering = _by_token(session, Gathering.manage_token, token)
    if not open_ and gathering.sign_in_open:
        gathering.sign_in_open = False
        gathering.sign_in_token = inputs.new_token()  # the shared link stops working at once
    elif open_:
        gathering.sign_in_open = True
    session.flush()
    return gathering


def find_own_gathering(session: Session, reference: str, phone: str) -> Gathering:
    """Return the organiser's gathering by reference code and organiser phone, or raise."""
    code = inputs.normalise_reference(reference)
    errors: list[FieldError] = []
    number = inputs.clean_phone(errors, "phone", phone)
    if errors:
        raise ValidationFailed(errors)
    found = session.execute(select(Gathering).where(Gathering.reference == code,
                                                    Gathering.organiser_phone == number)).unique().scalar_one_or_none()
    if not code or found is None:
        raise ValidationFailed.one("reference", NOT_FOUND)
    return found


# --- staff -----------------------------------------------------------------------------------------

@dataclass
class GatheringRow:
    gathering: Gathering
    attendees: int


def list_gatherings(session: Session, user: User, upcoming_only: bool = False, page: int = 1,
                    page_size: int = 50) -> Page[GatheringRow]:
    require(user, REGISTRATION_READ)
    stmt = restrict(select(Gathering), user, Gathering.unit_id)
    if upcoming_only:
        stmt = stmt.where(Gathering.starts_at >= utcnow() - timedelta(hours=12))
    found = paginate(session, stmt.order_by(Gathering.starts_at.desc(), Gathering.id.desc()), page, page_size)
    ids = [g.id for g in found.rows]
    counts = dict(session.execute(select(GatheringAttendee.gathering_id, func.count(GatheringAttendee.id))
                                  .where(GatheringAttendee.gathering_id.in_(ids))
                                  .group_by(GatheringAttendee.gathering_id)).all()) if ids else {}
    audit.record(session, "search", "gatherings", None, results=found.total)
    return Page([GatheringRow(g, counts.get(g.id, 0)) for g in found.rows], found.total, found.page, found.page_size)


@dataclass
class GatheringView:
    gathering: Gathering
    attendees: list[GatheringAttendee] = field(default_factory=list)


def open_gathering(session: Session, user: User, gathering_id: int) -> GatheringView:
    """Return a gathering in the jurisdiction with its attendee list (the read is audited)."""
    gathering = get_visible(session, user, Gathering, gathering_id, REGISTRATION_READ)
    rows = list(session.execute(select(GatheringAttendee).where(GatheringAttendee.gathering_id == gathering.id)
                                .order_by(GatheringAttendee.id)).scalars())
    audit.record(session, "read", "gatherings", gathering.id, attendees=len(rows))
    return GatheringView(gathering, rows)


# --- presence for tracing --------------------------------------------------------------------------

def gathering_presence(session: Session, start: datetime, end: datetime) -> list[PresenceRecord]:
    """Return the attendees' stays at gatherings that began in [start, end) (core.presence contract)."""
    rows = session.execute(select(GatheringAttendee.person_id, Gathering.id, Gathering.starts_at, Gathering.ends_at)
                           .join(Gathering, Gathering.id == GatheringAttendee.gathering_id)
                           .where(Gathering.starts_at >= start, Gathering.starts_at < end)
                           .order_by(Gathering.starts_at, GatheringAttendee.id)).all()
    return [PresenceRecord(person=person_id, place=f"gathering:{gid}", place_kind="venue", t_in=t_in,
                           t_out=t_out or t_in + DEFAULT_STAY, source="gathering")
            for person_id, gid, t_in, t_out in rows]


def gathering_place_names(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """Return "title · address" for the gathering place keys this source writes."""
    ids = {int(k[10:]) for k in keys if k.startswith("gathering:") and k[10:].isdigit()}
    if not ids:
        return {}
    rows = session.execute(select(Gathering.id, Gathering.title, Gathering.address).where(Gathering.id.in_(ids)))
    return {f"gathering:{gid}": f"{title} · {address}" for gid, title, address in rows}
