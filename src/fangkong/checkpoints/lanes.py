"""Lane planning with the Erlang C queue (M/M/c): how many inspection lanes keep the expected wait
under a target, given the recent arrival rate and the measured time per vehicle."""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_c(lanes: int, load: float) -> float:
    """Return the probability that an arriving vehicle has to wait (offered load `load` = λ/μ)."""
    if lanes <= 0:
        return 1.0
    if load <= 0:
        return 0.0
    if load >= lanes:
        return 1.0
    # Summed in a numerically stable way: term_k = load^k / k!
    term, total = 1.0, 1.0
    for k in range(1, lanes):
        term *= load / k
        total += term
    top = term * load / lanes * (lanes / (lanes - load))
    return top / (total + top)


def expected_wait_seconds(arrivals_per_hour: float, seconds_per_vehicle: float, lanes: int) -> float:
    """Return the mean wait in the queue (not counting the inspection itself); inf if the queue grows."""
    if arrivals_per_hour <= 0:
        return 0.0
    rate = arrivals_per_hour / 3600.0  # λ per second
    service = 1.0 / seconds_per_vehicle  # μ per second per lane
    load = rate / service
    if load >= lanes:
        return math.inf
    return erlang_c(lanes, load) / (lanes * service - rate)


@dataclass(frozen=True)
class LanePlan:
    arrivals_per_hour: float
    seconds_per_vehicle: float
    target_wait_seconds: float
    recommended: int | None  # None: even the largest lane count considered is not enough
    waits: list[tuple[int, float]]  # (lanes, expected wait in seconds)


def plan_lanes(arrivals_per_hour: float, seconds_per_vehicle: float, target_wait_seconds: float,
               max_lanes: int = 12) -> LanePlan:
    """Return the fewest lanes whose expected wait is within the target, with the wait for each count."""
    waits = [(c, expected_wait_seconds(arrivals_per_hour, seconds_per_vehicle, c)) for c in range(1, max_lanes + 1)]
    recommended = next((c for c, wait in waits if wait <= target_wait_seconds), None)
    return LanePlan(arrivals_per_hour, seconds_per_vehicle, target_wait_seconds, recommended, waits)
