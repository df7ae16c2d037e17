"""Checks on what the public types into the pass forms, and the guard of those forms (size, rate, CSRF,
honeypot). The same rules as registration's public forms (that capability sits above this one, so its
helpers cannot be imported here); the limiter itself is core's, shared with them."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from fangkong.core.codes import CodeError, fold, normalize_mobile
from fangkong.core.errors import DomainError, FieldError
from fangkong.core.i18n import N_
from fangkong.core.ratelimit import check_rate
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
from fangkong.core.web.work import checked_form
from fangkong.passes.rules import DOCUMENT_TOO_LARGE, MAX_DOCUMENT_BYTES

REQUIRED = N_("This field is required.")
TOO_LONG = N_("At most {n} characters.")
SCRIPTED = N_("Please write plain text: the characters < > and code are not accepted here.")
CHOOSE = N_("Choose one of the options.")
REFUSED = N_("The form could not be accepted.")
_SCRIPT = re.compile(r"[<>]|javascript:|vbscript:|data:text|\bon[a-z]+\s*=", re.IGNORECASE)
HONEYPOT = "website"
MAX_TEXT_FORM = 16 * 1024
MAX_UPLOAD_FORM = MAX_DOCUMENT_BYTES + 64 * 1024  # the document and the fields around it


class UploadTooLarge(DomainError):
    """A form whose body is larger than any allowed upload: refused before it is read."""

    status = 413
    slug = "too-large"
    title = N_("The request is too large.")

    def __init__(self) -> None:
        super().__init__(DOCUMENT_TOO_LARGE, mb=MAX_DOCUMENT_BYTES // 1024 // 1024)


def public_form(kind: str, upload: bool = False) -> Any:
    """Route dependency for a public pass form: size limit, per-IP rate limit, CSRF, honeypot."""

    async def dependency(request: Request) -> FormData:
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > (MAX_UPLOAD_FORM if upload else MAX_TEXT_FORM):
            raise UploadTooLarge() if upload and length.isdigit() else DomainError(REFUSED)
        check_rate(request, kind)
        form = await checked_form(request)
        if str(form.get(HONEYPOT, "")).strip():
            raise DomainError(REFUSED)
        return form

    return Depends(dependency)


def clean_text(errors: list[FieldError], name: str, raw: object, max_len: int, required: bool = False) -> str | None:
    """Return the text with spaces collapsed, or None when empty; report missing, long or scripted input."""
    text = " ".join(fold(str(raw or "")).split())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in text) or _SCRIPT.search(text):
        errors.append(FieldError(name, SCRIPTED))
        return None
    if len(text) > max_len:
        errors.append(FieldError(name, TOO_LONG, {"n": max_len}))
        return None
    if not text and required:
        errors.append(FieldError(name, REQUIRED))
    return text or None


def clean_phone(errors: list[FieldError], name: str, raw: object) -> str | None:
    text = str(raw or "").strip()
    if not text:
        errors.append(FieldError(name, REQUIRED))
        return None
    try:
        return normalize_mobile(text[:40])
    except CodeError as exc:
        errors.append(FieldError(name, exc.message, exc.params))
        return None





