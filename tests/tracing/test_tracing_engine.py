"""The embedded engine against the brute-force reference (issue 7's rule), on random and on named edge cases."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangkong.tracing import engine
from fangkong.tracing.index import Layer, PresenceIndex, build_layer, index_records
from fangkong.tracing.terms import DAY, MINUTE, ContactRules, IndexCase, contact_rules
from tests.tracing import reference
from tests.tracing.reference import Record

T0 = 1_600_000_000  # 2020-09-13, a whole minute
PLACES = {"cafe": "venue", "gate": "checkpoint", "bus-12": "vehicle", "flat-3": "household", "cell-77": "grid",
          "mall": "venue"}
PERSONS = [1, 2, 3, 4, 5, 6, "p-7", "p-8"]


def uniform(tolerance_min: int, overlap_min: int, lookback_s: int = 0) -> ContactRules:
    return ContactRules(lookback_s, (tolerance_min * MINUTE,) * 5, (overlap_min * MINUTE,) * 5)


def run_both(records: list[Record], case: IndexCase, rules: ContactRules, hops: int = 2) -> None:
    ix = index_records([(r.person, r.place, r.kind, r.t_in, r.t_out) for r in records])
    got = engine.trace(ix, case, rules, hops)
    want = reference.trace(records, case, rules, hops)
    assert got == want


def at(minute: int) -> int:
    return T0 + minute * MINUTE


def rec(person: object, place: str, start_min: int, end_min: int) -> Record:
    return Record(person, place, PLACES[place], at(start_min), at(end_min))  # type: ignore[arg-type]


@st.composite
def records(draw: st.DrawFn) -> list[Record]:
    rows = []
    for _ in range(draw(st.integers(0, 30))):
        place = draw(st.sampled_from(sorted(PLACES)))
        start = draw(st.integers(-30, 150))
        # whole minutes keep boundaries (touching, exactly m, exactly τ) likely; some odd seconds too
        start_s = at(start) + draw(st.sampled_from([0, 0, 0, 1, 59]))
        minutes = draw(st.sampled_from([0, 1, 5, 10, 30, 90, 200, 700, 2500]))  # every duration class
        length = minutes * MINUTE + draw(st.sampled_from([0, 0, 1]))
        rows.append(Record(draw(st.sampled_from(PERSONS)), place, PLACES[place], start_s, start_s + length))
    return rows


@st.composite
def cases(draw: st.DrawFn) -> IndexCase:
    onset = at(draw(st.integers(-10, 160)))
    isolated = draw(st.one_of(st.none(), st.integers(0, 200).map(lambda m: onset + m * MINUTE)))
    contacts_isolated = draw(st.one_of(st.none(), st.integers(-10, 250).map(at)))
    return IndexCase(draw(st.sampled_from(PERSONS)), onset, isolated, contacts_isolated)


RULES = st.builds(uniform, st.sampled_from([0, 1, 5, 10]), st.sampled_from([0, 1, 5, 10]),
                  st.sampled_from([0, 30 * MINUTE, 90 * MINUTE, DAY]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), cases(), RULES, st.sampled_from([1, 2]))
def test_engine_matches_reference_on_random_data(rows: list[Record], case: IndexCase, rules: ContactRules,
                                                 hops: int) -> None:
    run_both(rows, case, rules, hops)


def layered(rows: list[Record], in_delta: list[bool]) -> PresenceIndex:
    """Return the index of rows with the flagged ones in the delta layer (as the store builds it)."""
    whole = index_records([(r.person, r.place, r.kind, r.t_in, r.t_out) for r in rows])
    person = np.array([whole.persons.code(r.person) for r in rows], np.int64)
    place = np.array([whole.places.code(r.place) for r in rows], np.int64)
    t_in, t_out = np.array([r.t_in for r in rows], np.int64), np.array([r.t_out for r in rows], np.int64)
    delta = np.array(in_delta, bool) if rows else np.zeros(0, bool)

    def layer(keep: np.ndarray) -> Layer:
        return build_layer(person[keep], place[keep], t_in[keep], t_out[keep], len(whole.persons), len(whole.places))
    return PresenceIndex(layer(~delta), layer(delta), whole.place_kind, whole.persons, whole.places)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), records(), cases(), RULES)
def test_engine_over_main_and_delta_layers_matches_reference(data: st.DataObject, rows: list[Record],
                                                            case: IndexCase, rules: ContactRules) -> None:
    split = data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    ix = layered(rows, split)
    assert engine.trace(ix, case, rules) == reference.trace(rows, case, rules)
    assert engine.trajectory(ix, case.person) == reference.trajectory(rows, case.person, None, None)


@settings(max_examples=100, deadline=None)
@given(records(), st.lists(cases(), min_size=1, max_size=5), RULES)
def test_a_batch_equals_its_cases_one_by_one(rows: list[Record], batch: list[IndexCase], rules: ContactRules) -> None:
    ix = index_records([(r.person, r.place, r.kind, r.t_in, r.t_out) for r in rows])
    assert engine.trace_batch(ix, batch, rules) == [reference.trace(rows, c, rules) for c in batch]


@settings(max_examples=100, deadline=None)
@given(records(), st.sampled_from(PERSONS), st.one_of(st.none(), st.integers(-10, 160)),
       st.one_of(st.none(), st.integers(-10, 200)))
def test_trajectory_matches_reference(rows: list[Record], person: object, start: int | None, end: int | None) -> None:
    ix = index_records([(r.person, r.place, r.kind, r.t_in, r.t_out) for r in rows])
    lo, hi = (None if start is None else at(start)), (None if end is None else at(end))
    assert engine.trajectory(ix, person, lo, hi) == reference.trajectory(rows, person, lo, hi)  # type: ignore[arg-type]


def close_of(rows: list[Record], case: IndexCase, rules: ContactRules) -> dict[object, int]:
    ix = index_records([(r.person, r.place, r.kind, r.t_in, r.t_out) for r in rows])
    result = engine.trace(ix, case, rules)
    assert result == reference.trace(rows, case, rules)
    return {c.person: c.first_exposure for c in result.close}


def test_touching_intervals_count_only_when_min_overlap_is_zero() -> None:
    rows = [rec(1, "cafe", 0, 10), rec(2, "cafe", 10, 20)]
    assert close_of(rows, IndexCase(1, at(0)), uniform(0, 0)) == {2: at(10)}
    assert close_of(rows, IndexCase(1, at(0)), uniform(0, 1)) == {}


def test_min_overlap_boundary_is_inclusive() -> None:
    rows = [rec(1, "cell-77", 0, 20), rec(2, "cell-77", 10, 40), rec(3, "cell-77", 11, 40)]
    assert close_of(rows, IndexCase(1, at(0)), contact_rules("edition-9")) == {2: at(10)}  # grid: m = 10


def test_tolerance_widens_the_index_stay_on_both_sides() -> None:
    rows = [rec(1, "gate", 30, 30), rec(2, "gate", 20, 20), rec(3, "gate", 40, 40), rec(4, "gate", 41, 45),
            rec(5, "gate", 19, 19)]
    assert close_of(rows, IndexCase(1, at(0)), uniform(10, 0)) == {2: at(20), 3: at(40)}


def test_stays_straddling_window_start_and_isolation_are_clipped() -> None:
    rows = [rec(1, "mall", 0, 60), rec(2, "mall", 0, 20), rec(3, "mall", 25, 35), rec(4, "mall", 50, 70),
            rec(5, "mall", 40, 45)]
    # window [30, 45): the index stay is clipped to [30, 45]
    case = IndexCase(1, onset=at(30), isolated=at(45))
    assert close_of(rows, case, uniform(0, 0)) == {3: at(30), 5: at(40)}
    assert close_of(rows, case, uniform(0, 1)) == {3: at(30), 5: at(40)}


def test_a_stay_starting_at_isolation_is_outside_the_window() -> None:
    rows = [rec(1, "cafe", 60, 90), rec(2, "cafe", 60, 90)]
    assert close_of(rows, IndexCase(1, at(0), isolated=at(60)), uniform(0, 0)) == {}


def test_same_place_another_day_is_no_contact() -> None:
    rows = [rec(1, "cafe", 0, 60), rec(2, "cafe", 24 * 60, 24 * 60 + 60)]
    assert close_of(rows, IndexCase(1, at(0)), uniform(5, 0)) == {}


def test_a_close_contact_is_never_also_secondary_and_secondaries_keep_their_links() -> None:
    rows = [rec(1, "cafe", 0, 30), rec(2, "cafe", 0, 30), rec(3, "cafe", 20, 40),
            rec(2, "bus-12", 60, 90), rec(3, "bus-12", 60, 90), rec(4, "bus-12", 70, 80),
            rec(3, "flat-3", 100, 200), rec(4, "flat-3", 100, 200), rec(1, "flat-3", 300, 400)]
    ix = index_records([(r.person, r.place, r.kind, r.t_in, r.t_out) for r in rows])
    result = engine.trace(ix, IndexCase(1, at(0), isolated=at(50)), uniform(0, 0))
    assert result == reference.trace(rows, IndexCase(1, at(0), isolated=at(50)), uniform(0, 0))
    assert [c.person for c in result.close] == [2, 3]  # 3 would also be secondary through 2: it is close only
    assert [(s.person, s.via) for s in result.secondary] == [(4, (2, 3))]  # the index (flat-3) never returns


def test_secondary_window_starts_at_the_contacts_first_exposure() -> None:
    rows = [rec(1, "cafe", 100, 120), rec(2, "cafe", 110, 130), rec(2, "bus-12", 0, 50), rec(3, "bus-12", 0, 50)]
    result = close_of(rows, IndexCase(1, at(0)), uniform(0, 0))
    assert result == {2: at(110)}
    ix = index_records([(r.person, r.place, r.kind, r.t_in, r.t_out) for r in rows])
    assert engine.trace(ix, IndexCase(1, at(0)), uniform(0, 0)).secondary == ()


def test_unknown_index_person_has_no_contacts() -> None:
    ix = index_records([(1, "cafe", "venue", at(0), at(10))])
    result = engine.trace(ix, IndexCase(99, at(0)), uniform(0, 0))
    assert result.close == () and result.secondary == ()
    assert engine.trajectory(ix, 99) == []


def test_contact_isolation_closes_the_contacts_window() -> None:
    rows = [rec(1, "cafe", 0, 10), rec(2, "cafe", 0, 10), rec(2, "bus-12", 60, 70), rec(3, "bus-12", 60, 70)]
    ix = index_records([(r.person, r.place, r.kind, r.t_in, r.t_out) for r in rows])
    case = IndexCase(1, at(0))
    assert [s.person for s in engine.trace(ix, case, uniform(0, 0)).secondary] == [3]
    isolated = {2: at(30)}
    got = engine.trace(ix, case, uniform(0, 0), contact_isolation=isolated)
    assert got.secondary == () == reference.trace(rows, case, uniform(0, 0), contact_isolation=isolated).secondary


def test_a_batch_traced_in_parts_on_all_cores_equals_one_pass(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fangkong.tracing.generate import generate_city
    from fangkong.tracing.store import index_batch

    ix = index_batch(generate_city(60_000, seed=9).batch)
    rng = np.random.default_rng(4)
    cases = [IndexCase(int(p), 1_646_064_000 + int(d) * DAY, 1_646_064_000 + (int(d) + 1) * DAY)
             for p, d in zip(rng.integers(0, len(ix.persons), 150), rng.integers(3, 25, 150), strict=True)]
    rules = contact_rules()
    one = engine.trace_arrays(ix, cases, rules, workers=1)
    parts = engine.trace_arrays(ix, cases, rules, workers=3)
    assert len(one.sec_case) > 0
    for name in engine.TraceArrays.__dataclass_fields__:
        assert (getattr(one, name) == getattr(parts, name)).all(), name
    assert engine.decode(ix, cases, parts, rules) == [engine.trace(ix, c, rules) for c in cases]
