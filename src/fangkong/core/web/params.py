"""Bounds on what the URL may carry, checked before any use case runs (a huge id is a 422, not a crash)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_

MAX_ID = 2**31 - 1

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="Object id")]
PageNo = Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def form_id(value: object) -> int | None:
    """Return an id typed into a form field, or None when it is not one (out of range included)."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_ID else None


def optional_id(name: str, value: str) -> int | None:
    """Return an id from a filter form (empty: none), or a field error naming `name`."""
    if not value.strip():
        return None
    found = form_id(value)
    if found is None:
        raise ValidationFailed.one(name, N_("Choose one of the options."))
    return found
