"""A synthetic city-month of presence records, for the benchmark and for trying the CLI (issue 7).

Every person sleeps at home (a household of about three) and makes about two more stays a day at venues,
checkpoints, vehicles and grid cells chosen by a Zipf-like popularity, so a few places are very busy
(a station, a mall) and most are quiet. About three stays per person per day; the same seed gives the
same city.

`busy_share` makes a dense city (issue 22): that share of all stays is at the busiest 1 % of places (the
public places at the head of each kind, equally busy), and one in fifty of those stays is a staff shift of
8–10 hours. Without it about a tenth of stays are at the busiest 1 % (`busiest_share` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from fangkong.core.protocol import PLACE_KINDS
from fangkong.tracing.columns import Batch

MONTH_START = 1_646_064_000  # 2022-03-01T00:00:00+08:00
DAYS = 30
HOUSEHOLD_SIZE = 3
OUTINGS_PER_DAY = 2
# share of outings, and stay length range in minutes, per kind of public place
OUTING_KINDS = {"venue": (0.55, 15, 120), "checkpoint": (0.15, 1, 5), "vehicle": (0.15, 20, 180),
                "grid": (0.15, 10, 60)}
BUSY, BUSY_SHARE = 3, 0.002  # per kind of place: 3 very busy ones, each taking 0.2% of that kind's outings
PREFIX = {"venue": "V", "checkpoint": "K", "vehicle": "B", "grid": "G"}
KIND = {name: PLACE_KINDS.index(name) for name in PLACE_KINDS}


@dataclass(frozen=True)
class City:
    persons: int
    places: int
    batch: Batch


def persons_for(records: int) -> int:
    """Return how many persons make about `records` stays in a month."""
    return max(10, records // (DAYS * (1 + OUTINGS_PER_DAY)))


def _places(persons: int) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    """Return place keys, kind per place, and per outing kind its place codes (most popular first)."""
    households = -(-persons // HOUSEHOLD_SIZE)
    public = max(40, persons // 25)  # 40,000 public places for a million persons
    keys = [f"H{i:07d}" for i in range(households)]
    kinds = [KIND["household"]] * households
    by_kind = {}
    for name, (share, _, _) in OUTING_KINDS.items():
        n = max(5, int(public * share))
        by_kind[name] = np.arange(len(keys), len(keys) + n)
        keys += [f"{PREFIX[name]}{i:06d}" for i in range(n)]
        kinds += [KIND[name]] * n
    return keys, np.array(kinds, np.int8), by_kind


SHIFT_SHARE, SHIFT_MINUTES = 0.02, (480, 600)


def _busy_outings(rng: np.random.Generator, busy: int, busy_share: float | None, n: int) -> np.ndarray:
    """Return which of n outings go to the `busy` head places of their kind (dense cities only)."""
    if busy_share is None:
        return np.zeros(n, bool)
    return rng.random(n) < min(0.95, busy_share * (1 + OUTINGS_PER_DAY) / OUTINGS_PER_DAY)


def _popular(rng: np.random.Generator, codes: np.ndarray, n: int) -> np.ndarray:
    """Return n picks from codes: a few very busy places (the first BUSY), the rest a mild Zipf-like skew.

    With a million persons each very busy venue has about 2,000 visits a day (200 at once), the next
    busiest about 350, the median one about 50.
    """
    busy = min(BUSY, len(codes) - 1)
    weights = 1.0 / (np.arange(len(codes) - busy) + 1000.0)
    cdf = np.cumsum(weights / weights.sum())
    picks = codes[busy:][np.minimum(np.searchsorted(cdf, rng.random(n)), len(cdf) - 1)]
    to_busy = rng.random(n) < BUSY_SHARE * busy
    picks[to_busy] = codes[rng.integers(0, busy, int(to_busy.sum()))]
    return picks


def _day(rng: np.random.Generator, day: int, persons: int, by_kind: dict[str, np.ndarray],
         busy: dict[str, int], busy_share: float | None) -> tuple[np.ndarray, ...]:
    """Return one day's stays: (person, place, t_in, t_out)."""
    midnight = MONTH_START + day * 86_400
    who = np.arange(persons, dtype=np.int32)
    home_in = midnight + 19 * 3600 + rng.integers(0, 3 * 3600, persons)
    home_out = midnight + 31 * 3600 + rng.integers(0, 2 * 3600, persons)
    parts = [(who, (who // HOUSEHOLD_SIZE).astype(np.int32), home_in, home_out)]
    outings = np.repeat(who, OUTINGS_PER_DAY)
    choice = rng.random(len(outings))
    edge = 0.0
    for name, (share, shortest, longest) in OUTING_KINDS.items():
        pick = (choice >= edge) & (choice < edge + share)
        edge += share
        n = int(pick.sum())
        start = midnight + 7 * 3600 + rng.integers(0, 11 * 3600, n)
        length = rng.integers(shortest * 60, longest * 60 + 1, n)
        where = _popular(rng, by_kind[name][busy[name]:], n)
        to_busy = _busy_outings(rng, busy[name], busy_share, n)
        where[to_busy] = by_kind[name][rng.integers(0, max(busy[name], 1), int(to_busy.sum()))]
        shift = to_busy & (rng.random(n) < SHIFT_SHARE)
        length[shift] = rng.integers(SHIFT_MINUTES[0] * 60, SHIFT_MINUTES[1] * 60 + 1, int(shift.sum()))
        parts.append((outings[pick], where.astype(np.int32), start, start + length))
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def generate_city(records: int = 90_000_000, seed: int = 2022, busy_share: float | None = None) -> City:
    """Return a city-month of about `records` presence records (persons are ints 0…n−1)."""
    rng = np.random.default_rng(seed)
    persons = persons_for(records)
    keys, kinds, by_kind = _places(persons)
    head = len(keys) // 100  # the busiest 1 % of all places, shared among the kinds by their size
    public = sum(len(codes) for codes in by_kind.values())
    busy = {name: (max(1, head * len(codes) // public) if busy_share is not None else 0)
            for name, codes in by_kind.items()}
    days = [_day(rng, day, persons, by_kind, busy, busy_share) for day in range(DAYS)]
    person, place, t_in, t_out = (np.concatenate(column) for column in zip(*days, strict=True))
    del days
    source = pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(t_in), np.int8)), pa.array(["synthetic"]))
    batch = Batch([str(i) for i in range(persons)], person, keys, kinds, place, t_in.astype(np.int64),
                  t_out.astype(np.int64), source)
    return City(persons, len(keys), batch)


def busiest_share(batch: Batch, share: float = 0.01) -> float:
    """Return the share of records at the busiest `share` of places (by records)."""
    counts = np.sort(np.bincount(batch.place, minlength=len(batch.place_keys)))[::-1]
    return float(counts[:max(1, int(len(counts) * share))].sum() / max(1, counts.sum()))


def to_table(batch: Batch, out: Path) -> None:
    """Write records as a presence file (Parquet, or CSV by suffix) that `presence import` reads back."""
    table = pa.table({
        "person": pa.array(np.asarray([int(k) for k in batch.person_keys], np.int64)[batch.person]),
        "place": pa.DictionaryArray.from_arrays(pa.array(batch.place), pa.array(batch.place_keys)),
        "place_kind": pa.array(np.asarray(PLACE_KINDS)[batch.place_kind[batch.place]]),
        "t_in": pa.array(batch.t_in), "t_out": pa.array(batch.t_out), "source": batch.source,
    })
    if out.suffix.lower() == ".csv":
        pcsv.write_csv(table.cast(pa.schema([(f.name, pa.string()) for f in table.schema])), out)
    else:
        pq.write_table(table, out)
