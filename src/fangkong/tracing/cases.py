"""Tracing a case from the platform (issue 7): run the trace, keep the contacts with their evidence, add or
strike contacts by hand, dispatch the new ones as urgent leads and mark their risk status.

The store is read through a `PresenceStore`, brought up to date from the platform's own sources first
(tracing/sync.py); contacts are written as `Exposure` rows so that the evidence, the hand edits and the
leads they became survive a re-run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import TRACE_RUN, get_visible, require
from fangkong.core.codes import CodeError, normalize_id_number
from fangkong.core.db import utcnow
from fangkong.core.errors import Conflict, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.observation.status import change_status, status_of
from fangkong.people.models import CASES, Person
from fangkong.tracing import engine
from fangkong.tracing.models import Exposure, ExposureLink, TraceCase
from fangkong.tracing.store import PresenceStore
from fangkong.tracing.sync import Source, person_file_id, platform_key, sync_platform
from fangkong.tracing.terms import IndexCase, Stay, Trace, contact_rules

SOURCE_NAME = "流调溯源"
LEAD_KIND = {1: "密接", 2: "次密接"}
ISOLATED_BEFORE_ONSET = N_("Isolation cannot come before onset.")
ONSET_IN_FUTURE = N_("Onset cannot lie in the future.")
GIVE_REASON = N_("Say why (at least {n} characters).")
ALREADY_CONTACT = N_("This person is already a contact of this case.")
NOT_THE_CASE = N_("The case itself cannot be its own contact.")
ALREADY_DISPATCHED = N_("This contact has already been dispatched as a lead; verify it there instead.")


PlaceNamer = Callable[[Session, Iterable[str]], dict[str, str]]


def place_names(session: Session, keys: Iterable[str], namers: Iterable[PlaceNamer]) -> dict[str, str]:
    """Return a display name for each place key a source knows; other keys (imported files) name themselves."""
    wanted = set(keys)
    names: dict[str, str] = {}
    for namer in namers:
        names.update(namer(session, wanted))
    return names


@dataclass(frozen=True)
class Presence:
    """Where tracing reads from: the store, and the platform sources that feed it."""

    store: PresenceStore
    sources: Sequence[Source]
    horizon_days: int = 31
    namers: Sequence[PlaceNamer] = ()


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def moment(epoch: int) -> datetime:
    """Return tracing's epoch seconds as an aware datetime (UTC)."""
    return datetime.fromtimestamp(epoch, UTC)


def get_case(session: Session, user: User, person_id: int) -> tuple[Person, TraceCase | None]:
    """Return the index person (404 outside the user's jurisdiction) and its case, if traced before."""
    person = get_visible(session, user, Person, person_id, TRACE_RUN)
    case = session.execute(select(TraceCase).where(TraceCase.person_id == person.id)).scalar_one_or_none()
    return person, case


def _check_times(onset: datetime, isolated: datetime | None) -> None:
    if onset > utcnow():
        raise ValidationFailed.one("onset", ONSET_IN_FUTURE)
    if isolated is not None and isolated < onset:
        raise ValidationFailed.one("isolated", ISOLATED_BEFORE_ONSET)


def run_trace(session: Session, user: User, person_id: int, onset: datetime, isolated: datetime | None,
              presence: Presence, profile: str, hops: int = 2) -> TraceCase:
    """Trace a case over the presence store (synced first) and keep its contacts with their evidence."""
    person, case = get_case(session, user, person_id)
    _check_times(onset, isolated)
    sync_platform(session, presence.store, presence.sources, horizon_days=presence.horizon_days)
    ix = presence.store.snapshot()
    found = engine.trace(ix, IndexCase(platform_key(person.id), _epoch(onset),
                                       _epoch(isolated) if isolated else None), contact_rules(profile), hops)
    if case is None:
        case = TraceCase(person_id=person.id, onset=onset, profile=profile)
        session.add(case)
    case.onset, case.isolated, case.profile, case.hops = onset, isolated, profile, hops
    case.traced_at, case.traced_by = utcnow(), user.display_name
    session.flush()
    _merge_found(session, case, found, {p: ix.kind_name(ix.places.code(p)) for p in _places(found)})
    audit.record(session, "trace_run", "trace_cases", case.id, close=len(found.close),
                 secondary=len(found.secondary), hops=hops, profile=profile)
    return case


def _places(found: Trace) -> set[str]:
    return {e.place for c in found.close for e in c.exposures}


def _merge_found(session: Session, case: TraceCase, found: Trace, kinds: dict[str, str]) -> None:
    """Bring the case's traced contacts in line with a new result; hand-made and dispatched ones stay."""
    existing = {e.contact_key: e for e in case.exposures}
    seen: set[str] = set()
    for contact in found.close:
        row = _row(case, existing, str(contact.person), 1)
        row.first_exposure = moment(contact.first_exposure)
        row.last_exposure = moment(max(e.end for e in contact.exposures))
        row.evidence = json.dumps([{"place": e.place, "kind": kinds.get(e.place, ""), "start": e.start, "end": e.end}
                                   for e in contact.exposures])
        seen.add(row.contact_key)
    for secondary in found.secondary:
        key = str(secondary.person)
        row = _row(case, existing, key, 2)
        vias = {str(v) for v in secondary.via}
        row.links = [link for link in row.links if link.via_key in vias]
        have = {link.via_key for link in row.links}
        row.links.extend(ExposureLink(via_key=v) for v in sorted(vias - have))
        seen.add(key)
    for key, row in existing.items():
        if key not in seen and row.origin == "trace" and row.lead_id is None and row.struck_at is None:
            case.exposures.remove(row)  # no longer found, never acted on: gone
    session.flush()


def _row(case: TraceCase, existing: dict[str, Exposure], key: str, hop: int) -> Exposure:
    row = existing.get(key)
    if row is None:
        row = Exposure(contact_key=key, person_id=person_file_id(key), hop=hop, origin="trace", evidence="[]")
        case.exposures.append(row)
        existing[key] = row
    elif row.origin == "trace":
        row.hop = hop
    return row


@dataclass(frozen=True)
class ContactView:
    exposure: Exposure
    name: str
    unit_name: str
    evidence: list[dict[str, object]]
    via: list[str]
    person: Person | None = None  # the contact's person file, once known


@dataclass(frozen=True)
class CaseView:
    person: Person
    case: TraceCase | None
    close: list[ContactView]
    secondary: list[ContactView]
    trajectory: list[Stay]
    names: dict[str, str]  # person store key -> display name, for links and the graph
    places: dict[str, str]  # place key -> display name (keys from imported files name themselves)

    @property
    def to_dispatch(self) -> int:
        return sum(1 for c in self.close + self.secondary if c.exposure.struck_at is None
                   and c.exposure.lead_id is None)


def case_view(session: Session, user: User, person_id: int, presence: Presence, action: str = "trace_view",
              **detail: object) -> CaseView:
    """Return what the case page shows: contacts with evidence and names, and the case's trajectory.

    The read is audited as `action` (the page, its graph, the trace report) with `detail`.
    """
    person, case = get_case(session, user, person_id)
    rows = list(case.exposures) if case else []
    ids = {r.person_id for r in rows if r.person_id} | {person.id}
    people = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(ids))).scalars()}
    names = {platform_key(pid): p.name for pid, p in people.items()}

    def view(row: Exposure) -> ContactView:
        who = people.get(row.person_id) if row.person_id else None
        return ContactView(row, who.name if who else row.contact_key, who.unit.name if who else "",
                           json.loads(row.evidence or "[]"), [link.via_key for link in row.links], who)

    close = sorted((view(r) for r in rows if r.hop == 1),
                   key=lambda c: (c.exposure.first_exposure or utcnow(), c.exposure.id))
    secondary = [view(r) for r in rows if r.hop == 2]
    trajectory: list[Stay] = []
    if case is not None:
        window_start = _epoch(case.onset) - contact_rules(case.profile).lookback_s
        trajectory = engine.trajectory(presence.store.snapshot(), platform_key(person.id), window_start,
                                       _epoch(case.isolated) if case.isolated else None)
    keys = {s.place for s in trajectory} | {str(e["place"]) for c in close for e in c.evidence}
    places = place_names(session, keys, presence.namers)
    audit.record(session, action, "trace_cases", case.id if case else None, person_id=person.id,
                 contacts=len(rows), **detail)
    return CaseView(person, case, close, secondary, trajectory, names, places)


def add_contact(session: Session, user: User, person_id: int, contact_person_id: int, reason: str,
                place: str = "", start: datetime | None = None, end: datetime | None = None) -> Exposure:
    """Add a close contact by hand (from an interview), with the reason and, if known, where and when."""
    _person, case = get_case(session, user, person_id)
    if case is None:
        raise NotFound()
    if len(reason.strip()) < 4:
        raise ValidationFailed.one("reason", GIVE_REASON, n=4)
    contact = session.get(Person, contact_person_id)
    if contact is None:
        raise ValidationFailed.one("contact", N_("No person file with this ID number; create it first."))
    if contact.id == case.person_id:
        raise ValidationFailed.one("contact", NOT_THE_CASE)
    key = platform_key(contact.id)
    if any(e.contact_key == key for e in case.exposures):
        raise ValidationFailed.one("contact", ALREADY_CONTACT)
    evidence = [{"place": place.strip()[:100], "kind": "interview", "start": _epoch(start or case.onset),
                 "end": _epoch(end or start or case.onset)}] if place.strip() or start else []
    row = Exposure(contact_key=key, person_id=contact.id, hop=1, origin="manual", note=reason.strip()[:500],
                   added_by=user.display_name, first_exposure=start, last_exposure=end or start,
                   evidence=json.dumps(evidence))
    case.exposures.append(row)
    session.flush()
    return row


def find_contact(session: Session, id_number: str) -> int:
    """Return the person file id of an ID number typed on the case page."""
    try:
        number = normalize_id_number(id_number)
    except CodeError as exc:
        raise ValidationFailed.one("contact", exc.message, **exc.params) from None
    found = session.execute(select(Person.id).where(Person.id_number == number)).scalar_one_or_none()
    if found is None:
        raise ValidationFailed.one("contact", N_("No person file with this ID number; create it first."))
    return found


def exposure_case_person(session: Session, user: User, exposure_id: int) -> int:
    """Return the index person of a contact's case (404 when the contact or the case is not visible)."""
    row = session.get(Exposure, exposure_id)
    if row is None:
        raise NotFound()
    return get_case(session, user, row.case.person_id)[0].id


def strike_contact(session: Session, user: User, exposure_id: int, reason: str) -> Exposure:
    """Strike a contact the data found but the interview ruled out; it is kept, marked, with the reason."""
    require(user, TRACE_RUN)
    exposure_case_person(session, user, exposure_id)  # 404 outside the user's jurisdiction
    row = session.get(Exposure, exposure_id)
    assert row is not None
    if len(reason.strip()) < 4:
        raise ValidationFailed.one("reason", GIVE_REASON, n=4)
    if row.lead_id is not None:
        raise Conflict(ALREADY_DISPATCHED)
    row.struck_at, row.struck_by, row.strike_reason = utcnow(), user.display_name, reason.strip()[:500]
    session.flush()
    return row


def upgrade_secondaries(session: Session, user: User, person_id: int, status: str, profile: str) -> int:
    """When a close contact turns positive, its secondary contacts become close contacts (edition 9).

    Called after every risk status change (people.status listeners); returns how many were upgraded.
    """
    if status not in CASES:
        return 0
    rows = session.execute(select(Exposure).join(ExposureLink)
                           .where(ExposureLink.via_key == platform_key(person_id), Exposure.hop == 2,
                                  Exposure.struck_at.is_(None), Exposure.person_id.is_not(None))).scalars().unique()
    upgraded = 0
    for row in rows:
        current = status_of(session, user, row.person_id).current  # type: ignore[arg-type]
        if current is None or current.status != "secondary_contact":
            continue
        change_status(session, user, row.person_id, "close_contact",  # type: ignore[arg-type]
                      f"关联密接（人员#{person_id}）转阳，次密接升为密接", f"病例#{row.case.person_id} 流调",
                      profile_name=profile)
        upgraded += 1
    return upgraded


def contacts_page(session: Session, user: User, person_id: int, presence: Presence, hop: int, offset: int,
                  limit: int) -> tuple[int, list[ContactView], dict[str, str]]:
    """Return one page of a case's contacts of a hop (by id), the total, and the names of their places.

    For API clients reading thousands of secondary contacts: the page is read from the database by
    offset and limit, never the whole case.
    """
    person, case = get_case(session, user, person_id)
    if case is None:
        return 0, [], {}
    where = (Exposure.case_id == case.id, Exposure.hop == hop)
    total = session.execute(select(func.count()).select_from(Exposure).where(*where)).scalar_one()
    rows = list(session.execute(select(Exposure).where(*where).order_by(Exposure.id).offset(offset)
                                .limit(limit)).scalars())
    ids = {r.person_id for r in rows if r.person_id}
    people = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(ids))).scalars()} if ids else {}
    views = []
    for row in rows:
        who = people.get(row.person_id) if row.person_id else None
        views.append(ContactView(row, who.name if who else row.contact_key, who.unit.name if who else "",
                                 json.loads(row.evidence or "[]"), [link.via_key for link in row.links]))
    places = place_names(session, {str(e["place"]) for v in views for e in v.evidence}, presence.namers)
    audit.record(session, "trace_view", "trace_cases", case.id, person_id=person.id, hop=hop, offset=offset,
                 contacts=len(rows))
    return total, views, places
