"""Tracing benchmark (issue 7): store build and size, one case with 2 hops, 1,000 cases, one trajectory.

Each figure beside the plain DuckDB SQL an analyst would write (a self-join on place with an overlap
filter) on the same data in the same run, as a ratio; contact counts are checked equal between the two.
BENCH_TRACING_RECORDS sets the size (default 90,000,000). Cases: onset uniform over days 3–27 of the
month, isolated a day later, their contacts isolated a day after that (the platform dispatches contacts
as urgent leads); the CLI's default for contacts, the end of the data, is timed too for one case.
Measures only; asserts nothing about time.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from fangkong.tracing import engine
from fangkong.tracing.generate import MONTH_START, generate_city
from fangkong.tracing.index import PresenceIndex, keep_freed_memory
from fangkong.tracing.store import PresenceStore
from fangkong.tracing.terms import DAY, NO_ISOLATION, ContactRules, IndexCase, contact_rules

RECORDS = int(os.environ.get("BENCH_TRACING_RECORDS", "90000000"))
SINGLE_CASES, SINGLE_SQL_CASES, BATCH, TRAJECTORIES = 50, 3, 1000, 200

SQL = """
WITH istays AS (
  SELECT c.case_id, c.person AS idx, p.place, greatest(p.t_in, c.w0) AS a, least(p.t_out, c.w1) AS b
  FROM cases c JOIN presence p ON p.person = c.person
  WHERE p.t_in < c.w1 AND p.t_out >= c.w0),
exp AS (
  SELECT DISTINCT i.case_id, o.person, greatest(i.a - r.tol, o.t_in) AS s, least(i.b + r.tol, o.t_out) AS e, i.place
  FROM istays i JOIN rules r ON r.place = i.place JOIN presence o ON o.place = i.place
  WHERE o.person <> i.idx AND least(i.b + r.tol, o.t_out) - greatest(i.a - r.tol, o.t_in) >= r.m),
close AS (SELECT case_id, person, min(s) AS first FROM exp GROUP BY ALL),
cstays AS (
  SELECT k.case_id, k.person AS via, p.place, greatest(p.t_in, k.first) AS a, least(p.t_out, c.ciso) AS b
  FROM close k JOIN cases c USING (case_id) JOIN presence p ON p.person = k.person
  WHERE p.t_in < c.ciso AND p.t_out >= k.first),
sec AS (
  SELECT DISTINCT s.case_id, o.person, s.via
  FROM cstays s JOIN rules r ON r.place = s.place JOIN presence o ON o.place = s.place
  JOIN cases c ON c.case_id = s.case_id
  WHERE least(s.b + r.tol, o.t_out) - greatest(s.a - r.tol, o.t_in) >= r.m AND o.person <> c.person
    AND NOT EXISTS (SELECT 1 FROM close k WHERE k.case_id = s.case_id AND k.person = o.person))
SELECT (SELECT count(*) FROM exp), (SELECT count(*) FROM close), (SELECT count(*) FROM sec)
"""
TRAJECTORY_SQL = "SELECT place, t_in, t_out FROM presence WHERE person = ? ORDER BY t_in, t_out, place"


def timed(run: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def line(name: str, ours: float, theirs: float | None = None, unit: str = "ms", note: str = "") -> None:
    scale = 1000 if unit == "ms" else 1
    ratio = f"   DuckDB {theirs * scale:10.1f} {unit}   ratio {theirs / ours:7.1f}×" if theirs else ""
    print(f"{name:<44} {ours * scale:10.1f} {unit}{ratio}{('   ' + note) if note else ''}", flush=True)


def make_cases(persons: int, n: int, seed: int = 7) -> list[IndexCase]:
    rng = np.random.default_rng(seed)
    onsets = MONTH_START + rng.integers(3 * DAY, 27 * DAY, n)
    return [IndexCase(int(p), int(o), int(o) + DAY, int(o) + 2 * DAY)
            for p, o in zip(rng.integers(0, persons, n), onsets, strict=True)]


def cases_table(cases: list[IndexCase], rules: ContactRules) -> pa.Table:
    return pa.table({
        "case_id": np.arange(len(cases)), "person": [c.person for c in cases],
        "w0": [c.onset - rules.lookback_s for c in cases],
        "w1": [NO_ISOLATION if c.isolated is None else c.isolated for c in cases],
        "ciso": [NO_ISOLATION if c.contacts_isolated is None else c.contacts_isolated for c in cases]})


def duckdb_trace(db: duckdb.DuckDBPyConnection, cases: list[IndexCase], rules: ContactRules) -> tuple[int, ...]:
    db.register("cases", cases_table(cases, rules))
    counts = db.execute(SQL).fetchall()[0]
    db.unregister("cases")
    return tuple(counts)  # type: ignore[arg-type]


def engine_counts(arrays: engine.TraceArrays) -> tuple[int, ...]:
    return len(arrays.exp_case), len(arrays.close_person), len(arrays.sec_person)


def build(tmp: Path) -> tuple[PresenceIndex, Path, int, float]:
    seconds, city = timed(lambda: generate_city(RECORDS, seed=2022))
    batch = city.batch  # type: ignore[attr-defined]
    raw = len(batch) * (8 + 4 + 1 + 8 + 8 + 1)  # person int64, place and kind and source dictionary codes, 2 × int64
    print(f"records {len(batch):,}  persons {city.persons:,}  places {city.places:,}  "  # type: ignore[attr-defined]
          f"(generated in {seconds:.1f} s); raw columns {raw / 2**30:.2f} GiB", flush=True)
    store = PresenceStore(tmp / "store")
    started = time.perf_counter()
    store.write_batch(batch)
    ingest = time.perf_counter() - started
    del batch, city
    fresh = PresenceStore(tmp / "store")
    seconds, ix = timed(lambda: fresh.snapshot(persist=False))
    line("store: ingest (encode, write Parquet)", ingest, unit="s")
    return ix, tmp / "store" / "parts" / "000001.parquet", raw, seconds  # type: ignore[return-value]


def load_duckdb(part: Path, ix: PresenceIndex, rules: ContactRules) -> tuple[duckdb.DuckDBPyConnection, float]:
    db = duckdb.connect()
    spill = part.parent.parent / "duckdb-spill"
    db.execute(f"SET threads = 2; SET memory_limit = '6GB'; SET temp_directory = '{spill}'; "
               "SET max_temp_directory_size = '16GB'")
    tolerance, overlap = rules.arrays()
    db.register("r", pa.table({"place": np.arange(len(ix.place_kind)), "tol": tolerance[ix.place_kind],
                               "m": overlap[ix.place_kind]}))
    seconds, _ = timed(lambda: db.execute(f"CREATE TABLE presence AS SELECT person, place, t_in, t_out "
                                          f"FROM read_parquet('{part}'); CREATE TABLE rules AS SELECT * FROM r"))
    return db, seconds


def bench_single(ix: PresenceIndex, db: duckdb.DuckDBPyConnection, cases: list[IndexCase], rules: ContactRules
                 ) -> float:
    """Print one case's figures; return DuckDB's median seconds per case (the batch's baseline)."""
    ours = [timed(lambda c=c: engine.trace(ix, c, rules))[0] for c in cases[:SINGLE_CASES]]
    theirs = []
    for case in cases[:SINGLE_SQL_CASES]:
        seconds, counts = timed(lambda c=case: duckdb_trace(db, [c], rules))
        theirs.append(seconds)
        assert counts == engine_counts(engine.trace_arrays(ix, [case], rules)), (case, counts)
    sizes = [engine_counts(engine.trace_arrays(ix, [c], rules)) for c in cases[:SINGLE_CASES]]
    note = (f"median close {statistics.median(s[1] for s in sizes):.0f}, "
            f"secondary links {statistics.median(s[2] for s in sizes):.0f}; DuckDB: {len(theirs)} cases, same counts")
    line("one case, 2 hops (median, with decoding)", statistics.median(ours), statistics.median(theirs), note=note)
    arrays = [timed(lambda c=c: engine.trace_arrays(ix, [c], rules))[0] for c in cases[:SINGLE_CASES]]
    line("one case, 2 hops (median, arrays only)", statistics.median(arrays), statistics.median(theirs))
    open_ended = [IndexCase(c.person, c.onset, c.isolated) for c in cases[:SINGLE_CASES]]
    ours = [timed(lambda c=c: engine.trace(ix, c, rules))[0] for c in open_ended]
    line("one case, 2 hops, contacts never isolated", statistics.median(ours),
         note="(the CLI's default: contacts' windows open to the end of the data)")
    return statistics.median(theirs)


def bench_batch(ix: PresenceIndex, cases: list[IndexCase], rules: ContactRules, sql_per_case: float) -> None:
    seconds, arrays = timed(lambda: engine.trace_arrays(ix, cases, rules))
    decoding, _ = timed(lambda: engine.decode(ix, cases, arrays, rules))  # type: ignore[arg-type]
    totals = engine_counts(arrays)  # type: ignore[arg-type]
    # The plain SQL over a whole batch spills past any disk here; its baseline is its per-case median × N.
    baseline = sql_per_case * len(cases)
    line(f"{len(cases)} cases, 2 hops (arrays)", seconds, baseline, unit="s",
         note=f"exposures {totals[0]:,}, close {totals[1]:,}, secondary links {totals[2]:,}")
    line(f"{len(cases)} cases, 2 hops (with decoding)", seconds + decoding, baseline, unit="s",
         note=f"(DuckDB: its one-case median × {len(cases)})")


def bench_trajectory(ix: PresenceIndex, db: duckdb.DuckDBPyConnection, persons: int) -> None:
    people = np.random.default_rng(3).integers(0, persons, TRAJECTORIES).tolist()
    ours = [timed(lambda p=p: engine.trajectory(ix, p))[0] for p in people]
    theirs = [timed(lambda p=p: db.execute(TRAJECTORY_SQL, [p]).fetchall())[0] for p in people[:20]]
    line("one trajectory (median)", statistics.median(ours), statistics.median(theirs))


def main() -> None:
    keep_freed_memory()  # as the CLI does: see tracing.index
    rules = contact_rules()
    with tempfile.TemporaryDirectory(prefix="tracing-bench-") as folder:
        ix, part, raw, index_seconds = build(Path(folder))
        db, duck_seconds = load_duckdb(part, ix, rules)
        line("store: build index from Parquet", index_seconds, duck_seconds, unit="s",
             note="(DuckDB: CREATE TABLE from the same Parquet)")
        print(f"{'store: size in memory':<44} {ix.nbytes() / 2**30:10.2f} GiB   "
              f"{ix.nbytes() / raw:.2f}× the raw columns ({ix.nbytes() / ix.records:.0f} B/record)", flush=True)
        persons = len(ix.persons)
        cases = make_cases(persons, BATCH)
        per_case = bench_single(ix, db, cases, rules)
        bench_batch(ix, cases, rules, per_case)
        bench_trajectory(ix, db, persons)


if __name__ == "__main__":
    main()
