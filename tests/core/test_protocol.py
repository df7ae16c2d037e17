"""Protocol profiles (PROTOCOL.md): every edition ships, edition-9 is the default, figures as the editions say."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from fangkong.core.protocol import (
    DEFAULT_PROFILE,
    MIDNIGHT,
    PLACE_KINDS,
    UnknownProfile,
    deadlines,
    get_profile,
    list_profiles,
)

SHIPPED = ["edition-2", "edition-5", "edition-7", "edition-8", "edition-9", "local-4day", "nov-2022"]


def test_every_named_profile_ships_and_edition_9_is_the_default() -> None:
    assert list_profiles() == SHIPPED
    assert DEFAULT_PROFILE == "edition-9"
    assert get_profile().name == "edition-9"


def test_unknown_profile_is_a_key_error_that_lists_the_valid_names() -> None:
    with pytest.raises(KeyError) as caught:
        get_profile("edition-10")
    assert isinstance(caught.value, UnknownProfile)
    message = str(caught.value)
    assert "edition-10" in message and all(name in message for name in SHIPPED)


@pytest.mark.parametrize(("name", "days"), [("edition-2", 0), ("edition-5", 2), ("edition-7", 2), ("edition-8", 2),
                                            ("edition-9", 2), ("nov-2022", 2), ("local-4day", 4)])
def test_lookback_days_per_edition(name: str, days: int) -> None:
    assert get_profile(name).lookback_days == days


def test_every_profile_has_a_contact_rule_per_place_kind_with_the_grid_companion_rule() -> None:
    for name in SHIPPED:
        profile = get_profile(name)
        assert set(profile.contact) == set(PLACE_KINDS)
        assert profile.contact["grid"].min_overlap_minutes == 10 and profile.grid_size_m == 800
        assert all(rule.tolerance_minutes >= 0 and rule.min_overlap_minutes >= 0 for rule in profile.contact.values())


def test_edition_9_observation_figures() -> None:
    obs = get_profile("edition-9").observation
    close = obs["close_contact"]
    assert (close.kind, close.days, close.then_home_monitoring_days, close.test_days) == (
        "centralised_quarantine", 7, 3, (1, 2, 3, 5, 7))
    secondary = obs["secondary_contact"]
    assert (secondary.kind, secondary.days, secondary.test_days) == ("home_quarantine", 7, (1, 4, 7))
    assert obs["arrival_high"].kind == "centralised_quarantine" and obs["arrival_high"].days == 7
    assert obs["arrival_medium"].kind == "home_quarantine" and obs["arrival_medium"].days == 7


def test_editions_differ_where_the_protocol_changed() -> None:
    assert "secondary_contact" not in get_profile("edition-5").observation  # not defined before edition 7
    assert get_profile("edition-8").observation["close_contact"].then_home_monitoring_days == 7
    assert get_profile("edition-8").observation["secondary_contact"].days == 7
    assert get_profile("nov-2022").observation["close_contact"].days == 5
    assert get_profile("local-4day").observation == get_profile("edition-9").observation


def test_profiles_are_frozen() -> None:
    profile = get_profile()
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.lookback_days = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        profile.contact["venue"] = profile.contact["grid"]  # type: ignore[index]


def test_deadlines_profile_has_up_to_three_clocks_per_priority() -> None:
    rules = deadlines()
    assert rules["urgent"].verify == timedelta(hours=2)
    assert rules["normal"].verify == MIDNIGHT
    express = rules["express"]
    assert (express.acknowledge, express.report) == (timedelta(minutes=5), timedelta(minutes=10))
