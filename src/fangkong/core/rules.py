"""Rule texts of the settings, parsed in core so that settings validate them without importing the
capabilities that use them (leads' deadline clocks, observation's care team roles)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

MIDNIGHT = "midnight"
PRIORITIES = ("express", "urgent", "normal")


@dataclass(frozen=True)
class Clocks:
    verify: timedelta | str
    report: timedelta | str | None = None
    acknowledge: timedelta | None = None


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



TeamRoles = dict[str, frozenset[str]]  # team role -> user roles that may fill it, in the configured order
MEMBER_ROLES = frozenset({"station", "community", "health"})
_ENTRY = re.compile(r"^([a-z][a-z_]{0,23})=([a-z|]+)$")


def parse_team_roles(text: str) -> TeamRoles:
    """Return the team roles of a setting such as 'officer=station,cadre=community,doctor=health|community'."""
    roles: TeamRoles = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        match = _ENTRY.match(part)
        if match is None:
            raise ValueError(f"care team role {part!r}: write name=userrole, e.g. doctor=health|community")
        name, allowed = match.group(1), frozenset(match.group(2).split("|"))
        if not allowed <= MEMBER_ROLES or name in roles:
            raise ValueError(f"care team role {part!r}: user roles are {', '.join(sorted(MEMBER_ROLES))}, "
                             "each team role once")
        roles[name] = allowed
    if not roles:
        raise ValueError("care team roles: name at least one role")
    return roles
