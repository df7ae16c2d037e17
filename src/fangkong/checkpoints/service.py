"""Checkpoint use cases: the registry, risk areas, registering and correcting passages (idempotent on
the device's id), referrals to health and their acknowledgement, hourly flows and lane planning."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from fangkong.checkpoints.flags import RiskIndex, load_risk_index, person_flags, region_code, watched
from fangkong.checkpoints.lanes import LanePlan, plan_lanes
from fangkong.checkpoints.models import Checkpoint, CheckpointPost, Passage, PassagePerson, RiskArea
from fangkong.core import audit
from fangkong.core.access import (
    CHECKPOINT_MANAGE,
    CHECKPOINT_READ,
    PASSAGE_WRITE,
    REFERRAL_ACK,
    REFERRAL_READ,
    require,
    restrict,
)
from fangkong.core.codes import (
    CodeError,
    DocumentType,
    fold,
    lookup_area,
    normalize_plate,
    parse_id_number,
    validate_document,
)
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, User
from fangkong.core.units import get_unit_in_scope
from fangkong.people.matching import IncomingRecord, link_persons
from fangkong.people.models import Person
from fangkong.people.referral_models import HANDLINGS, Referral

KINDS = {"ring_station": N_("Ring-city station"), "toll_gate": N_("Highway toll gate"),
         "temporary_post": N_("Temporary post"), "community_gate": N_("Community gate")}
DISPOSITIONS = {"passed": N_("Passed"), "turned_back": N_("Turned back"), "referred": N_("Referred to health"),
                "quarantined": N_("Quarantined"), "green_lane": N_("Green lane (pass)")}
GREEN_LANE = "green_lane"  # only with a pass verified here a moment ago (passages._green_lane)
ROLES = {"driver": N_("Driver"), "passenger": N_("Passenger"), "walker": N_("On foot")}
LEVELS = {"high": N_("High risk"), "medium": N_("Medium risk"), "low": N_("Low risk")}
MIN_C, MAX_C = 34.0, 43.0
ENTER_NAME = N_("Enter the name.")
ENTER_DOCUMENT = N_("Enter the ID number or choose another document.")
TEMPERATURE = N_("A body temperature lies between {low} and {high} °C.")
CHOOSE = N_("Choose one of the options.")
NO_PEOPLE = N_("Add at least one person.")
ALREADY_ACKNOWLEDGED = N_("This referral has already been acknowledged.")
GREEN_LANE_NEEDS_PASS = N_("The green lane needs a valid pass: scan it into the pass field.")


# --- registry ------------------------------------------------------------------------------------

def visible_checkpoints(user: User) -> Select[Checkpoint]:
    """Checkpoint officers see the checkpoints they are posted to; others their jurisdiction's."""
    stmt = select(Checkpoint)
    if user.role == Role.CHECKPOINT:
        return stmt.join(CheckpointPost, CheckpointPost.checkpoint_id == Checkpoint.id).where(
            CheckpointPost.user_id == user.id)
    return restrict(stmt, user, Checkpoint.unit_id)


def list_checkpoints(session: Session, user: User) -> list[Checkpoint]:
    require(user, CHECKPOINT_MANAGE if user.role == Role.ADMIN else CHECKPOINT_READ)
    return list(session.execute(visible_checkpoints(user).order_by(Checkpoint.name)).scalars())


def get_checkpoint(session: Session, user: User, checkpoint_id: int, action: str) -> Checkpoint:
    require(user, action)
    found = session.execute(visible_checkpoints(user).where(Checkpoint.id == checkpoint_id)).scalar_one_or_none()
    if found is None:
        raise NotFound()
    return found


@dataclass
class CheckpointInput:
    name: str = ""
    kind: str = "ring_station"
    location: str = ""
    unit_id: int | None = None
    lanes: int = 2
    seconds_per_vehicle: int = 90
    officers: list[int] = field(default_factory=list)  # user ids posted here


def save_checkpoint(session: Session, user: User, data: CheckpointInput,
                    checkpoint_id: int | None = None) -> Checkpoint:
    """Create or change a checkpoint and the officers posted to it."""
    require(user, CHECKPOINT_MANAGE)
    errors = []
    if not data.name.strip():
        errors.append(FieldError("name", ENTER_NAME))
    if data.kind not in KINDS:
        errors.append(FieldError("kind", CHOOSE))
    if not 1 <= data.lanes <= 30:
        errors.append(FieldError("lanes", N_("Between {low} and {high}."), {"low": 1, "high": 30}))
    if not 10 <= data.seconds_per_vehicle <= 3600:
        errors.append(FieldError("seconds_per_vehicle", N_("Between {low} and {high}."), {"low": 10, "high": 3600}))
    try:
        unit = get_unit_in_scope(session, user, data.unit_id) if data.unit_id else None
    except NotFound:
        unit = None
    if unit is None:
        errors.append(FieldError("unit_id", N_("Unknown unit.")))
    officers = list(session.execute(restrict(select(User).where(User.id.in_(data.officers),
                                                                User.role == Role.CHECKPOINT), user,
                                             User.unit_id)).unique().scalars()) if data.officers else []
    if len(officers) != len(set(data.officers)):
        errors.append(FieldError("officers", N_("Unknown user.")))
    if errors:
        raise ValidationFailed(errors)
    assert unit is not None  # an unknown unit was one of the errors
    if checkpoint_id is None:
        checkpoint = Checkpoint()
        session.add(checkpoint)
    else:
        checkpoint = get_checkpoint(session, user, checkpoint_id, CHECKPOINT_MANAGE)
    checkpoint.name, checkpoint.kind, checkpoint.location = data.name.strip(), data.kind, data.location.strip()
    checkpoint.unit_id, checkpoint.lanes, checkpoint.seconds_per_vehicle = unit.id, data.lanes, data.seconds_per_vehicle
    session.flush()
    current = {p.user_id: p for p in session.execute(select(CheckpointPost).where(
        CheckpointPost.checkpoint_id == checkpoint.id)).scalars()}
    for user_id, post in current.items():
        if user_id not in data.officers:
            session.delete(post)
    for officer in officers:
        if officer.id not in current:
            session.add(CheckpointPost(checkpoint_id=checkpoint.id, user_id=officer.id))
    session.flush()
    return checkpoint


def posted_officers(session: Session, checkpoint_id: int) -> list[int]:
    return list(session.execute(select(CheckpointPost.user_id).where(
        CheckpointPost.checkpoint_id == checkpoint_id)).scalars())


@dataclass
class RiskAreaInput:
    area_code: str = ""
    name: str = ""
    level: str = "high"
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def add_risk_area(session: Session, user: User, data: RiskAreaInput) -> RiskArea:
    require(user, CHECKPOINT_MANAGE)
    errors = []
    if lookup_area(data.area_code.strip()) is None:
        errors.append(FieldError("area_code", N_("Unknown area code {code}."), {"code": data.area_code.strip()}))
    if data.level not in LEVELS:
        errors.append(FieldError("level", CHOOSE))
    start = data.valid_from or utcnow()
    if data.valid_until is not None and data.valid_until <= start:
        errors.append(FieldError("valid_until", N_("The end must come after the start.")))
    if errors:
        raise ValidationFailed(errors)
    area = RiskArea(area_code=data.area_code.strip(), name=" ".join(data.name.split()) or None, level=data.level,
                    valid_from=start, valid_until=data.valid_until)
    session.add(area)
    session.flush()
    return area


def end_risk_area(session: Session, user: User, area_id: int) -> None:
    require(user, CHECKPOINT_MANAGE)
    changed = rowcount(session.execute(update(RiskArea).where(RiskArea.id == area_id, RiskArea.valid_until.is_(None))
                                       .values(valid_until=utcnow())))
    if not changed:
        raise NotFound()


def current_risk_areas(session: Session) -> list[RiskArea]:
    now = utcnow()
    return list(session.execute(select(RiskArea).where(RiskArea.valid_from <= now).where(
        (RiskArea.valid_until.is_(None)) | (RiskArea.valid_until > now)).order_by(RiskArea.area_code)).scalars())


# --- passages --------------------------------------------------------------------------------------

@dataclass
class PersonInput:
    name: str = ""
    id_number: str = ""
    doc_type: str = DocumentType.RESIDENT_ID
    doc_number: str = ""
    temperature_c: float | None = None
    disposition: str = "passed"
    role: str = "passenger"
    override_reason: str = ""  # why a person the rules propose to refer is let through (audited)


@dataclass
class PassageInput:
    client_id: str = ""
    plate: str = ""
    origin: str = ""
    destination: str = ""
    reason: str = ""
    lane: int | None = None
    at: datetime | None = None
    people: list[PersonInput] = field(default_factory=list)
    pass_verification_id: int | None = None  # a valid green-channel pass checked here: its people may go green_lane


@dataclass
class CheckedPerson:
    name: str
    id_number: str | None
    doc_type: str | None
    doc_number: str | None
    temperature_c: float | None
    disposition: str
    role: str
    birth_date: Any = None
    sex: str | None = None
    origin_area: str | None = None
    flags: list[str] = field(default_factory=list)
    override_reason: str | None = None


@dataclass
class CheckResult:
    """A passage as the form shows it before saving: normalised values, what the codes say, the flags."""

    plate: str | None = None
    plate_region: str | None = None
    plate_level: str | None = None
    origin_level: str | None = None
    people: list[CheckedPerson] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    risk: RiskIndex = field(default_factory=RiskIndex, repr=False)

    @property
    def flagged(self) -> bool:
        return bool(self.plate_level or self.origin_level or any(p.flags for p in self.people))


def check_passage(session: Session, data: PassageInput, now: datetime | None = None) -> CheckResult:
    """Normalise and flag a passage without saving anything."""
    result = check_codes(data, load_risk_index(session, now or utcnow()))
    flag_people(result, watched(session, {p.id_number for p in result.people if p.id_number}))
    return result


def check_codes(data: PassageInput, risk: RiskIndex) -> CheckResult:
    """Normalise a passage and say what its codes and the risk areas say (no query: the watch list is apart)."""
    result = CheckResult(risk=risk)
    if data.plate.strip():
        try:
            plate = normalize_plate(data.plate)
            result.plate, result.plate_region = plate.number, plate.region or plate.province
            code = region_code(plate.region) or region_code(plate.province)
            result.plate_level = risk.level_for_code(code) if code else None
        except CodeError as exc:
            result.errors.append(FieldError("plate", exc.message, exc.params))
    result.origin_level = risk.level_for_text(data.origin)
    if not data.people:
        result.errors.append(FieldError("people", NO_PEOPLE))
    if data.lane is not None and not 1 <= data.lane <= 30:
        result.errors.append(FieldError("lane", N_("Between {low} and {high}."), {"low": 1, "high": 30}))
    result.people = [_check_person(index, p, result.errors) for index, p in enumerate(data.people)]
    for index, (given, person) in enumerate(zip(data.people, result.people, strict=True)):
        _propose_referral(index, given, person, result, risk)
    return result


# What makes the rules propose 移交卫健: a fever, or coming from a risk area (the person's ID, the declared
# origin, the plate's region). Letting such a person pass takes a stated reason, kept in the audit log.
REFER_FLAGS = frozenset({"fever", "risk_id", "risk_origin", "risk_plate"})
PROPOSE_REFERRAL = N_("The rules propose referral to health ({flags}): choose 'Referred to health', or say "
                      "why this person may pass.")


def proposed_flags(person: CheckedPerson, result: CheckResult, risk: RiskIndex) -> list[str]:
    """Return the flags that propose a referral for this person (the watch list aside)."""
    valid = person.temperature_c is not None and MIN_C <= person.temperature_c <= MAX_C  # else its own error
    flags = person_flags(person.temperature_c if valid else None, person.id_number, risk, set(),
                         result.origin_level, result.plate_level)
    return [f for f in flags if f in REFER_FLAGS]


def _propose_referral(index: int, given: PersonInput, person: CheckedPerson, result: CheckResult,
                      risk: RiskIndex) -> None:
    reasons = proposed_flags(person, result, risk)
    if not reasons or person.disposition not in ("passed", "green_lane"):  # letting through, either way
        return
    why = " ".join(given.override_reason.split())[:200]
    if len(why) < 2:
        result.errors.append(FieldError(f"people.{index}.disposition", PROPOSE_REFERRAL,
                                        {"flags": ",".join(reasons)}))
        return
    person.override_reason = why


def flag_people(result: CheckResult, on_watch: set[str]) -> None:
    """Set each person's flags, given the ID numbers among them on the watch list."""
    for person in result.people:
        person.flags = person_flags(person.temperature_c, person.id_number, result.risk, on_watch,
                                    result.origin_level, result.plate_level)


def _check_person(index: int, p: PersonInput, errors: list[FieldError]) -> CheckedPerson:
    prefix = f"people.{index}."
    out = CheckedPerson(name=" ".join(fold(p.name).split()), id_number=None, doc_type=None, doc_number=None,
                        temperature_c=p.temperature_c, disposition=p.disposition, role=p.role)
    if p.doc_type in ("", DocumentType.RESIDENT_ID):
        if not p.id_number.strip():
            errors.append(FieldError(prefix + "id_number", ENTER_DOCUMENT))
        else:
            try:
                rid = parse_id_number(p.id_number)
                out.id_number, out.birth_date, out.sex = rid.number, rid.birth_date, rid.sex
                out.origin_area = rid.origin.full_name if rid.origin else None
            except CodeError as exc:
                errors.append(FieldError(prefix + "id_number", exc.message, exc.params))
    else:
        try:
            out.doc_type, out.doc_number = str(DocumentType(p.doc_type)), validate_document(p.doc_type, p.doc_number)
        except ValueError as exc:
            message, params = (exc.message, exc.params) if isinstance(exc, CodeError) else (CHOOSE, {})
            errors.append(FieldError(prefix + "doc_number", message, params))
    if not out.name:
        errors.append(FieldError(prefix + "name", ENTER_NAME))
    if p.temperature_c is None or not MIN_C <= p.temperature_c <= MAX_C:
        errors.append(FieldError(prefix + "temperature_c", TEMPERATURE, {"low": MIN_C, "high": MAX_C}))
    if p.disposition not in DISPOSITIONS:
        errors.append(FieldError(prefix + "disposition", CHOOSE))
    if p.role not in ROLES:
        errors.append(FieldError(prefix + "role", CHOOSE))
    return out


def _fill(passage: Passage, data: PassageInput, checked: CheckResult) -> None:
    passage.plate, passage.plate_region = checked.plate, checked.plate_region
    passage.origin = " ".join(data.origin.split())[:100] or None
    passage.destination = " ".join(data.destination.split())[:100] or None
    passage.reason = " ".join(data.reason.split())[:100] or None
    passage.flags = ",".join(f for f, on in (("risk_plate", checked.plate_level), ("risk_origin", checked.origin_level))
                             if on)


def _people(session: Session, checkpoint: Checkpoint, passage: Passage, checked: CheckResult) -> None:
    links = link_persons(session, [IncomingRecord(name=p.name, id_number=p.id_number, phone=None, address=None,
                                                  unit_id=checkpoint.unit_id, doc_type=p.doc_type,
                                                  doc_number=p.doc_number) for p in checked.people])
    referred = []
    for person, link in zip(checked.people, links, strict=True):
        row = PassagePerson(person_id=link.person_id, role=person.role, name=person.name, id_number=person.id_number,
                            doc_type=person.doc_type, doc_number=person.doc_number,
                            temperature_c=person.temperature_c, disposition=person.disposition,
                            flags=",".join(person.flags), override_reason=person.override_reason)
        passage.people.append(row)
        if person.disposition == "referred":
            referred.append(row)
    for row in referred:
        session.add(Referral(passage_person=row, person_id=row.person_id, checkpoint_id=checkpoint.id,
                             at=passage.at, reason=row.flags or "referred"))


def correct_passage(session: Session, user: User, passage_id: int, data: PassageInput) -> Passage:
    """Replace a recent passage's details and people (the change is audited like any other)."""
    passage = session.get(Passage, passage_id)
    if passage is None:
        raise NotFound()
    checkpoint = get_checkpoint(session, user, passage.checkpoint_id, PASSAGE_WRITE)
    checked = check_passage(session, data)
    had_pass = any(p.disposition == GREEN_LANE for p in passage.people)
    if not had_pass and any(p.disposition == GREEN_LANE for p in checked.people):
        checked.errors.append(FieldError("pass_token", GREEN_LANE_NEEDS_PASS))
    if checked.errors:
        raise ValidationFailed(checked.errors)
    _fill(passage, data, checked)
    passage.lane = data.lane
    passage.corrected_at = utcnow()
    for old in list(passage.people):
        passage.people.remove(old)
    session.flush()
    _people(session, checkpoint, passage, checked)
    session.flush()
    audit.record(session, "correct", "passages", passage.id)
    return passage


def recent_passages(session: Session, user: User, checkpoint_id: int, limit: int = 15) -> list[Passage]:
    checkpoint = get_checkpoint(session, user, checkpoint_id, CHECKPOINT_READ)
    passages = list(session.execute(select(Passage).where(Passage.checkpoint_id == checkpoint.id)
                                    .order_by(Passage.at.desc(), Passage.id.desc()).limit(limit)).scalars())
    audit.record(session, "list", "passages", None, checkpoint=checkpoint.id, results=len(passages))
    return passages


# --- referrals -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReferralRow:
    referral: Referral
    checkpoint_name: str | None  # None: referred from a follow-up (people.followups) or a lead
    name: str
    temperature_c: float | None
    overdue: bool
    id_number: str | None = None  # shown masked; the person file reveals it on purpose (audited)
    phone: str | None = None  # shown masked; "call" reveals it (audited)
    plate: str | None = None
    origin: str | None = None
    destination: str | None = None
    passage_id: int | None = None


def referrals(session: Session, user: User, open_only: bool, overdue_minutes: int,
              referral_id: int | None = None) -> list[ReferralRow]:
    """Return referrals (the newest 500, or the one asked for): health sees the city's (follow-ups'
    included), checkpoint officers their checkpoints'."""
    require(user, REFERRAL_READ)
    stmt = (select(Referral, Checkpoint.name, func.coalesce(PassagePerson.name, Person.name),
                   PassagePerson.temperature_c, Person.id_number, Person.phone, Passage.plate, Passage.origin,
                   Passage.destination, Passage.id)
            .outerjoin(Checkpoint, Checkpoint.id == Referral.checkpoint_id)
            .outerjoin(PassagePerson, PassagePerson.id == Referral.passage_person_id)
            .outerjoin(Passage, Passage.id == PassagePerson.passage_id)
            .join(Person, Person.id == Referral.person_id))
    if user.role != Role.HEALTH:
        stmt = stmt.where(Referral.checkpoint_id.in_(visible_checkpoints(user).with_only_columns(Checkpoint.id)))
    if open_only:
        stmt = stmt.where(Referral.acknowledged_at.is_(None))
    if referral_id is not None:
        stmt = stmt.where(Referral.id == referral_id)
    rows = session.execute(stmt.order_by(Referral.at.desc()).limit(500)).all()
    audit.record(session, "list", "referrals", None, open_only=open_only, results=len(rows))
    limit = utcnow() - timedelta(minutes=overdue_minutes)
    return [ReferralRow(r, cp, name, temp, r.acknowledged_at is None and r.at < limit, idn, phone, plate, origin,
                        dest, passage_id)
            for r, cp, name, temp, idn, phone, plate, origin, dest, passage_id in rows]


CHOOSE_HANDLING = N_("Say what health did with the person.")


def acknowledge_referral(session: Session, user: User, referral_id: int, note: str = "",
                         handling: str = "other") -> Referral:
    """Health takes the person over and says what it did; the checkpoint and the person file see it."""
    require(user, REFERRAL_ACK)
    if handling not in HANDLINGS:
        raise ValidationFailed.one("handling", CHOOSE_HANDLING)
    changed = rowcount(session.execute(update(Referral).where(Referral.id == referral_id,
                                                              Referral.acknowledged_at.is_(None))
                                       .values(acknowledged_at=utcnow(), acknowledged_by=user.display_name,
                                               note=note.strip()[:500] or None, handling=handling)))
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound()
    if not changed:
        raise Conflict(ALREADY_ACKNOWLEDGED)
    session.refresh(referral)
    return referral


# --- flows and lanes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class HourFlow:
    hour: datetime
    vehicles: int
    persons: int
    flagged: int
    referred: int
    turned_back: int


def hourly_flows(session: Session, user: User, checkpoint_ids: list[int], hours: int = 24) -> list[HourFlow]:
    """Return per hour (local clock hours, oldest first): vehicles, persons, flagged, referred, turned back."""
    require(user, CHECKPOINT_READ)
    since = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    passages = session.execute(select(Passage.id, Passage.at, Passage.plate).where(
        Passage.checkpoint_id.in_(checkpoint_ids), Passage.at >= since)).all()
    people = session.execute(select(PassagePerson.passage_id, PassagePerson.flags, PassagePerson.disposition)
                             .join(Passage, Passage.id == PassagePerson.passage_id)
                             .where(Passage.checkpoint_id.in_(checkpoint_ids), Passage.at >= since)).all()
    buckets = {since + timedelta(hours=h): [0, 0, 0, 0, 0] for h in range(hours)}
    hour_of = {}
    for pid, at, plate in passages:
        hour = at.replace(minute=0, second=0, microsecond=0)
        hour_of[pid] = hour
        if hour in buckets and plate:
            buckets[hour][0] += 1
    for pid, flags, disposition in people:
        bucket = buckets.get(hour_of.get(pid))  # type: ignore[arg-type]
        if bucket is None:
            continue
        bucket[1] += 1
        bucket[2] += bool(flags)
        bucket[3] += disposition == "referred"
        bucket[4] += disposition == "turned_back"
    return [HourFlow(hour, *counts) for hour, counts in sorted(buckets.items())]


def lane_plan(session: Session, user: User, checkpoint_id: int, target_wait_minutes: float = 5.0,
              window_minutes: int = 60) -> LanePlan:
    """Recommend inspection lanes from the last hour's vehicle arrivals and the measured time per vehicle."""
    checkpoint = get_checkpoint(session, user, checkpoint_id, CHECKPOINT_READ)
    since = utcnow() - timedelta(minutes=window_minutes)
    arrivals = session.execute(select(func.count(Passage.id)).where(
        Passage.checkpoint_id == checkpoint.id, Passage.at >= since, Passage.plate.is_not(None))).scalar_one()
    return plan_lanes(arrivals * 60.0 / window_minutes, checkpoint.seconds_per_vehicle, target_wait_minutes * 60)
