"""Protocol profiles (PROTOCOL.md): the national protocol's editions and local variants, as data.

A deployment picks one (FANGKONG_PROTOCOL_PROFILE, default edition-9); observation reads its rules.
Figures are the editions' own; where an edition does not define a status, it has no rule here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PROFILE = "edition-9"


@dataclass(frozen=True)
class ObservationRule:
    kind: str  # centralised_quarantine | home_quarantine | health_monitoring
    days: int
    then_home_monitoring_days: int = 0
    test_days: tuple[int, ...] = ()  # days of observation (1 = the first day) with a test


@dataclass(frozen=True)
class Profile:
    name: str
    lookback_days: int
    observation: dict[str, ObservationRule] = field(default_factory=dict)  # risk status -> rule


_FOURTEEN_DAYS = ObservationRule("centralised_quarantine", 14)
PROFILES: dict[str, Profile] = {
    "edition-2": Profile("edition-2", 0, {"close_contact": ObservationRule("home_quarantine", 14)}),
    "edition-5": Profile("edition-5", 2, {"close_contact": _FOURTEEN_DAYS}),
    "edition-7": Profile("edition-7", 2, {"close_contact": _FOURTEEN_DAYS,
                                          "secondary_contact": ObservationRule("home_quarantine", 14)}),
    "edition-8": Profile("edition-8", 2, {
        "close_contact": ObservationRule("centralised_quarantine", 14, 7, (1, 4, 7, 14)),
        "secondary_contact": ObservationRule("centralised_quarantine", 7)}),
    "edition-9": Profile("edition-9", 2, {
        "close_contact": ObservationRule("centralised_quarantine", 7, 3, (1, 2, 3, 5, 7)),
        "secondary_contact": ObservationRule("home_quarantine", 7, 0, (1, 4, 7)),
        "arrival_high": ObservationRule("centralised_quarantine", 7, 0, (1, 2, 3, 5, 7)),
        "arrival_medium": ObservationRule("home_quarantine", 7, 0, (1, 4, 7)),
        "fever_referral": ObservationRule("health_monitoring", 3)}),
    "nov-2022": Profile("nov-2022", 2, {
        "close_contact": ObservationRule("centralised_quarantine", 5, 3, (1, 2, 3, 5))}),
    "local-4day": Profile("local-4day", 4, {}),  # as edition-9, with a 4-day look-back (filled below)
}
PROFILES["local-4day"] = Profile("local-4day", 4, dict(PROFILES["edition-9"].observation))


def get_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """Return a protocol profile by name; an unknown name lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown protocol profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
