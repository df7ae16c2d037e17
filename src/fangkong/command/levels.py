"""The city's emergency response level (应急响应级别) and the day running totals count from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command.models import ResponseLevel
from fangkong.core.access import require
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User

COMMAND_LEVEL = "command.level"
LEVEL_LABELS = {1: N_("Level I response"), 2: N_("Level II response"), 3: N_("Level III response"),
                0: N_("Response ended")}
BAD_LEVEL = N_("Choose a response level.")
BAD_START = N_("The start date must lie between 2019-12-01 and today.")


@dataclass(frozen=True)
class Response:
    level: int
    since: date  # the level's own start
    began: date  # the start of the unbroken response this level belongs to (running totals count from it)


def response_on(session: Session, day: date) -> Response | None:
    """Return the response in force on `day`, or None when none was (or it had ended)."""
    levels = session.execute(select(ResponseLevel).where(ResponseLevel.started_on <= day)
                             .order_by(ResponseLevel.started_on.desc(), ResponseLevel.id.desc())).scalars().all()
    if not levels or levels[0].level == 0:
        return None
    began = levels[0].started_on
    for level in levels[1:]:
        if level.level == 0:
            break
        began = level.started_on
    return Response(levels[0].level, levels[0].started_on, began)


def set_level(session: Session, user: User, level: int, started_on: date, note: str, today: date) -> ResponseLevel:
    """Record a new response level from a day (a later change adds a row; history is kept)."""
    require(user, COMMAND_LEVEL)
    errors = []
    if level not in LEVEL_LABELS:
        errors.append(FieldError("level", BAD_LEVEL))
    if not date(2019, 12, 1) <= started_on <= today:
        errors.append(FieldError("started_on", BAD_START))
    if errors:
        raise ValidationFailed(errors)
    row = ResponseLevel(level=level, started_on=started_on, note=note.strip()[:500], set_by=user.display_name)
    session.add(row)
    session.flush()
    return row


def history(session: Session) -> list[ResponseLevel]:
    return list(session.execute(select(ResponseLevel).order_by(ResponseLevel.started_on.desc(),
                                                               ResponseLevel.id.desc())).scalars())
