"""Applying for passes (the public form, no account), following one's application, and the responsible
unit's decision: approve (each pass then signed) or refuse with a reason, one by one or in bulk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.codes import CodeError, normalize_plate, parse_id_number
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.passes import forms
from fangkong.passes.issuing import responsible_unit, sign_row
from fangkong.passes.models import Pass, PassApplication
from fangkong.passes.rules import (
    ALREADY_DECIDED,
    DOCUMENT_MAGIC,
    DOCUMENT_TOO_LARGE,
    DOCUMENT_TYPE,
    DOCUMENT_TYPES,
    END_BEFORE_START,
    FAR_DATE,
    FAR_DAYS,
    MAX_DAYS,
    MAX_DOCUMENT_BYTES,
    MAX_PASSES_PER_APPLICATION,
    NO_VEHICLES,
    NOT_FOUND,
    PURPOSES,
    REASON_NEEDED,
    START_IN_PAST,
    TOO_LONG,
    TOO_MANY,
    day_end,
    day_start,
)
from fangkong.passes.tokens import KeyRing

BAD_DATE = N_("Use the form YYYY-MM-DD.")
CONSENT = N_("Please confirm that you have read the notice.")


@dataclass
class HolderInput:
    plate: str = ""
    name: str = ""
    id_number: str = ""


@dataclass
class ApplicationInput:
    """The public form as sent (strings), before any check."""

    company: str = ""
    contact_phone: str = ""
    address: str = ""
    purpose: str = ""
    route: str = ""
    valid_from: str = ""
    valid_until: str = ""
    kind: str = "vehicle"
    holders: list[HolderInput] = field(default_factory=list)
    consent: bool = False


@dataclass(frozen=True)
class Document:
    name: str
    data: bytes


def today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def parse_day(errors: list[FieldError], name: str, raw: str) -> date | None:
    text = raw.strip()
    if not text:
        errors.append(FieldError(name, forms.REQUIRED))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(name, BAD_DATE))
        return None


def check_validity(errors: list[FieldError], start: date | None, end: date | None, not_before: date | None) -> None:
    """Report a validity that ends before it starts, is too long, or (for the public) starts in the past."""
    if start is None or end is None:
        return
    if abs((start - today()).days) > FAR_DAYS or abs((end - today()).days) > FAR_DAYS:
        errors.append(FieldError("valid_until", FAR_DATE, {"days": FAR_DAYS}))  # also keeps tokens' uint32 times safe
        return
    if end < start:
        errors.append(FieldError("valid_until", END_BEFORE_START))
    elif (end - start).days + 1 > MAX_DAYS:
        errors.append(FieldError("valid_until", TOO_LONG, {"days": MAX_DAYS}))
    if not_before is not None and start < not_before:
        errors.append(FieldError("valid_from", START_IN_PAST))


def clean_holders(errors: list[FieldError], kind: str, holders: list[HolderInput]) -> list[dict[str, str | None]]:
    """Return the vehicles (plate, driver) or persons (name, ID number) given, normalised; report each field."""
    given = [h for h in holders if h.plate.strip() or h.name.strip() or h.id_number.strip()]
    if not given:
        errors.append(FieldError("holders", NO_VEHICLES))
    if len(given) > MAX_PASSES_PER_APPLICATION:
        errors.append(FieldError("holders", TOO_MANY, {"n": MAX_PASSES_PER_APPLICATION}))
        return []
    out = []
    for index, holder in enumerate(holders):
        if holder not in given:
            continue
        prefix = f"holders.{index}."
        row: dict[str, str | None] = {"plate": None, "holder_name": forms.clean_text(
            errors, prefix + "name", holder.name, 50, required=kind == "person"), "holder_id_number": None}
        if kind == "vehicle":
            try:
                row["plate"] = normalize_plate(holder.plate).number
            except CodeError as exc:
                errors.append(FieldError(prefix + "plate", exc.message, exc.params))
        if holder.id_number.strip() or kind == "person":
            try:
                row["holder_id_number"] = parse_id_number(holder.id_number).number
            except CodeError as exc:
                errors.append(FieldError(prefix + "id_number", exc.message, exc.params))
        out.append(row)
    return out


def check_document(errors: list[FieldError], document: Document | None) -> str | None:
    """Return the document's content type from its first bytes, or report a large or unknown file."""
    if document is None or not document.data:
        return None
    if len(document.data) > MAX_DOCUMENT_BYTES:
        errors.append(FieldError("document", DOCUMENT_TOO_LARGE, {"mb": MAX_DOCUMENT_BYTES // 1024 // 1024}))
        return None
    kind = next((t for magic, t in DOCUMENT_MAGIC.items() if document.data.startswith(magic)), None)
    if kind is None:
        errors.append(FieldError("document", DOCUMENT_TYPE))
    return kind


def documents_dir(var_dir: Path) -> Path:
    return var_dir / "passes" / "documents"


def keep_document(var_dir: Path, data: bytes, kind: str) -> str:
    """Keep a supporting document under var/ by its SHA-256 (readable by the server only)."""
    sha = hashlib.sha256(data).hexdigest()
    folder = documents_dir(var_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha}{DOCUMENT_TYPES[kind]}"
    if not path.exists():
        path.write_bytes(data)
        path.chmod(0o600)
    return sha


def apply(session: Session, data: ApplicationInput, document: Document | None, var_dir: Path,
          level: str, retention_days: int) -> PassApplication:
    """Record a public application with its passes (waiting for the responsible unit), or raise."""
    errors: list[FieldError] = []
    company = forms.clean_text(errors, "company", data.company, 100, required=True)
    phone = forms.clean_phone(errors, "contact_phone", data.contact_phone)
    address = forms.clean_text(errors, "address", data.address, 200, required=True)
    route = forms.clean_text(errors, "route", data.route, 200, required=True)
    if data.purpose not in PURPOSES:
        errors.append(FieldError("purpose", forms.CHOOSE))
    kind = data.kind if data.kind in ("vehicle", "person") else "vehicle"
    start, end = parse_day(errors, "valid_from", data.valid_from), parse_day(errors, "valid_until", data.valid_until)
    check_validity(errors, start, end, today())
    holders = clean_holders(errors, kind, data.holders)
    doc_type = check_document(errors, document)
    if not data.consent:
        errors.append(FieldError("consent", CONSENT))
    if errors:
        raise ValidationFailed(errors)
    assert start and end and company and phone and address and route
    application = PassApplication(
        reference=forms.new_reference(), source="public", company=company, contact_phone=phone, address=address,
        purpose=data.purpose, route=route, wanted_from=day_start(start), wanted_until=day_end(end),
        unit_id=responsible_unit(session, address, level), status="pending",
        purge_after=day_end(end) + timedelta(days=retention_days))
    if document is not None and doc_type is not None:
        application.document_name = Path(document.name).name[:100] or "document"
        application.document_sha256 = keep_document(var_dir, document.data, doc_type)
        application.document_type = doc_type
    for holder in holders:
        application.passes.append(Pass(kind=kind, purpose=data.purpose, route=route, valid_from=day_start(start),
                                       valid_until=day_end(end), unit_id=application.unit_id, **holder))
    session.add(application)
    session.flush()
    return application


def find_own(session: Session, reference: str, phone: str) -> PassApplication:
    """Return the application with this code and phone (the applicant's own lookup), or raise."""
    code = forms.normalise_reference(reference)
    errors: list[FieldError] = []
    number = forms.clean_phone(errors, "phone", phone)
    if not code and not errors:
        errors.append(FieldError("reference", NOT_FOUND))
    if errors:
        raise ValidationFailed(errors)
    found = session.execute(select(PassApplication).where(PassApplication.reference == code,
                                                          PassApplication.contact_phone == number)
                            ).scalar_one_or_none()
    if found is None:
        raise ValidationFailed.one("reference", NOT_FOUND)
    audit.record(session, "read", "pass_applications", found.id, by="self")
    return found


# --- decision ----------------------------------------------------------------------------------------

@dataclass
class Decision:
    approve: bool
    reason: str = ""
    valid_from: date | None = None  # None: as asked
    valid_until: date | None = None
    route: str = ""  # "" : as asked


def check_decision(decision: Decision) -> list[FieldError]:
    errors: list[FieldError] = []
    if not decision.approve and not decision.reason.strip():
        errors.append(FieldError("reason", REASON_NEEDED))
    if len(decision.reason) > 500 or len(decision.route) > 200:
        errors.append(FieldError("reason", forms.TOO_LONG, {"n": 500}))
    check_validity(errors, decision.valid_from, decision.valid_until, None)
    return errors


def decide(session: Session, user: User, ring: KeyRing, application: PassApplication, decision: Decision) -> None:
    """Approve (sign every pass) or refuse one pending application; compare-and-swap on its status, so two
    approvers deciding at once cannot both win."""
    errors = check_decision(decision)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    changed = rowcount(session.execute(
        update(PassApplication).where(PassApplication.id == application.id, PassApplication.status == "pending")
        .values(status="approved" if decision.approve else "refused", decided_at=now, decided_by=user.username,
                decision_reason=decision.reason.strip()[:500] or None)))
    if not changed:
        raise Conflict(ALREADY_DECIDED)
    session.refresh(application)
    audit.record(session, "approve" if decision.approve else "refuse", "pass_applications", application.id,
                 reason=decision.reason.strip()[:500])
    if decision.approve:
        for row in application.passes:
            _issue(ring, row, decision, now)
        session.flush()


def _issue(ring: KeyRing, row: Pass, decision: Decision, now: datetime) -> None:
    if decision.valid_from is not None and decision.valid_until is not None:
        row.valid_from, row.valid_until = day_start(decision.valid_from), day_end(decision.valid_until)
    if decision.route.strip():
        row.route = " ".join(decision.route.split())[:200]
    row.issued_at = now
    row.key_id, row.token = sign_row(ring, {"id": row.id, "kind": row.kind, "plate": row.plate,
                                            "holder_name": row.holder_name, "holder_id_number": row.holder_id_number,
                                            "valid_from": row.valid_from, "valid_until": row.valid_until})
