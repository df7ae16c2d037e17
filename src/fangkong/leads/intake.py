"""Lead intake: one use case for every channel (sheet, API batch, manual entry, other capabilities).

Each lead is normalised by the caller, deduplicated on a key (source, person, kind, push time), linked
to a person file, placed with the unit responsible for its address, given its deadline and legs,
all in bulk so that a 10,000-row sheet takes seconds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import LEAD_INTAKE, require
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.codes import CodeError, birth_date_in, lookup_area, normalize_id_number, normalize_mobile
from fangkong.core.context import current_actor
from fangkong.core.db import in_chunks, insert_returning_ids, insert_rows, one_of, utcnow
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.leads.deadlines import DEADLINES, PRIORITIES, Clocks, report_due, verify_due
from fangkong.leads.dispatch import Jurisdiction, Placement, load_jurisdiction
from fangkong.leads.models import Lead, LeadBatch, LeadEvent, LeadLeg, LeadSource, LeadSourceRow, LeadStatus
from fangkong.leads.sheets import identifies
from fangkong.people.matching import IncomingRecord, link_persons


@dataclass
class LeadInput:
    """A lead as normalised by its channel (ID number and phone already validated)."""

    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    current_address: str | None = None
    origin: str | None = None
    pushed_at: datetime | None = None
    kind: str | None = None
    priority: str | None = None
    note: str | None = None
    plate: str | None = None  # a vehicle lead: the plate whose passages are pulled up
    row: int | None = None  # row in the source sheet, if any
    birth_date: date | None = None  # read from an ID number that failed its check: matching still uses it
    flags: str | None = None  # fields given but not valid, comma-separated (the lead is matched without them)


@dataclass
class IntakeResult:
    batch_id: int
    new: int = 0
    repeated: int = 0
    rejected: int = 0
    lead_ids: list[int] = field(default_factory=list)  # per input, in order
    placements: dict[str, int] = field(default_factory=dict)
    flagged: dict[int, list[str]] = field(default_factory=dict)  # input index -> fields set aside


def get_or_create_source(session: Session, name: str) -> LeadSource:
    source = session.execute(select(LeadSource).where(LeadSource.name == name)).scalar_one_or_none()
    if source is None:
        source = LeadSource(name=name)
        session.add(source)
        session.flush()
    return source


def dedupe_key(source_id: int, item: LeadInput) -> str:
    """Return the key that makes a re-imported or repeated row the same lead."""
    who = item.id_number or f"{item.phone or ''}/{item.name or ''}"
    pushed = item.pushed_at.isoformat() if item.pushed_at else ""
    return hashlib.sha256(f"{source_id}|{who}|{item.kind or ''}|{pushed}".encode()).hexdigest()


def take_in(session: Session, source: LeadSource, batch: LeadBatch, items: list[LeadInput],
            rejected: list[tuple[int, str]] = (), rules: dict[str, Clocks] = DEADLINES,  # type: ignore[assignment]
            default_priority: str = "normal") -> IntakeResult:
    """Create the leads of a batch (skipping ones already known) and dispatch them."""
    now = utcnow()
    result = IntakeResult(batch.id, rejected=len(rejected))
    result.flagged = {i: item.flags.split(",") for i, item in enumerate(items) if item.flags}
    default_priority = batch.priority or default_priority
    keys = [dedupe_key(source.id, item) for item in items]
    known = _known(session, set(keys))
    first: dict[str, int] = {}
    fresh: list[int] = []
    for index, key in enumerate(keys):
        if key not in known and key not in first:
            first[key] = index
            fresh.append(index)
    j = load_jurisdiction(session)
    placements = [j.locate(items[i].current_address) for i in fresh]
    links = link_persons(session, [_record(items[i], p, j) for i, p in zip(fresh, placements, strict=True)])
    rows = [_lead_row(source, batch, items[i], keys[i], p, link.person_id, link.how, j, now, default_priority, rules)
            for i, p, link in zip(fresh, placements, links, strict=True)]
    new_ids = insert_returning_ids(session, Lead, rows)
    audit.record_created(session, Lead, [{**row, "id": i} for row, i in zip(rows, new_ids, strict=True)])
    for key, lead_id in zip((keys[i] for i in fresh), new_ids, strict=True):
        known[key] = lead_id
    _legs_and_events(session, source, rows, new_ids, j, now)
    result.lead_ids = [known[k] for k in keys]
    result.new = len(new_ids)
    result.repeated = len(items) - len(new_ids)
    for placement in placements:
        result.placements[placement.kind] = result.placements.get(placement.kind, 0) + 1
    _source_rows(session, batch, items, result.lead_ids, rejected)
    batch.rows_total += len(items) + len(rejected)
    batch.rows_rejected += len(rejected)
    batch.leads_new += result.new
    batch.leads_repeated += result.repeated
    audit.record(session, "leads_intake", "lead_batches", batch.id, new=result.new, repeated=result.repeated,
                 rejected=len(rejected), placements=result.placements)
    return result


def _known(session: Session, keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in in_chunks(session, sorted(keys)):
        found.update(session.execute(select(Lead.dedupe_key, Lead.id).where(
            one_of(session, Lead.dedupe_key, chunk))).all())
    return found


def _record(item: LeadInput, placement: Placement, j: Jurisdiction) -> IncomingRecord:
    return IncomingRecord(name=item.name, id_number=item.id_number, phone=item.phone, address=item.current_address,
                          unit_id=placement.unit_id or j.city_unit_id, birth_date=item.birth_date)


def _hint(item: LeadInput) -> str | None:
    """Return where the ID number was issued, as a hint for the manual queue (not a residence)."""
    if item.id_number:
        area = lookup_area(item.id_number[:6])
        return f"身份证发证地：{area.full_name}" if area else None
    return None


def _lead_row(source: LeadSource, batch: LeadBatch, item: LeadInput, key: str, placement: Placement,
              person_id: int, how: str, j: Jurisdiction, now: datetime, default_priority: str,
              rules: dict[str, Clocks]) -> dict[str, object]:
    priority = item.priority or default_priority
    if placement.kind in ("station", "district"):
        status, unit_id, due = LeadStatus.DISPATCHED, placement.unit_id, verify_due(priority, now, rules)
        report = report_due(priority, now, rules)
    elif placement.kind == "outside":
        status, unit_id, due, report = LeadStatus.OUTSIDE, j.city_unit_id, None, None
    else:
        status, unit_id, due = LeadStatus.MANUAL, j.city_unit_id, verify_due(priority, now, rules)
        report = report_due(priority, now, rules)
    return {
        "dedupe_key": key, "source_id": source.id, "batch_id": batch.id, "kind": item.kind, "priority": priority,
        "name": item.name, "id_number": item.id_number, "phone": item.phone, "current_address": item.current_address,
        "origin": item.origin, "note": item.note, "pushed_at": item.pushed_at, "person_id": person_id,
        "person_match": how, "unit_id": unit_id, "status": status, "hint": _hint(item) if status == LeadStatus.MANUAL
        else None, "received_at": now, "dispatched_at": now if status == LeadStatus.DISPATCHED else None,
        "due_at": due, "report_due_at": report, "closed_at": now if status == LeadStatus.OUTSIDE else None,
        "plate": item.plate, "flags": item.flags,
    }


def _legs_and_events(session: Session, source: LeadSource, rows: list[dict[str, object]], ids: list[int],
                     j: Jurisdiction, now: datetime) -> None:
    username = current_actor.get().username
    legs, events = [], []
    for row, lead_id in zip(rows, ids, strict=True):
        events.append({"lead_id": lead_id, "at": now, "username": username, "action": "received", "unit_id": None,
                       "note": None})
        if row["status"] != LeadStatus.DISPATCHED:
            events.append({"lead_id": lead_id, "at": now, "username": username, "action": row["status"],
                           "unit_id": row["unit_id"], "note": None})
            continue
        legs.append({"lead_id": lead_id, "kind": "police", "unit_id": row["unit_id"], "status": "open",
                     "due_at": row["due_at"]})
        community = j.community_unit(row["unit_id"]) if source.two_legs else None  # type: ignore[arg-type]
        if community is not None:
            legs.append({"lead_id": lead_id, "kind": "community", "unit_id": community, "status": "open",
                         "due_at": row["due_at"]})
        events.append({"lead_id": lead_id, "at": now, "username": username, "action": "dispatched",
                       "unit_id": row["unit_id"], "note": None})
    insert_rows(session, LeadLeg, legs)
    insert_rows(session, LeadEvent, events)


def _source_rows(session: Session, batch: LeadBatch, items: list[LeadInput], lead_ids: list[int],
                 rejected: list[tuple[int, str]]) -> None:
    values: list[dict[str, int | str | None]] = [
        {"batch_id": batch.id, "row": item.row, "lead_id": lead_id, "problem": None}
        for item, lead_id in zip(items, lead_ids, strict=True) if item.row is not None]
    values += [{"batch_id": batch.id, "row": row, "lead_id": None, "problem": problem[:255]}
               for row, problem in rejected]
    insert_rows(session, LeadSourceRow, values)


def remember_mapping(source: LeadSource, headers: list[str], mapping: dict[int, str]) -> None:
    """Keep the column mapping a user confirmed for this source, for its next sheet."""
    known = json.loads(source.mapping or "{}")
    known.update({headers[col]: fld for col, fld in mapping.items() if col < len(headers) and headers[col]})
    source.mapping = json.dumps(known, ensure_ascii=False, sort_keys=True)


@dataclass
class RawLead:
    """A lead as typed by a person or sent by another system, before normalisation."""

    name: str = ""
    id_number: str = ""
    phone: str = ""
    current_address: str = ""
    origin: str = ""
    pushed_at: datetime | None = None
    kind: str = ""
    priority: str = ""
    note: str = ""


def clean_lead(raw: RawLead, prefix: str = "") -> tuple[LeadInput, list[FieldError]]:
    """Normalise and check one lead; field names in errors carry `prefix` (e.g. "leads.3.")."""
    errors: list[FieldError] = []
    item = LeadInput(name=" ".join(raw.name.split()) or None, current_address=" ".join(raw.current_address.split())
                     or None, origin=raw.origin.strip() or None, pushed_at=raw.pushed_at, kind=raw.kind.strip() or None,
                     note=raw.note.strip()[:500] or None)
    flagged = []  # a bad field never refuses the lead (issue 21): it is matched on what is valid
    if raw.id_number.strip():
        try:
            item.id_number = normalize_id_number(raw.id_number)
        except CodeError:
            flagged.append("id_number")
            item.birth_date = birth_date_in(raw.id_number)
    if raw.phone.strip():
        try:
            item.phone = normalize_mobile(raw.phone)
        except CodeError:
            flagged.append("phone")
    item.flags = ",".join(flagged) or None
    if raw.priority and raw.priority not in PRIORITIES:
        errors.append(FieldError(prefix + "priority", N_("Choose one of the options.")))
    item.priority = raw.priority or None
    if item.pushed_at is not None and item.pushed_at.tzinfo is None:
        item.pushed_at = item.pushed_at.replace(tzinfo=LOCAL_TZ)
    if not errors and not identifies(item.id_number, item.name, item.phone, item.birth_date):
        errors.append(FieldError(prefix + "id_number", N_("Give a valid ID number, or the name and the phone.")))
    return item, errors


def plan_leads(session: Session, source_name: str, raws: list[RawLead]) -> list[Placement | None]:
    """Return where each lead would go if `submit_leads` took it in now, writing nothing: the unit of its
    address, placed by the same `Jurisdiction.locate` as `take_in`, or, for a lead that repeats one already
    taken in from this source, that lead's unit (kind "repeated"). None for a lead that would be refused.

    A caller shows it before a big dispatch (tracing's "how many go to which station"), so the counts
    are the ones the dispatch will make.
    """
    items = [clean_lead(raw) for raw in raws]
    source = session.execute(select(LeadSource).where(LeadSource.name == " ".join(source_name.split()))
                             ).scalar_one_or_none()
    keys = [dedupe_key(source.id if source is not None else 0, item) for item, _errors in items]
    known: dict[str, int] = {}
    if source is not None:
        for chunk in in_chunks(session, sorted(set(keys))):
            known.update(session.execute(select(Lead.dedupe_key, Lead.unit_id).where(
                one_of(session, Lead.dedupe_key, chunk))).all())
    j = load_jurisdiction(session)
    plan: list[Placement | None] = []
    for (item, errors), key in zip(items, keys, strict=True):
        if errors:
            plan.append(None)
        elif key in known:
            plan.append(Placement("repeated", known[key]))
        else:
            placed = j.locate(item.current_address)
            plan.append(placed)
            known[key] = placed.unit_id or j.city_unit_id  # the same person twice is one lead (take_in)
    return plan


def submit_leads(session: Session, user: User, source_name: str, channel: str, raws: list[RawLead],
                 reference: str | None = None, two_legs: bool = False,
                 rules: dict[str, Clocks] = DEADLINES, action: str = LEAD_INTAKE,
                 priority: str | None = None, batch_id: int | None = None) -> tuple[LeadBatch, IntakeResult]:
    """Take in leads from the API, a manual entry or another capability: all valid, or nothing written.

    `action` is the permission the caller needs: another capability pushing its own findings (tracing's
    contacts) names its own, so health may dispatch contacts without importing sheets. `batch_id` adds
    the leads to a batch of the same source taken in earlier (a dispatch written in parts).
    """
    require(user, action)
    items, errors = [], []
    for index, raw in enumerate(raws):
        item, problems = clean_lead(raw, f"leads.{index}." if len(raws) > 1 or channel == "api" else "")
        items.append(item)
        errors.extend(problems)
    if not " ".join(source_name.split()):
        errors.append(FieldError("source", N_("Name the source (who pushed this sheet).")))
    if not raws:
        errors.append(FieldError("leads", N_("This field is required.")))
    if priority and priority not in PRIORITIES:
        errors.append(FieldError("priority", N_("Choose one of the options.")))
    if errors:
        raise ValidationFailed(errors)
    source = get_or_create_source(session, " ".join(source_name.split()))
    if two_legs and not source.two_legs:
        source.two_legs = True
    batch = session.get(LeadBatch, batch_id) if batch_id is not None else None
    if batch is None or batch.source_id != source.id:
        batch = LeadBatch(source_id=source.id, channel=channel, reference=(reference or "")[:100] or None,
                          unit_id=user.unit_id, received_by=current_actor.get().username, priority=priority or None)
        session.add(batch)
        session.flush()
    return batch, take_in(session, source, batch, items, rules=rules)
