"""The Spark backend gives exactly the embedded engine's traces (local mode, small data, one session)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from fangkong.tracing import engine
from fangkong.tracing.generate import MONTH_START, generate_city
from fangkong.tracing.index import Keys, PresenceIndex, build_index, index_records
from fangkong.tracing.terms import DAY, MINUTE, ContactRules, IndexCase, contact_rules

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    from fangkong.tracing.spark import local_session

    session = local_session(1)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def city() -> PresenceIndex:
    batch = generate_city(4000, seed=11).batch
    return build_index(batch.person, batch.place, batch.t_in, batch.t_out, batch.place_kind,
                       Keys([int(k) for k in batch.person_keys]), Keys(batch.place_keys))


def test_spark_equals_embedded_on_a_small_city(spark: object, city: PresenceIndex) -> None:
    from fangkong.tracing.spark import trace_batch

    rng = np.random.default_rng(1)
    onsets = MONTH_START + rng.integers(3 * DAY, 20 * DAY, 4)
    cases = [IndexCase(int(p), int(o), int(o) + DAY, None if i % 2 else int(o) + 2 * DAY)
             for i, (p, o) in enumerate(zip(rng.integers(0, len(city.persons), 4), onsets, strict=True))]
    cases.append(IndexCase(999_999, MONTH_START))  # unknown person: no contacts, on both
    rules = contact_rules()
    want = engine.trace_batch(city, cases, rules)
    assert trace_batch(city, cases, rules, spark=spark) == want  # type: ignore[arg-type]
    assert any(t.secondary for t in want)


def test_spark_equals_embedded_on_edge_cases(spark: object) -> None:
    from fangkong.tracing.spark import trace_batch

    t0 = 1_600_000_000
    rows = [("a", "cafe", "venue", t0, t0 + 600), ("b", "cafe", "venue", t0 + 600, t0 + 900),  # touching
            ("c", "cafe", "venue", t0 - 300, t0), ("a", "cell", "grid", t0, t0 + 1200),
            ("d", "cell", "grid", t0 + 600, t0 + 1800), ("b", "bus", "vehicle", t0 + 3600, t0 + 4000),
            ("e", "bus", "vehicle", t0 + 3700, t0 + 3800), ("a", "bus", "vehicle", t0 + 3650, t0 + 3660)]
    ix = index_records(rows)
    touching = ContactRules(0, (0,) * 5, (0,) * 5)
    cases = [IndexCase("a", t0 + 60), IndexCase("a", t0, isolated=t0 + 600), IndexCase("b", t0 + 4000)]
    for rules in (touching, contact_rules("edition-9"), ContactRules(0, (5 * MINUTE,) * 5, (MINUTE,) * 5)):
        assert trace_batch(ix, cases, rules, spark=spark) == engine.trace_batch(ix, cases, rules)  # type: ignore[arg-type]
    isolation = {"b": t0 + 3650}
    assert (trace_batch(ix, cases, touching, contact_isolation=isolation, spark=spark)  # type: ignore[arg-type]
            == engine.trace_batch(ix, cases, touching, contact_isolation=isolation))


def test_spark_reads_a_store_from_its_parts_and_agrees(spark: object, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fangkong.tracing.spark import trace_store
    from fangkong.tracing.store import PresenceStore

    store = PresenceStore(tmp_path / "store")
    batch = generate_city(3000, seed=4).batch
    store.write_batch(batch)
    ix = store.snapshot()
    rng = np.random.default_rng(2)
    cases = [IndexCase(int(p), int(MONTH_START + 6 * DAY)) for p in rng.integers(0, len(ix.persons), 3)]
    rules = contact_rules()
    assert trace_store(store, cases, rules, spark=spark) == engine.trace_batch(ix, cases, rules)  # type: ignore[arg-type]


def test_spark_counts_and_link_digest_equal_the_engines_on_a_dense_store(spark: object, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What `make bench` checks at 10 M records, here at a CI size: the same exposures, close contacts and
    the same set of secondary links (an order-free digest), on a city with a quarter of stays at busy places."""
    from fangkong.tracing.spark import trace_store_counts
    from fangkong.tracing.store import PresenceStore

    store = PresenceStore(tmp_path / "store")
    store.write_batch(generate_city(20_000, seed=5, busy_share=0.25).batch)
    ix = store.snapshot()
    rng = np.random.default_rng(3)
    onsets = MONTH_START + rng.integers(3 * DAY, 20 * DAY, 6)
    cases = [IndexCase(int(p), int(o), int(o) + DAY, int(o) + 2 * DAY)
             for p, o in zip(rng.integers(0, len(ix.persons), 6), onsets, strict=True)]
    rules = contact_rules()
    want = engine.links_digest(engine.trace_arrays(ix, cases, rules))
    assert want[2] > 0
    assert trace_store_counts(store, cases, rules, spark=spark) == want  # type: ignore[arg-type]
