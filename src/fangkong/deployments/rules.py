"""What deployments grants each role, the words of its fields (msgids), and the small input checks its
use cases share: days and times bounded to the years an emergency can span (a year-1 date would
overflow the time-zone arithmetic)."""

from __future__ import annotations

from datetime import date, datetime

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.errors import FieldError
from fangkong.core.i18n import N_
from fangkong.core.models import Role

DEPLOYMENT_READ = "deployment.read"  # posts, rosters, on duty now, alerts, the daily log
DEPLOYMENT_MANAGE = "deployment.manage"  # posts, rosters, secondments, log corrections
CASE_READ = "case.read"
CASE_WRITE = "case.write"
SUPERVISION_READ = "supervision.read"
SUPERVISION_WRITE = "supervision.write"  # record visits and their items (the leaders' side)
SUPERVISION_RECTIFY = "supervision.rectify"  # report an item rectified (the visited unit's side)

_POLICE = frozenset({DEPLOYMENT_READ, DEPLOYMENT_MANAGE, CASE_READ, CASE_WRITE, SUPERVISION_READ,
                     SUPERVISION_RECTIFY})
PERMISSIONS: dict[str, frozenset[str]] = {
    Role.COMMAND: _POLICE | {SUPERVISION_WRITE},
    Role.DISTRICT: _POLICE | {SUPERVISION_WRITE},
    Role.STATION: _POLICE,
}

POST_KINDS = {"checkpoint": N_("Checkpoint"), "hospital": N_("Designated hospital"),
              "observation_site": N_("Observation or quarantine site"), "compound": N_("Residential compound"),
              "other": N_("Other post")}
MEMBER_KINDS = {"police": N_("Police officer"), "auxiliary": N_("Auxiliary officer"), "volunteer": N_("Volunteer"),
                "vehicle": N_("Police vehicle"), "drone": N_("Drone")}
OFFICERS = ("police", "auxiliary")  # what counts towards a post's strength and 警力人次
CATEGORIES = {"rumour": N_("Fabricating or spreading false information"), "price_gouging": N_("Price gouging"),
              "counterfeit": N_("Making or selling fake protective goods"), "fraud": N_("Fraud"),
              "obstruction": N_("Obstructing epidemic control, hiding travel history"),
              "assault_medics": N_("Assaulting medical staff"), "illegal_roadblock": N_("Illegal roadblock"),
              "resisting": N_("Resisting prevention measures"), "other": N_("Other offence")}
STATUSES = {"received": N_("Case received"), "filed": N_("Filed"), "solved": N_("Solved")}
OUTCOMES = {"administrative_penalty": N_("Administrative penalty"), "detention": N_("Criminal detention"),
            "prosecution": N_("Referred for prosecution")}
PATTERNS = {"three_shifts": N_("Three shifts (two groups, three shifts)"), "watch_24h": N_("24-hour watch")}

REQUIRED = N_("This field is required.")
CHOOSE = N_("Choose one of the options.")
TOO_LONG = N_("At most {n} characters.")
BAD_DAY = N_("Use the form YYYY-MM-DD.")
BAD_TIME = N_("Use the form YYYY-MM-DD HH:MM.")
OUT_OF_RANGE = N_("Choose a date between {first} and {last}.")
FIRST_YEAR, LAST_YEAR = 2000, 2100


def text(errors: list[FieldError], name: str, value: str | None, limit: int, required: bool = False) -> str:
    """Return the stripped text, adding an error when it is missing or too long."""
    value = (value or "").strip()
    if required and not value:
        errors.append(FieldError(name, REQUIRED))
    elif len(value) > limit:
        errors.append(FieldError(name, TOO_LONG, {"n": limit}))
    return value[:limit]


def in_range(value: date) -> bool:
    return FIRST_YEAR <= value.year <= LAST_YEAR


def day_of(errors: list[FieldError], name: str, value: date | str | None, required: bool = True) -> date | None:
    """Return a local calendar day from a date or YYYY-MM-DD text, adding an error when it is not one."""
    if value is None or value == "":
        if required:
            errors.append(FieldError(name, REQUIRED))
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            errors.append(FieldError(name, BAD_DAY))
            return None
    if not in_range(value):
        errors.append(FieldError(name, OUT_OF_RANGE, {"first": FIRST_YEAR, "last": LAST_YEAR}))
        return None
    return value


def moment(errors: list[FieldError], name: str, value: datetime | str | None) -> datetime | None:
    """Return an aware timestamp from a datetime or local 'YYYY-MM-DD HH:MM' text (naive means local)."""
    if value is None or value == "":
        errors.append(FieldError(name, REQUIRED))
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("T", " "))
        except ValueError:
            errors.append(FieldError(name, BAD_TIME))
            return None
    if not in_range(value.date()):
        errors.append(FieldError(name, OUT_OF_RANGE, {"first": FIRST_YEAR, "last": LAST_YEAR}))
        return None
    return value.replace(tzinfo=LOCAL_TZ) if value.tzinfo is None else value


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()
