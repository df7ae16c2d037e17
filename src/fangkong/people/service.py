"""Person file use cases: search, open, reveal, create. Each takes a session and the acting user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import PERSON_READ, PERSON_REVEAL, PERSON_WRITE, get_visible, require, restrict
from fangkong.core.codes import (
    CodeError,
    DocumentType,
    age_band,
    fold,
    mask_id_number,
    mask_phone,
    normalize_mobile,
    parse_id_number,
    validate_document,
)
from fangkong.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, User
from fangkong.core.paging import Page, paginate
from fangkong.core.units import get_unit_in_scope
from fangkong.people.models import Person


@dataclass(frozen=True)
class PersonView:
    """A person file as shown: ID number and phone masked unless revealed."""

    id: int
    name: str
    id_number: str | None
    doc_type: str | None
    doc_number: str | None
    phone: str | None
    sex: str | None
    birth_date: date | None  # only when revealed: beside a masked number it would rebuild it
    age_band: str
    current_address: str | None
    household_address: str | None
    unit_id: int
    unit_name: str
    revealed: bool

    @classmethod
    def of(cls, person: Person, revealed: bool = False) -> PersonView:
        def keep(value: str | None, mask: Any) -> str | None:
            return value if revealed or value is None else mask(value)

        return cls(
            id=person.id, name=person.name,
            id_number=keep(person.id_number, mask_id_number),
            doc_type=person.doc_type,
            doc_number=keep(person.doc_number, _mask_document),
            phone=keep(person.phone, mask_phone),
            sex=person.sex, birth_date=person.birth_date if revealed else None,
            age_band=age_band(person.birth_date),
            current_address=person.current_address, household_address=person.household_address,
            unit_id=person.unit_id, unit_name=person.unit.name, revealed=revealed,
        )


def _mask_document(number: str) -> str:
    return number[:2] + "*" * max(0, len(number) - 4) + number[-2:]


@dataclass(frozen=True)
class SearchPage:
    query: str
    found: Page[PersonView]


def search_persons(session: Session, user: User, query: str, page: int = 1, page_size: int = 50) -> SearchPage:
    """Return persons in the user's jurisdiction matching a name, ID number or phone."""
    require(user, PERSON_READ)
    text = fold(query).strip()
    found = paginate(session, person_query(user, query), page, page_size)
    audit.record(session, "search", "persons", None, query=_masked_query(text), results=found.total)
    return SearchPage(query, Page([PersonView.of(p) for p in found.rows], found.total, found.page, found.page_size))


def person_query(user: User, query: str) -> Select[Any]:
    """Return the persons a search finds in the user's jurisdiction, in the page's order (page and export)."""
    text = fold(query).strip()
    stmt = restrict(select(Person), user, Person.unit_id)
    if text:
        stmt = stmt.where(_match(text))
    return stmt.order_by(Person.name, Person.id)


def _match(text: str) -> Any:
    compact = text.replace(" ", "").upper()
    if (compact.isdigit() and len(compact) == 11) or compact.startswith(("+86", "0086")):
        try:
            return Person.phone == normalize_mobile(compact)
        except CodeError:
            pass
    if len(compact) in (15, 18) and compact[:-1].isdigit():
        try:
            return Person.id_number == parse_id_number(compact).number
        except CodeError:
            return Person.id_number == compact
    if compact.isalnum() and compact.isascii() and len(compact) >= 4:
        # A fragment of a number: the last digits of an ID or phone, or a document number.
        return or_(Person.id_number.endswith(compact, autoescape=True),
                   Person.phone.endswith(compact, autoescape=True),
                   Person.doc_number == compact)
    return Person.name.contains(text, autoescape=True)


def _masked_query(text: str) -> str:
    """Keep search terms in the audit log without copying full numbers into it."""
    compact = text.replace(" ", "")
    if sum(ch.isdigit() for ch in compact) >= 6:
        return compact[:2] + "*" * (len(compact) - 4) + compact[-2:]
    return text


def open_person(session: Session, user: User, person_id: int) -> PersonView:
    """Return a person file (masked) and record the read."""
    person = get_visible(session, user, Person, person_id, PERSON_READ)
    audit.record(session, "read", "persons", person.id)
    return PersonView.of(person)


def reveal_person(session: Session, user: User, person_id: int, purpose: str) -> PersonView:
    """Return a person file with full numbers, recording who revealed it and why."""
    person = get_visible(session, user, Person, person_id, PERSON_REVEAL)
    audit.record_reveal(session, "persons", person.id, purpose)
    return PersonView.of(person, revealed=True)


@dataclass
class PersonInput:
    name: str = ""
    id_number: str = ""
    doc_type: str = ""
    doc_number: str = ""
    phone: str = ""
    current_address: str = ""
    household_address: str = ""
    unit_id: int | None = None


def create_person(session: Session, user: User, data: PersonInput) -> Person:
    """Create a person file in the user's jurisdiction after validating every field."""
    require(user, PERSON_WRITE)
    fields, errors = _clean(data)
    unit = _target_unit(session, user, data.unit_id, errors)
    if errors:
        raise ValidationFailed(errors)
    _refuse_duplicate(session, fields)
    person = Person(unit_id=unit.id, **fields)
    session.add(person)
    session.flush()
    return person


def _clean(data: PersonInput) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors.append(FieldError("name", N_("Enter the name.")))
    elif len(name) > 50:
        errors.append(FieldError("name", N_("The name is too long.")))
    out["name"] = name
    doc_type = data.doc_type or DocumentType.RESIDENT_ID
    if doc_type == DocumentType.RESIDENT_ID:
        if not data.id_number.strip():
            errors.append(FieldError("id_number", N_("Enter the ID number or choose another document.")))
        else:
            try:
                rid = parse_id_number(data.id_number)
                out.update(id_number=rid.number, birth_date=rid.birth_date, sex=rid.sex)
            except CodeError as exc:
                errors.append(FieldError("id_number", exc.message, exc.params))
    else:
        try:
            out.update(doc_type=str(DocumentType(doc_type)), doc_number=validate_document(doc_type, data.doc_number))
        except ValueError as exc:
            message, params = (exc.message, exc.params) if isinstance(exc, CodeError) else (
                N_("Unknown document type."), {})
            errors.append(FieldError("doc_number" if isinstance(exc, CodeError) else "doc_type", message, params))
    if data.phone.strip():
        try:
            out["phone"] = normalize_mobile(data.phone)
        except CodeError as exc:
            errors.append(FieldError("phone", exc.message, exc.params))
    for key in ("current_address", "household_address"):
        value = " ".join(getattr(data, key).split())
        if len(value) > 200:
            errors.append(FieldError(key, N_("The address is too long.")))
        out[key] = value or None
    return out, errors


def _target_unit(session: Session, user: User, unit_id: int | None, errors: list[FieldError]) -> Unit:
    if unit_id is None:
        return user.unit
    try:
        return get_unit_in_scope(session, user, unit_id)
    except NotFound:
        errors.append(FieldError("unit_id", N_("Unknown unit.")))
        return user.unit


def _refuse_duplicate(session: Session, fields: dict[str, Any]) -> None:
    if fields.get("id_number"):
        clash = select(Person.id).where(Person.id_number == fields["id_number"])
    elif fields.get("doc_number"):
        clash = select(Person.id).where(Person.doc_type == fields["doc_type"],
                                        Person.doc_number == fields["doc_number"])
    else:
        return
    if session.execute(clash).first():
        raise Conflict(N_("A person file with this document number already exists."))
