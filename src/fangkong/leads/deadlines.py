"""Lead deadlines (PROTOCOL.md, profile `deadlines`): each priority has up to three clocks.

urgent: verified on the ground within 2 hours; normal: verified the same night (by 24:00 local);
express (a county rule): checked within 5 minutes, reported within 10. A clock is either a duration
from dispatch or "midnight" (the end of the local day of dispatch).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.i18n import N_
from fangkong.core.rules import MIDNIGHT, Clocks
from fangkong.core.rules import PRIORITIES as PRIORITIES  # re-exported: the priorities are leads' words
from fangkong.core.rules import parse_rules as parse_rules

PRIORITY_LABELS = {"express": N_("Express (5/10 min)"), "urgent": N_("Urgent (2 h)"),
                   "normal": N_("Normal (same night)")}


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


def rules_for(settings: Any) -> dict[str, Clocks]:
    """Return the deployment's deadline rules (FANGKONG_LEAD_DEADLINES)."""
    return parse_rules(settings.lead_deadlines)
