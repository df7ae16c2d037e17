"""The city's clock: staff read and write times in local time (Asia/Shanghai); the database keeps UTC.

One rule for every time the platform accepts (issue 17, finding 6), applied by `event_time` and
`event_day` here and by the API's parameter types in `core.web.params`:
- a time without an offset is local time (Asia/Shanghai), as staff and their sheets write it;
- an event lies between the start of the outbreak (`FANGKONG_EARLIEST_EVENT`, 2019-12-01) and one day
  ahead of now (`FANGKONG_FUTURE_SLACK_HOURS`): 9999-12-31 or 0001-01-01 is a typing error answered with
  422 naming the field, never stored and never a 500 further on.
"""

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
        try:
            return value.astimezone(LOCAL_TZ).strftime(fmt)
        except OverflowError:  # stored bad data (9999-12-31 late in UTC): show it as it is, never a 500
            return value.strftime(fmt) + " UTC"
    return value.strftime("%Y-%m-%d")


def local_today() -> date:
    """Return today's date in the city."""
    return datetime.now(LOCAL_TZ).date()


def local_naive(value: datetime | None) -> datetime | None:
    """Return a timestamp as a naive local time, the way a spreadsheet cell holds it."""
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None) if value is not None else None


BAD_DATE = N_("Use the form YYYY-MM-DD.")
OUT_OF_RANGE = N_("Give a time between {earliest} and {latest}.")


class EventRange:
    """The plausible span of events; set once from the settings (`configure_event_range`)."""

    earliest = datetime(2019, 12, 1, tzinfo=LOCAL_TZ)
    future = timedelta(days=1)


def configure_event_range(earliest: date, future_hours: float) -> None:
    """Set the span of plausible events (create_app calls it with the settings)."""
    EventRange.earliest = datetime.combine(earliest, time.min, LOCAL_TZ)
    EventRange.future = timedelta(hours=future_hours)


PLAN_AHEAD = timedelta(days=366)  # rosters, secondments, passes, risk areas: planned up to a year ahead


def event_bounds(now: datetime | None = None, ahead: timedelta | None = None) -> tuple[datetime, datetime]:
    """Return the earliest and latest plausible event times (`ahead`: of planned ones)."""
    now = now or datetime.now(LOCAL_TZ)
    return EventRange.earliest, now + (ahead if ahead is not None else EventRange.future)


def aware(moment: datetime) -> datetime:
    """Return the time with an offset: a naive time is local time (the one documented rule)."""
    return moment if moment.tzinfo is not None and moment.utcoffset() is not None else moment.replace(tzinfo=LOCAL_TZ)


def in_event_range(moment: datetime, ahead: timedelta | None = None) -> bool:
    """Return whether an aware time lies in the plausible span (extreme years compare without overflow)."""
    earliest, latest = event_bounds(ahead=ahead)
    try:
        return earliest <= moment <= latest
    except OverflowError:  # 0001-01-01 or 9999-12-31 with an offset
        return False


def event_time(name: str, moment: datetime, ahead: timedelta | None = None) -> datetime:
    """Return an accepted event time (aware), or raise ValidationFailed naming the field."""
    moment = aware(moment)
    if not in_event_range(moment, ahead):
        earliest, latest = event_bounds(ahead=ahead)
        raise ValidationFailed.one(name, OUT_OF_RANGE, earliest=local_time(earliest), latest=local_time(latest))
    return moment


def event_day(name: str, day: date, ahead: timedelta | None = None) -> date:
    """Return an accepted calendar day of events, or raise ValidationFailed naming the field."""
    earliest, latest = event_bounds(ahead=ahead)
    if not earliest.date() <= day <= latest.date():
        raise ValidationFailed.one(name, OUT_OF_RANGE, earliest=local_time(earliest.date()),
                                   latest=local_time(latest.date()))
    return day


def parse_day(name: str, value: str, end: bool = False) -> datetime | None:
    """Return the start (or the end) of a local calendar day given as YYYY-MM-DD."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.one(name, BAD_DATE) from None
    start = datetime.combine(event_day(name, day), time.min, LOCAL_TZ)
    return start + timedelta(days=1) if end else start
