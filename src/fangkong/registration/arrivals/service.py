"""Arrival self-registration (来X人员信息填报): the public form's rules, the receipt lookup, the staff lists.

An arrival links to (or opens) a person file. One from a risk area, by its origin or by a place on
its route (the checkpoints' risk areas, read through checkpoints.flags), becomes a lead for the unit
of its destination address through the leads capability's intake, and gets the risk status
arrival_high / arrival_medium where the protocol profile defines an observation for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import REGISTRATION_READ, get_visible, require, restrict
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.codes import CodeError, lookup_area, normalize_plate
from fangkong.core.db import utcnow
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.core.paging import Page, paginate
from fangkong.core.protocol import FEVER_C, get_profile
from fangkong.core.riskareas import load_risk_index
from fangkong.leads.dispatch import load_jurisdiction
from fangkong.people.matching import IncomingRecord, link_persons
from fangkong.registration import inputs
from fangkong.registration.arrivals.models import Arrival
from fangkong.registration.handover import acting_for_city, raise_lead

TRANSPORTS = {"train": N_("Train"), "flight": N_("Flight"), "car": N_("Own car"), "coach": N_("Coach or bus"),
              "other": N_("Other")}
SYMPTOMS = {"fever": N_("Fever"), "cough": N_("Cough"), "sore_throat": N_("Sore throat"),
            "fatigue": N_("Fatigue"), "taste_smell": N_("Loss of taste or smell"), "diarrhoea": N_("Diarrhoea")}
TESTS = {"none": N_("Not tested"), "negative": N_("Negative"), "positive": N_("Positive"),
         "pending": N_("Waiting for the result")}
LEVELS = {"high": N_("High risk"), "medium": N_("Medium risk")}
REASONS = {"origin": N_("Coming from a risk area"), "route": N_("Travelled through a risk area")}
MIN_C, MAX_C = 34.0, 43.0
PAST_DAYS, AHEAD_DAYS = 30, 7  # a registration covers a journey of the last month, or one planned this week

_TRAIN = re.compile(r"[GDCZTKYLS]?[0-9]{1,4}")
_FLIGHT = re.compile(r"[A-Z0-9]{2}[0-9]{1,4}[A-Z]?")

ARRIVED_BEFORE_LEFT = N_("The arrival date cannot come before the departure date.")
ARRIVAL_WINDOW = N_("Give an arrival date within the last {past} days or the next {ahead} days.")
JOURNEY_TOO_LONG = N_("A journey registered here started at most {days} days before the arrival.")
TEST_IN_FUTURE = N_("The test date cannot lie in the future.")
TEST_DATE_NEEDED = N_("Give the date of the test.")
TEMPERATURE = N_("A body temperature lies between {low} and {high} °C.")
BAD_TRAIN = N_("A train number is a letter such as G, D or K and up to 4 digits, e.g. G1234.")
BAD_FLIGHT = N_("A flight number is the airline's two characters and up to 4 digits, e.g. MU2411.")
UNKNOWN_AREA = N_("Choose the city or county you come from.")
OUTSIDE_CITY = N_("This address is not in the city. Give the address where you will stay here.")
CONSENT = N_("Please confirm that you have read the notice.")
NOT_FOUND = N_("No registration matches this code and phone number. Check both and try again.")
SOURCE_NAME = "来（返）人员自主填报"  # the lead source every public arrival registration is filed under


@dataclass
class ArrivalInput:
    """The form as sent (strings), before any check."""

    name: str = ""
    doc_type: str = "resident_id"
    doc_number: str = ""
    phone: str = ""
    origin_code: str = ""
    origin_text: str = ""
    route: str = ""
    departed_on: str = ""
    arrived_on: str = ""
    transport: str = ""
    transport_number: str = ""
    plate: str = ""
    destination_address: str = ""
    symptoms: list[str] = field(default_factory=list)
    temperature_c: str = ""
    test_result: str = "none"
    test_on: str = ""
    consent: bool = False


@dataclass
class CleanArrival:
    name: str
    doc_type: str
    id_number: str | None
    doc_number: str | None
    phone: str
    origin_code: str | None
    origin_text: str | None
    route: str | None
    departed_on: date
    arrived_on: date
    transport: str
    transport_number: str | None
    plate: str | None
    destination_address: str
    symptoms: list[str]
    temperature_c: float | None
    test_result: str
    test_on: date | None


def today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def clean_arrival(data: ArrivalInput) -> CleanArrival:
    """Return the checked, normalised form, or raise ValidationFailed naming every field at fault."""
    errors: list[FieldError] = []
    name = inputs.clean_text(errors, "name", data.name, 50, required=True)
    doc_type, id_number, doc_number = inputs.clean_document(errors, "doc_number", data.doc_type, data.doc_number)
    phone = inputs.clean_phone(errors, "phone", data.phone)
    origin_code = _origin(errors, data.origin_code)
    origin_text = inputs.clean_text(errors, "origin_text", data.origin_text, 100)
    route = inputs.clean_text(errors, "route", data.route, 200)
    departed, arrived = _dates(errors, data)
    transport = inputs.clean_choice(errors, "transport", data.transport, TRANSPORTS)
    number, plate = _vehicle(errors, transport, data)
    address = inputs.clean_text(errors, "destination_address", data.destination_address, 120, required=True)
    symptoms = [s for s in dict.fromkeys(data.symptoms) if s]
    if any(s not in SYMPTOMS for s in symptoms) or len(symptoms) > len(SYMPTOMS):
        errors.append(FieldError("symptoms", inputs.CHOOSE))
    temperature = _temperature(errors, data.temperature_c)
    test_result = inputs.clean_choice(errors, "test_result", data.test_result or "none", TESTS)
    test_on = inputs.clean_date(errors, "test_on", data.test_on, required=test_result in ("negative", "positive"))
    if test_on is not None and test_on > today():
        errors.append(FieldError("test_on", TEST_IN_FUTURE))
    if not origin_code and not origin_text and not any(e.field in ("origin_code", "origin_text") for e in errors):
        errors.append(FieldError("origin_code", UNKNOWN_AREA))
    if not data.consent:
        errors.append(FieldError("consent", CONSENT))
    if errors:
        raise ValidationFailed(errors)
    return CleanArrival(name=name, doc_type=doc_type, id_number=id_number, doc_number=doc_number,  # type: ignore[arg-type]
                        phone=phone, origin_code=origin_code, origin_text=origin_text, route=route,  # type: ignore[arg-type]
                        departed_on=departed, arrived_on=arrived, transport=transport,  # type: ignore[arg-type]
                        transport_number=number, plate=plate, destination_address=address,  # type: ignore[arg-type]
                        symptoms=symptoms, temperature_c=temperature, test_result=test_result,  # type: ignore[arg-type]
                        test_on=test_on)


def _origin(errors: list[FieldError], raw: str) -> str | None:
    code = (raw or "").strip()
    if not code:
        return None
    area = lookup_area(code) if len(code) == 6 and code.isdigit() else None
    if area is None or not area.current:
        errors.append(FieldError("origin_code", UNKNOWN_AREA))
        return None
    return code


def _dates(errors: list[FieldError], data: ArrivalInput) -> tuple[date | None, date | None]:
    departed = inputs.clean_date(errors, "departed_on", data.departed_on)
    arrived = inputs.clean_date(errors, "arrived_on", data.arrived_on)
    now = today()
    if arrived is not None and not now - timedelta(days=PAST_DAYS) <= arrived <= now + timedelta(days=AHEAD_DAYS):
        errors.append(FieldError("arrived_on", ARRIVAL_WINDOW, {"past": PAST_DAYS, "ahead": AHEAD_DAYS}))
    elif departed is not None and arrived is not None:
        if arrived < departed:
            errors.append(FieldError("arrived_on", ARRIVED_BEFORE_LEFT))
        elif (arrived - departed).days > PAST_DAYS:
            errors.append(FieldError("departed_on", JOURNEY_TOO_LONG, {"days": PAST_DAYS}))
    return departed, arrived


def _vehicle(errors: list[FieldError], transport: str | None, data: ArrivalInput) -> tuple[str | None, str | None]:
    number: str | None = None
    plate: str | None = None
    if transport in ("train", "flight"):
        number = inputs.clean_text(errors, "transport_number", data.transport_number, 10, required=True)
        if number is not None:
            number = number.replace(" ", "").upper()
            pattern, message = (_TRAIN, BAD_TRAIN) if transport == "train" else (_FLIGHT, BAD_FLIGHT)
            if not pattern.fullmatch(number):
                errors.append(FieldError("transport_number", message))
                number = None
    if transport == "car" or data.plate.strip():
        if not data.plate.strip():
            errors.append(FieldError("plate", inputs.REQUIRED))
        else:
            try:
                plate = normalize_plate(data.plate[:20]).number
            except CodeError as exc:
                errors.append(FieldError("plate", exc.message, exc.params))
    return number, plate


def _temperature(errors: list[FieldError], raw: str) -> float | None:
    text = (raw or "").strip().replace("，", ".").replace(",", ".")
    if not text:
        return None
    try:
        value = float(text[:8])
    except ValueError:
        value = -1.0
    if not MIN_C <= value <= MAX_C:
        errors.append(FieldError("temperature_c", TEMPERATURE, {"low": MIN_C, "high": MAX_C}))
        return None
    return round(value, 1)


@dataclass(frozen=True)
class Risk:
    level: str | None  # high | medium | None
    reason: str | None  # origin | route


def assess_risk(session: Session, origin_code: str | None, origin_text: str | None, route: str | None,
                now: datetime | None = None) -> Risk:
    """Return the highest risk level the origin or the route touches (the checkpoints' risk areas)."""
    index = load_risk_index(session, now or utcnow())
    by_origin = [lvl for lvl in (index.level_for_code(origin_code) if origin_code else None,
                                 index.level_for_text(origin_text or "")) if lvl]
    by_route = index.level_for_text(route or "")
    for level in ("high", "medium"):
        if level in by_origin:
            return Risk(level, "origin")
        if by_route == level:
            return Risk(level, "route")
    return Risk(None, None)


def register_arrival(session: Session, data: ArrivalInput, retention_days: int,
                     profile_name: str = "edition-9") -> Arrival:
    """Save a public arrival registration with its person file, and its lead and status if from risk."""
    clean = clean_arrival(data)
    j = load_jurisdiction(session)
    placement = j.locate(clean.destination_address)
    if placement.kind == "outside":
        raise ValidationFailed.one("destination_address", OUTSIDE_CITY)
    unit_id = placement.unit_id or j.city_unit_id
    link = link_persons(session, [IncomingRecord(name=clean.name, id_number=clean.id_number, phone=clean.phone,
                                                 address=clean.destination_address, unit_id=unit_id,
                                                 doc_type=None if clean.id_number else clean.doc_type,
                                                 doc_number=clean.doc_number)])[0]
    now = utcnow()
    risk = assess_risk(session, clean.origin_code, clean.origin_text, clean.route, now)
    arrival = Arrival(reference=_unique_reference(session), created_at=now,
                      purge_after=_purge_after(clean, retention_days),
                      name=clean.name, doc_type=clean.doc_type, id_number=clean.id_number, doc_number=clean.doc_number,
                      phone=clean.phone, origin_code=clean.origin_code, origin_text=clean.origin_text,
                      route=clean.route, departed_on=clean.departed_on, arrived_on=clean.arrived_on,
                      transport=clean.transport, transport_number=clean.transport_number, plate=clean.plate,
                      destination_address=clean.destination_address, unit_id=unit_id, placement=placement.kind,
                      symptoms=",".join(clean.symptoms), temperature_c=clean.temperature_c,
                      test_result=clean.test_result, test_on=clean.test_on, risk_level=risk.level,
                      risk_reason=risk.reason, person_id=link.person_id)
    session.add(arrival)
    session.flush()
    if risk.level:
        arrival.lead_id = raise_lead(session, SOURCE_NAME, _lead_input(arrival, now), now)
        arrival.status_set = _set_status(session, arrival, profile_name)
    session.flush()
    return arrival


def _purge_after(clean: CleanArrival, retention_days: int) -> datetime:
    start = datetime.combine(max(clean.arrived_on, today()), datetime.min.time(), LOCAL_TZ)
    return start + timedelta(days=retention_days + 1)


def _unique_reference(session: Session) -> str:
    while True:
        code = inputs.new_reference()
        if session.execute(select(Arrival.id).where(Arrival.reference == code)).first() is None:
            return code


def _lead_input(arrival: Arrival, now: datetime) -> dict[str, object]:
    area = lookup_area(arrival.origin_code) if arrival.origin_code else None
    origin = " ".join(x for x in (area.full_name if area else "", arrival.origin_text or "") if x)
    note = f"来（返）人员自主填报 {inputs.show_reference(arrival.reference)}；抵达 {arrival.arrived_on:%Y-%m-%d}"
    if arrival.route:
        note += f"；途经 {arrival.route}"
    return {"name": arrival.name, "id_number": arrival.id_number, "phone": arrival.phone,
            "current_address": arrival.destination_address, "origin": origin or None, "pushed_at": now,
            "kind": "重点地区来返人员", "priority": "urgent" if arrival.risk_level == "high" else "normal",
            "note": note}


def _set_status(session: Session, arrival: Arrival, profile_name: str) -> str | None:
    """Give the arrival's person file the risk status arrival_<level> if the profile observes it."""
    from fangkong.observation.status import change_status

    status = f"arrival_{arrival.risk_level}"
    if status not in get_profile(profile_name).observation:
        return None
    why = "途经风险地区" if arrival.risk_reason == "route" else "来自风险地区"  # stored text, as officers write it
    reason = f"来（返）人员自主填报：{why}（登记号 {inputs.show_reference(arrival.reference)}）"
    exposure = datetime.combine(arrival.arrived_on, datetime.min.time(), LOCAL_TZ)
    try:  # change_status checks before it writes: a refusal leaves nothing behind
        change_status(session, acting_for_city(session), arrival.person_id, status, reason,
                      evidence=f"arrival:{arrival.id}", profile_name=profile_name,
                      last_exposure=exposure if exposure <= utcnow() else None)
    except ValidationFailed:
        return None  # the same status already, or a case (never turned back into an arrival)
    return status


def find_own_arrival(session: Session, reference: str, phone: str) -> Arrival:
    """Return the registration with this code and phone (the person's own lookup), or raise."""
    code = inputs.normalise_reference(reference)
    errors: list[FieldError] = []
    number = inputs.clean_phone(errors, "phone", phone)
    if not code and not errors:
        errors.append(FieldError("reference", NOT_FOUND))
    if errors:
        raise ValidationFailed(errors)
    found = session.execute(select(Arrival).where(Arrival.reference == code, Arrival.phone == number)
                            ).unique().scalar_one_or_none()
    if found is None:
        raise ValidationFailed.one("reference", NOT_FOUND)
    audit.record(session, "read", "arrivals", found.id, by="self")
    return found


# --- staff -----------------------------------------------------------------------------------------

@dataclass
class ArrivalFilter:
    day: date | None = None  # arrival day
    origin: str = ""  # province code (2 digits) or a full area code
    risk: str = ""  # "" any | high | medium | risk (either) | none


def arrival_query(user: User, flt: ArrivalFilter) -> Select[Any]:
    """Return the arrivals a filter selects in the user's jurisdiction (the page and its export)."""
    stmt = restrict(select(Arrival), user, Arrival.unit_id)
    if flt.day is not None:
        stmt = stmt.where(Arrival.arrived_on == flt.day)
    origin = flt.origin.strip()
    if origin.isdigit() and len(origin) in (2, 4, 6):
        stmt = stmt.where(Arrival.origin_code.startswith(origin))
    if flt.risk in LEVELS:
        stmt = stmt.where(Arrival.risk_level == flt.risk)
    elif flt.risk == "risk":
        stmt = stmt.where(Arrival.risk_level.is_not(None))
    elif flt.risk == "none":
        stmt = stmt.where(Arrival.risk_level.is_(None))
    return stmt


def list_arrivals(session: Session, user: User, flt: ArrivalFilter, page: int = 1,
                  page_size: int = 50) -> Page[Arrival]:
    """Return arrivals to the user's jurisdiction, newest first (the list read is audited)."""
    require(user, REGISTRATION_READ)
    found = paginate(session, arrival_query(user, flt).order_by(Arrival.created_at.desc(), Arrival.id.desc()),
                     page, page_size)
    audit.record(session, "search", "arrivals", None, day=flt.day, origin=flt.origin, risk=flt.risk,
                 results=found.total)
    return found


def open_arrival(session: Session, user: User, arrival_id: int) -> Arrival:
    """Return one arrival in the jurisdiction (404 outside it); the read is audited."""
    arrival = get_visible(session, user, Arrival, arrival_id, REGISTRATION_READ)
    audit.record(session, "read", "arrivals", arrival.id)
    return arrival


def counts_by_origin(session: Session, user: User, days: int = 14) -> list[tuple[str, date, int]]:
    """Return (province code, arrival day, arrivals) over the last `days` days in the jurisdiction."""
    require(user, REGISTRATION_READ)
    since = today() - timedelta(days=days - 1)
    province = func.substr(Arrival.origin_code, 1, 2)
    stmt = restrict(select(province, Arrival.arrived_on, func.count(Arrival.id))
                    .where(Arrival.arrived_on >= since, Arrival.origin_code.is_not(None))
                    .group_by(province, Arrival.arrived_on), user, Arrival.unit_id)
    return [(p, d, n) for p, d, n in session.execute(stmt.order_by(province, Arrival.arrived_on)).all()]


def has_fever(arrival: Arrival) -> bool:
    return (arrival.temperature_c or 0) >= FEVER_C or "fever" in arrival.symptoms.split(",")
