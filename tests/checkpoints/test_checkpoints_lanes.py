"""Erlang C lane planning: known values and the shape of the recommendation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.checkpoints.lanes import erlang_c, expected_wait_seconds, plan_lanes


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = utilisation
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(10, 8.0) == pytest.approx(0.409, abs=1e-3)


def test_unstable_queue_waits_forever() -> None:
    assert expected_wait_seconds(arrivals_per_hour=80, seconds_per_vehicle=90, lanes=2) == math.inf


def test_recommendation_is_the_fewest_lanes_within_target() -> None:
    plan = plan_lanes(arrivals_per_hour=120, seconds_per_vehicle=90, target_wait_seconds=300)
    assert plan.recommended is not None
    waits = dict(plan.waits)
    assert waits[plan.recommended] <= 300 < waits[plan.recommended - 1]


@given(st.floats(1, 500), st.floats(10, 600), st.integers(1, 11))
def test_more_lanes_never_wait_longer(arrivals: float, seconds: float, lanes: int) -> None:
    assert expected_wait_seconds(arrivals, seconds, lanes + 1) <= expected_wait_seconds(arrivals, seconds, lanes)
