"""The city's clock: staff read and write times in local time (Asia/Shanghai); the database keeps UTC."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_time(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Return a timestamp in local time as staff read it ('' for none)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime(fmt)
    return value.strftime("%Y-%m-%d")


def local_today() -> date:
    """Return today's date in the city."""
    return datetime.now(LOCAL_TZ).date()


def local_naive(value: datetime | None) -> datetime | None:
    """Return a timestamp as a naive local time, the way a spreadsheet cell holds it."""
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None) if value is not None else None


BAD_DATE = N_("Use the form YYYY-MM-DD.")


def parse_day(name: str, value: str, end: bool = False) -> datetime | None:
    """Return the start (or the end) of a local calendar day given as YYYY-MM-DD."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.one(name, BAD_DATE) from None
    start = datetime.combine(day, time.min, LOCAL_TZ)
    return start + timedelta(days=1) if end else start
