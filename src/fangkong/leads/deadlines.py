"""Lead deadlines (PROTOCOL.md, profile `deadlines`): each priority has up to three clocks.

urgent: verified on the ground within 2 hours; normal: verified the same night (by 24:00 local);
express (a county rule): checked within 5 minutes, reported within 10. A clock is either a duration
from dispatch or "midnight" (the end of the local day of dispatch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.i18n import N_

MIDNIGHT = "midnight"
PRIORITIES = ("express", "urgent", "normal")
PRIORITY_LABELS = {"express": N_("Express (5/10 min)"), "urgent": N_("Urgent (2 h)"),
                   "normal": N_("Normal (same night)")}


@dataclass(frozen=True)
class Clocks:
    verify: timedelta | str
    report: timedelta | str | None = None
    acknowledge: timedelta | None = None


DEADLINES: dict[str, Clocks] = {
    "express": Clocks(verify=timedelta(minutes=5), report=timedelta(minutes=10), acknowledge=timedelta(minutes=5)),
    "urgent": Clocks(verify=timedelta(hours=2), report=timedelta(hours=2)),
    "normal": Clocks(verify=MIDNIGHT, report=MIDNIGHT),
}


def _apply(start: datetime, clock: timedelta | str) -> datetime:
    if clock == MIDNIGHT:
        local = start.astimezone(LOCAL_TZ)
        return datetime.combine(local.date() + timedelta(days=1), time.min, LOCAL_TZ)
    assert isinstance(clock, timedelta)
    return start + clock


def verify_due(priority: str, dispatched_at: datetime, rules: dict[str, Clocks] = DEADLINES) -> datetime:
    """Return when a lead dispatched at `dispatched_at` must be verified on the ground."""
    return _apply(dispatched_at, rules[priority].verify)


def report_due(priority: str, dispatched_at: datetime, rules: dict[str, Clocks] = DEADLINES) -> datetime:
    clock = rules[priority].report or rules[priority].verify
    return _apply(dispatched_at, clock)


BAD_RULE = "FANGKONG_LEAD_DEADLINES: use e.g. express=5/10,urgent=120/120,normal=midnight/midnight"


def _clock(text: str) -> timedelta | str:
    text = text.strip()
    if text == MIDNIGHT:
        return MIDNIGHT
    minutes = int(text)
    if minutes <= 0:
        raise ValueError(BAD_RULE)
    return timedelta(minutes=minutes)


def parse_rules(text: str) -> dict[str, Clocks]:
    """Return deadline rules from the setting's text; every priority must be given."""
    rules: dict[str, Clocks] = {}
    try:
        for part in text.split(","):
            name, _, clocks = part.partition("=")
            verify, _, report = clocks.partition("/")
            rules[name.strip()] = Clocks(verify=_clock(verify), report=_clock(report) if report else None)
    except ValueError:
        raise ValueError(BAD_RULE) from None
    if set(rules) != set(PRIORITIES):
        raise ValueError(BAD_RULE)
    return rules


def rules_for(settings: Any) -> dict[str, Clocks]:
    """Return the deployment's deadline rules (FANGKONG_LEAD_DEADLINES)."""
    return parse_rules(settings.lead_deadlines)
