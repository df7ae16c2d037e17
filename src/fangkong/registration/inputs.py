"""Checks shared by the public forms: size, scripted content, documents, phones, dates, reference codes.

Each check appends a FieldError naming its field and returns the cleaned value (or None), so a form
reports every problem at once and nothing is written while any remains.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from fangkong.core.codes import CodeError, DocumentType, fold, mask_id_number, validate_document
from fangkong.core.errors import DomainError, FieldError
from fangkong.core.i18n import N_
from fangkong.core.public_input import (  # re-exported: the forms name them here
    REQUIRED as REQUIRED,
)
from fangkong.core.public_input import (
    SCRIPTED as SCRIPTED,
)
from fangkong.core.public_input import (
    TOO_LONG as TOO_LONG,
)
from fangkong.core.public_input import (
    clean_phone as clean_phone,
)
from fangkong.core.public_input import (
    clean_text as clean_text,
)
from fangkong.core.references import (  # re-exported: callers name them here
    ALPHABET as ALPHABET,
)
from fangkong.core.references import (
    REFERENCE_LENGTH as REFERENCE_LENGTH,
)
from fangkong.core.references import (
    new_reference as new_reference,
)
from fangkong.core.references import (
    normalise_reference as normalise_reference,
)
from fangkong.core.references import (
    show_reference as show_reference,
)
from fangkong.core.web.public_forms import HONEYPOT as HONEYPOT  # re-exported: the templates' field
from fangkong.core.web.public_forms import REFUSED as REFUSED
from fangkong.core.web.public_forms import public_form as core_public_form

MAX_FORM_BYTES = 16 * 1024  # the largest form (a gathering with 20 attendees) is a few kilobytes
BAD_DATE = N_("Use the form YYYY-MM-DD.")
CHOOSE = N_("Choose one of the options.")
TOO_LARGE = N_("The form is too large.")

# Markup and script: angle brackets, URL schemes that run code, and event-handler attributes.
# Reference codes: no 0/O, 1/I/L, so a code read aloud or copied from a screen is not mistaken.


class FormTooLarge(DomainError):
    status = 413
    slug = "too-large"
    title = TOO_LARGE


def public_form(kind: str, factor: int = 1) -> Any:
    """Route dependency for a registration form: size limit, per-IP rate limit, CSRF, honeypot."""
    return core_public_form(kind, MAX_FORM_BYTES, FormTooLarge, factor=factor)




def clean_choice(errors: list[FieldError], name: str, raw: object, options: dict[str, str]) -> str | None:
    value = str(raw or "").strip()
    if value not in options:
        errors.append(FieldError(name, REQUIRED if not value else CHOOSE))
        return None
    return value




def clean_document(errors: list[FieldError], name: str, doc_type: object,
                   raw: object) -> tuple[str, str | None, str | None]:
    """Return (document type, resident ID number or None, other document number or None)."""
    kind = str(doc_type or "").strip() or DocumentType.RESIDENT_ID
    text = str(raw or "").strip()
    if kind not in {d.value for d in DocumentType}:
        errors.append(FieldError(name + "_type", CHOOSE))
        return DocumentType.RESIDENT_ID, None, None
    if not text:
        errors.append(FieldError(name, REQUIRED))
        return kind, None, None
    try:
        number = validate_document(kind, text[:40])
    except CodeError as exc:
        errors.append(FieldError(name, exc.message, exc.params))
        return kind, None, None
    if kind == DocumentType.RESIDENT_ID:
        return kind, number, None
    return kind, None, number


def clean_date(errors: list[FieldError], name: str, raw: object, required: bool = True) -> date | None:
    text = fold(str(raw or "")).strip()
    if not text:
        if required:
            errors.append(FieldError(name, REQUIRED))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(name, BAD_DATE))
        return None








def new_token() -> str:
    """Return an unguessable URL token (256 bits)."""
    return secrets.token_urlsafe(32)


def masked_document(id_number: str | None, doc_number: str | None) -> str | None:
    """Return a masked ID number, or a document number with only its ends shown."""
    if id_number:
        return mask_id_number(id_number)
    return doc_number[:2] + "****" + doc_number[-2:] if doc_number else None
