"""Reading the deployment forms: typed inputs from posted fields, and the page day from the query."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.datastructures import FormData

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.web.params import form_id
from fangkong.deployments.rules import day_of, local_today

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def get(form: FormData, key: str) -> str:
    return str(form.get(key, "") or "").strip()


def number(form: FormData, key: str) -> float | None:
    """Return a typed number, None when empty, -1 when not a number (then reported out of range)."""
    raw = get(form, key).replace("，", ".").replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return -1.0


def integer(form: FormData, key: str) -> int | None:
    value = number(form, key)
    return None if value is None else int(value) if value == value and abs(value) < 1e9 else -1


def page_day(value: str | None) -> date:
    """Return the day a page shows (?day=YYYY-MM-DD), today when absent; a bad day is a 422."""
    if not value:
        return local_today()
    errors: list[FieldError] = []
    day = day_of(errors, "day", value)
    if day is None:
        raise ValidationFailed(errors)
    return day


def input_time(value: datetime | None) -> str:
    """Return a timestamp as a datetime-local input's value."""
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M") if value else ""


def values_of(form: FormData) -> dict[str, Any]:
    return {k: get(form, k) for k in form if k != "csrf_token"}


def optional_id(form: FormData, key: str) -> int | None:
    return form_id(get(form, key))
