"""Bounds on what the URL may carry, checked before any use case runs (a huge id is a 422, not a crash)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, Field, WithJsonSchema

from fangkong.core.clock import PLAN_AHEAD, event_day, event_time
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_

MAX_ID = 2**31 - 1
T = TypeVar("T")

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


class FieldValueError(ValueError):
    """A value refused by one of the parameter types below, with its message for the field (problem JSON)."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def _checked(check: Callable[[], T]) -> T:
    try:
        return check()
    except ValidationFailed as exc:
        raise FieldValueError(exc.errors[0].message, **exc.errors[0].params) from None


def _event_time(value: datetime) -> datetime:
    return _checked(lambda: event_time("", value))


def _event_day(value: date) -> date:
    return _checked(lambda: event_day("", value))


def _plan_time(value: datetime) -> datetime:
    return _checked(lambda: event_time("", value, PLAN_AHEAD))


def _plan_day(value: date) -> date:
    return _checked(lambda: event_day("", value, PLAN_AHEAD))


def _schema(fmt: str, text: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "format": fmt, "description": text})


# Every time and day the API accepts (core.clock: naive is local time; events from
# FANGKONG_EARLIEST_EVENT to one day ahead, planned ones to a year ahead). Bodies and queries alike.
_TIME = "ISO 8601; without an offset it is Asia/Shanghai time; "
EventTime = Annotated[datetime, AfterValidator(_event_time),
                      _schema("date-time", _TIME + "from FANGKONG_EARLIEST_EVENT to one day ahead")]
EventDay = Annotated[date, AfterValidator(_event_day),
                     _schema("date", "YYYY-MM-DD, from FANGKONG_EARLIEST_EVENT to tomorrow")]
PlanTime = Annotated[datetime, AfterValidator(_plan_time),
                     _schema("date-time", _TIME + "from FANGKONG_EARLIEST_EVENT to a year ahead")]
PlanDay = Annotated[date, AfterValidator(_plan_day),
                    _schema("date", "YYYY-MM-DD, from FANGKONG_EARLIEST_EVENT to a year ahead")]
