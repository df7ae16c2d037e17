"""Cleaning what a stranger types into a public form (arrivals, gatherings, pass applications): collapsed
spaces, bounded length, no markup or control characters, a valid mobile number."""

from __future__ import annotations

import re
import unicodedata

from fangkong.core.codes import CodeError, fold, normalize_mobile
from fangkong.core.errors import FieldError
from fangkong.core.i18n import N_

REQUIRED = N_("This field is required.")
TOO_LONG = N_("At most {n} characters.")
SCRIPTED = N_("Please write plain text: the characters < > and code are not accepted here.")
_SCRIPT = re.compile(r"[<>]|javascript:|vbscript:|data:text|\bon[a-z]+\s*=", re.IGNORECASE)


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
    """Return the normalised mobile number, or None with the field's error."""
    text = str(raw or "").strip()
    if not text:
        errors.append(FieldError(name, REQUIRED))
        return None
    try:
        return normalize_mobile(text[:40])
    except CodeError as exc:
        errors.append(FieldError(name, exc.message, exc.params))
        return None
