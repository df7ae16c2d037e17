"""Bounds on what the URL may carry, checked before any use case runs (a huge id is a 422, not a crash)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, Field, WithJsonSchema

from fangkong.core.clock import event_day, event_time
from fangkong.core.errors import ValidationFailed

MAX_ID = 2**31 - 1

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="Object id")]
PageNo = Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def form_id(value: object) -> int | None:
    """Return an id typed into a form field, or None when it is not one (out of range included)."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_ID else None


class FieldValueError(ValueError):
    """A value refused by one of the parameter types below, with its message for the field (problem JSON)."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def _event_time(value: datetime) -> datetime:
    try:
        return event_time("", value)
    except ValidationFailed as exc:
        raise FieldValueError(exc.errors[0].message, **exc.errors[0].params) from None


def _event_day(value: date) -> date:
    try:
        return event_day("", value)
    except ValidationFailed as exc:
        raise FieldValueError(exc.errors[0].message, **exc.errors[0].params) from None


# Every time and day the API accepts for an event or a filter on events (core.clock: naive is local time;
# 2019-12-01 … now + 1 day by default). Bodies and queries alike.
EventTime = Annotated[datetime, AfterValidator(_event_time),
                      WithJsonSchema({"type": "string", "format": "date-time",
                                      "description": "ISO 8601; without an offset it is Asia/Shanghai time; "
                                                     "from FANGKONG_EARLIEST_EVENT to one day ahead"})]
EventDay = Annotated[date, AfterValidator(_event_day),
                     WithJsonSchema({"type": "string", "format": "date",
                                     "description": "YYYY-MM-DD, from FANGKONG_EARLIEST_EVENT to tomorrow"})]
