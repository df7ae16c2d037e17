"""Tracing benchmark (issues 7, 22): the embedded engine against the best plain SQL and DataFrame code.

On the project's generator and on a dense variant (BENCH_TRACING_DENSE of all stays at the busiest 1 % of
places, with staff shifts there), at each size of BENCH_TRACING_RECORDS (default 10 M and 90 M), it
prints: index build and memory against the raw columns; one case and 1,000 cases with 2 hops against
  - DuckDB, hour-bucket self-join (each stay exploded into the hours it covers, joined on place and hour,
    each pair kept only in the hour its overlap starts, so no DISTINCT is needed for the bucket repeats);
  - DuckDB, range join (place folded into the time axis, so the join has only inequalities: IEJoin);
  - Polars, the same hour-bucket join in the lazy API;
  - and, labelled as an extra, the plain self-join on place alone (explodes at busy places), 3 cases;
with the counts of exposures, close contacts and secondary links checked identical. Also: a trace that
includes a record written a second ago (delta layer, no rebuild of the main layer), Arrow output of a
batch, and the Spark backend on the same store at 10 M (where Java is present; BENCH_TRACING_SPARK=0
skips it). Each baseline gets BENCH_TRACING_BUDGET seconds (default 900) before it is stopped and shown
as "> budget". Cases: onset uniform over days 3–27, isolated a day later, their contacts a day after
that. Measures only; asserts nothing about time (only that the counts agree).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from fangkong.tracing import engine
from fangkong.tracing.generate import MONTH_START, busiest_share, generate_city
from fangkong.tracing.index import PresenceIndex, keep_freed_memory
from fangkong.tracing.results import links_table
from fangkong.tracing.store import PresenceStore
from fangkong.tracing.terms import DAY, NO_ISOLATION, ContactRules, IndexCase, contact_rules

SIZES = [int(float(x)) for x in os.environ.get("BENCH_TRACING_RECORDS", "10e6,90e6").split(",") if x]
DENSE = float(os.environ.get("BENCH_TRACING_DENSE", "0.25"))
BUDGET = float(os.environ.get("BENCH_TRACING_BUDGET", "900"))
SPARK = os.environ.get("BENCH_TRACING_SPARK", "1") != "0"
SINGLE_CASES, SINGLE_SQL_CASES, BATCH = 50, 5, 1000
BUCKET = 3600

BUCKET_SQL = f"""
WITH istays AS (
  SELECT c.case_id, c.person AS idx, p.place, greatest(p.t_in, c.w0) - r.tol AS wa,
         least(p.t_out, c.w1) + r.tol AS wb, r.m
  FROM cases c JOIN presence p ON p.person = c.person JOIN rules r ON r.place = p.place
  WHERE p.t_in < c.w1 AND p.t_out >= c.w0),
ib AS (SELECT *, unnest(range(wa // {BUCKET}, wb // {BUCKET} + 1)) AS bucket FROM istays),
exp AS MATERIALIZED (
  SELECT DISTINCT i.case_id, o.person, greatest(i.wa, o.t_in) AS s, least(i.wb, o.t_out) AS e, i.place
  FROM ib i JOIN pb o ON o.place = i.place AND o.bucket = i.bucket
  WHERE o.person <> i.idx AND least(i.wb, o.t_out) - greatest(i.wa, o.t_in) >= i.m
    AND greatest(i.wa, o.t_in) // {BUCKET} = i.bucket),
close AS MATERIALIZED (SELECT case_id, person, min(s) AS first FROM exp GROUP BY ALL),
cstays AS (
  SELECT k.case_id, c.person AS idx, k.person AS via, p.place, greatest(p.t_in, k.first) - r.tol AS wa,
         least(p.t_out, c.ciso) + r.tol AS wb, r.m
  FROM close k JOIN cases c USING (case_id) JOIN presence p ON p.person = k.person
  JOIN rules r ON r.place = p.place
  WHERE p.t_in < c.ciso AND p.t_out >= k.first),
cb AS (SELECT *, unnest(range(wa // {BUCKET}, wb // {BUCKET} + 1)) AS bucket FROM cstays),
sec AS (
  SELECT DISTINCT s.case_id, o.person, s.via
  FROM cb s JOIN pb o ON o.place = s.place AND o.bucket = s.bucket
  WHERE o.person <> s.idx AND least(s.wb, o.t_out) - greatest(s.wa, o.t_in) >= s.m
    AND greatest(s.wa, o.t_in) // {BUCKET} = s.bucket),
secondary AS (SELECT * FROM sec ANTI JOIN close k ON k.case_id = sec.case_id AND k.person = sec.person)
SELECT (SELECT count(*) FROM exp), (SELECT count(*) FROM close), (SELECT count(*) FROM secondary)
"""

# Range join: with the place folded into the time axis (place × 2^32 + t) the join has only inequality
# conditions, which DuckDB answers with its IEJoin; the exact rule is checked after.
RANGE_SQL = """
WITH istays AS (
  SELECT c.case_id, c.person AS idx, p.place, greatest(p.t_in, c.w0) - r.tol AS wa,
         least(p.t_out, c.w1) + r.tol AS wb, r.m
  FROM cases c JOIN presence p ON p.person = c.person JOIN rules r ON r.place = p.place
  WHERE p.t_in < c.w1 AND p.t_out >= c.w0),
exp AS MATERIALIZED (
  SELECT DISTINCT i.case_id, o.person, greatest(i.wa, o.t_in) AS s, least(i.wb, o.t_out) AS e, i.place
  FROM istays i JOIN px o ON o.x_in <= i.place * 4294967296 + i.wb - i.m
                        AND o.x_out >= i.place * 4294967296 + i.wa + i.m
  WHERE o.place = i.place AND o.person <> i.idx AND least(i.wb, o.t_out) - greatest(i.wa, o.t_in) >= i.m),
close AS MATERIALIZED (SELECT case_id, person, min(s) AS first FROM exp GROUP BY ALL),
cstays AS (
  SELECT k.case_id, c.person AS idx, k.person AS via, p.place, greatest(p.t_in, k.first) - r.tol AS wa,
         least(p.t_out, c.ciso) + r.tol AS wb, r.m
  FROM close k JOIN cases c USING (case_id) JOIN presence p ON p.person = k.person
  JOIN rules r ON r.place = p.place
  WHERE p.t_in < c.ciso AND p.t_out >= k.first),
sec AS (
  SELECT DISTINCT s.case_id, o.person, s.via
  FROM cstays s JOIN px o ON o.x_in <= s.place * 4294967296 + s.wb - s.m
                         AND o.x_out >= s.place * 4294967296 + s.wa + s.m
  WHERE o.place = s.place AND o.person <> s.idx AND least(s.wb, o.t_out) - greatest(s.wa, o.t_in) >= s.m),
secondary AS (SELECT * FROM sec ANTI JOIN close k ON k.case_id = sec.case_id AND k.person = sec.person)
SELECT (SELECT count(*) FROM exp), (SELECT count(*) FROM close), (SELECT count(*) FROM secondary)
"""

NAIVE_SQL = """
WITH istays AS (
  SELECT c.case_id, c.person AS idx, p.place, greatest(p.t_in, c.w0) AS a, least(p.t_out, c.w1) AS b
  FROM cases c JOIN presence p ON p.person = c.person
  WHERE p.t_in < c.w1 AND p.t_out >= c.w0),
exp AS MATERIALIZED (
  SELECT DISTINCT i.case_id, o.person, greatest(i.a - r.tol, o.t_in) AS s, least(i.b + r.tol, o.t_out) AS e, i.place
  FROM istays i JOIN rules r ON r.place = i.place JOIN presence o ON o.place = i.place
  WHERE o.person <> i.idx AND least(i.b + r.tol, o.t_out) - greatest(i.a - r.tol, o.t_in) >= r.m),
close AS MATERIALIZED (SELECT case_id, person, min(s) AS first FROM exp GROUP BY ALL),
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


class OverBudget(Exception):
    pass


def timed(run: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def line(name: str, seconds: float, unit: str = "ms", note: str = "") -> None:
    scale = 1000 if unit == "ms" else 1
    print(f"  {name:<52} {seconds * scale:10.1f} {unit}{('   ' + note) if note else ''}", flush=True)


def ratio_line(name: str, ours: float, theirs: float | None, unit: str = "s", note: str = "") -> None:
    scale = 1000 if unit == "ms" else 1
    shown = f"> {BUDGET:.0f} s" if theirs is None else f"{theirs * scale:10.1f} {unit}"
    ratio = f"≥ {BUDGET / ours:7.1f}×" if theirs is None else f"{theirs / ours:7.1f}×"
    print(f"  {name:<52} {shown:>14}   ours {ours * scale:8.1f} {unit}   ratio {ratio}"
          f"{('   ' + note) if note else ''}", flush=True)


def make_cases(persons: int, n: int, seed: int = 7) -> list[IndexCase]:
    rng = np.random.default_rng(seed)
    onsets = MONTH_START + rng.integers(3 * DAY, 27 * DAY, n)
    return [IndexCase(int(p), int(o), int(o) + DAY, int(o) + 2 * DAY)
            for p, o in zip(rng.integers(0, persons, n), onsets, strict=True)]


def cases_table(cases: list[IndexCase], rules: ContactRules) -> pa.Table:
    return pa.table({
        "case_id": np.arange(len(cases)), "person": np.array([c.person for c in cases], np.int64),
        "w0": np.array([c.onset - rules.lookback_s for c in cases], np.int64),
        "w1": np.array([NO_ISOLATION if c.isolated is None else c.isolated for c in cases], np.int64),
        "ciso": np.array([NO_ISOLATION if c.contacts_isolated is None else c.contacts_isolated for c in cases],
                         np.int64)})


def engine_counts(arrays: engine.TraceArrays) -> tuple[int, ...]:
    return len(arrays.exp_case), len(arrays.close_person), len(arrays.sec_person)


# -- DuckDB -------------------------------------------------------------------------------------------------

def duckdb_load(folder: Path, presence: pa.Table, rules: pa.Table) -> tuple[duckdb.DuckDBPyConnection, float]:
    db = duckdb.connect()
    spill = folder / "duckdb-spill"
    db.execute(f"SET threads = 2; SET memory_limit = '12GB'; SET temp_directory = '{spill}'; "
               "SET max_temp_directory_size = '30GB'; SET preserve_insertion_order = false")
    db.register("presence_in", presence)
    db.register("rules_in", rules)
    seconds, _ = timed(lambda: db.execute(
        "CREATE TABLE presence AS SELECT * FROM presence_in; CREATE TABLE rules AS SELECT * FROM rules_in; "
        f"CREATE TABLE pb AS SELECT place, unnest(range(t_in // {BUCKET}, t_out // {BUCKET} + 1)) AS bucket, "
        "person, t_in, t_out FROM presence; "
        "CREATE TABLE px AS SELECT place, person, t_in, t_out, place * 4294967296 + t_in AS x_in, "
        "place * 4294967296 + t_out AS x_out FROM presence"))
    db.unregister("presence_in")
    db.unregister("rules_in")
    return db, seconds


def duckdb_trace(db: duckdb.DuckDBPyConnection, sql: str, cases: list[IndexCase], rules: ContactRules
                 ) -> tuple[int, ...]:
    """Run one trace query within the budget (interrupted past it)."""
    db.register("cases", cases_table(cases, rules))
    timer = threading.Timer(BUDGET, db.interrupt)
    timer.start()
    try:
        counts = db.execute(sql).fetchall()[0]
    except duckdb.InterruptException as exc:
        raise OverBudget from exc
    finally:
        timer.cancel()
        db.unregister("cases")
    return tuple(int(c) for c in counts)


# -- Polars -------------------------------------------------------------------------------------------------

def polars_frames(presence: pa.Table, rules: pa.Table) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, float]:
    def build() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        p = pl.from_arrow(presence)
        pb = (p.with_columns(bucket=pl.int_ranges(pl.col("t_in") // BUCKET, pl.col("t_out") // BUCKET + 1))
              .explode("bucket"))
        return p, pb, pl.from_arrow(rules)  # type: ignore[return-value]
    seconds, (p, pb, r) = timed(build)  # type: ignore[misc]
    return p, pb, r, seconds


def _polars_hop(stays: pl.LazyFrame, pb: pl.LazyFrame) -> pl.LazyFrame:
    """Return stays (…, idx, place, wa, wb, m) met with the records at their place: + person, s, e."""
    s, e = pl.max_horizontal("wa", "t_in"), pl.min_horizontal("wb", "t_out")
    return (stays.with_columns(bucket=pl.int_ranges(pl.col("wa") // BUCKET, pl.col("wb") // BUCKET + 1))
            .explode("bucket").join(pb, on=["place", "bucket"])
            .filter((pl.col("person") != pl.col("idx")) & (e - s >= pl.col("m")) & (s // BUCKET == pl.col("bucket")))
            .with_columns(s=s, e=e))


def polars_trace(p: pl.DataFrame, pb: pl.DataFrame, r: pl.DataFrame, cases: list[IndexCase], rules: ContactRules
                 ) -> tuple[int, ...]:
    c = pl.from_arrow(cases_table(cases, rules)).lazy()  # type: ignore[union-attr]
    presence, buckets, place_rules = p.lazy(), pb.lazy(), r.lazy()
    istays = (c.join(presence, on="person").filter((pl.col("t_in") < pl.col("w1")) & (pl.col("t_out") >= pl.col("w0")))
              .join(place_rules, on="place")
              .select("case_id", pl.col("person").alias("idx"), "place",
                      (pl.max_horizontal("t_in", "w0") - pl.col("tol")).alias("wa"),
                      (pl.min_horizontal("t_out", "w1") + pl.col("tol")).alias("wb"), "m"))
    exp = _polars_hop(istays, buckets).select("case_id", "person", "s", "e", "place").unique().collect()
    close = exp.group_by("case_id", "person").agg(first=pl.col("s").min())
    cstays = (close.lazy().join(c.select("case_id", pl.col("person").alias("idx"), "ciso"), on="case_id")
              .join(presence, on="person")
              .filter((pl.col("t_in") < pl.col("ciso")) & (pl.col("t_out") >= pl.col("first")))
              .join(place_rules, on="place")
              .select("case_id", "idx", pl.col("person").alias("via"), "place",
                      (pl.max_horizontal("t_in", "first") - pl.col("tol")).alias("wa"),
                      (pl.min_horizontal("t_out", "ciso") + pl.col("tol")).alias("wb"), "m"))
    sec = (_polars_hop(cstays, buckets).select("case_id", "person", "via").unique()
           .join(close.lazy().select("case_id", "person"), on=["case_id", "person"], how="anti")
           .select(pl.len()).collect())
    return len(exp), len(close), int(sec.item())


def polars_figures(presence: pa.Table, place_rules: pa.Table, cases: list[IndexCase], rules: ContactRules
                   ) -> tuple[float, list[tuple[float, object]], tuple[float, object]]:
    """Return Polars' load time, (seconds, counts) for the first cases one by one, and for the batch."""
    p, pb, r, load = polars_frames(presence, place_rules)
    singles = [timed(lambda c=c: polars_trace(p, pb, r, [c], rules)) for c in cases[:SINGLE_SQL_CASES]]
    return load, singles, timed(lambda: polars_trace(p, pb, r, cases, rules))


def in_child(run: Callable[[], object]) -> tuple[str, object]:
    """Run in a forked process; return ("ok", result) or ("failed", why), e.g. killed out of memory."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def target() -> None:
        try:
            send.send(("ok", run()))
        except Exception as exc:  # reported by the parent
            send.send(("failed", repr(exc)))
    child = context.Process(target=target)
    child.start()
    send.close()
    try:
        status, value = receive.recv()
    except EOFError:
        status, value = "failed", None
    child.join()
    if value is None:
        value = f"the process ended with {child.exitcode} (killed: out of memory on this machine)"
    return status, value


def within_budget(run: Callable[[], tuple[int, ...]]) -> tuple[float | None, tuple[int, ...] | None]:
    """Run a baseline in a thread; give up waiting past the budget (Polars cannot be interrupted)."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = timed(run)
        except OverBudget:
            box["over"] = True
        except Exception as exc:  # reported, the benchmark goes on
            box["error"] = exc
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(BUDGET + 5)
    if "error" in box:
        print(f"  (baseline failed: {box['error']!r})", flush=True)
    if "result" not in box:
        return None, None
    seconds, counts = box["result"]  # type: ignore[misc]
    return seconds, counts


# -- the benchmark ------------------------------------------------------------------------------------------

def same(name: str, ours: tuple[int, ...], theirs: tuple[int, ...] | None) -> None:
    assert theirs is None or theirs == ours, f"{name} counts {theirs} differ from the engine's {ours}"


def bench_city(records: int, busy_share: float | None, rules: ContactRules, folder: Path) -> None:
    label = "dense" if busy_share else "normal"
    seconds, city = timed(lambda: generate_city(records, seed=2022, busy_share=busy_share))
    batch = city.batch  # type: ignore[attr-defined]
    raw = len(batch) * (8 + 4 + 1 + 8 + 8 + 1)  # person int64, place and kind and source dictionary codes, 2 × int64
    print(f"\n-- {label} city: {len(batch):,} records, {city.persons:,} persons, "  # type: ignore[attr-defined]
          f"{city.places:,} places; {busiest_share(batch):.1%} of stays at the busiest 1 % of places "  # type: ignore[attr-defined]
          f"(generated in {seconds:.1f} s); raw columns {raw / 2**30:.2f} GiB", flush=True)
    store = PresenceStore(folder / "store")
    ingest, _ = timed(lambda: store.write_batch(batch))
    line("store: ingest (encode, write Parquet)", ingest, unit="s")
    build, ix = timed(lambda: PresenceStore(folder / "store").snapshot())
    assert isinstance(ix, PresenceIndex)
    line("store: build the index (main layer) from Parquet", build, unit="s")
    print(f"  {'store: index in memory':<52} {ix.nbytes() / 2**30:10.2f} GiB   {ix.nbytes() / raw:.2f}× the raw "
          f"columns ({ix.nbytes() / ix.records:.1f} B/record)", flush=True)
    tolerance, overlap = rules.arrays()
    presence = pa.table({"person": batch.person.astype(np.int64), "place": batch.place.astype(np.int64),
                         "t_in": batch.t_in, "t_out": batch.t_out})
    place_rules = pa.table({"place": np.arange(len(ix.place_kind), dtype=np.int64),
                            "tol": tolerance[ix.place_kind], "m": overlap[ix.place_kind]})
    batch = city = None  # the generated columns are not needed any more

    cases = make_cases(len(ix.persons), BATCH)
    engine.trace_arrays(ix, cases[:2], rules)  # compiled (or loaded from the cache) before timing
    ours_one = [timed(lambda c=c: engine.trace_arrays(ix, [c], rules))[0] for c in cases[:SINGLE_CASES]]
    decoded_one = [timed(lambda c=c: engine.trace(ix, c, rules))[0] for c in cases[:SINGLE_CASES]]
    sizes = [engine_counts(engine.trace_arrays(ix, [c], rules)) for c in cases[:SINGLE_CASES]]
    one = statistics.median(ours_one)
    line("one case, 2 hops, arrays (median of 50)", one,
         note=f"median close {statistics.median(s[1] for s in sizes):.0f}, "
              f"secondary links {statistics.median(s[2] for s in sizes):.0f}; "
              f"decoded to objects {statistics.median(decoded_one) * 1000:.1f} ms")
    seconds, arrays = timed(lambda: engine.trace_arrays(ix, cases, rules))
    ours = engine_counts(arrays)  # type: ignore[arg-type]
    line(f"{BATCH} cases, 2 hops, arrays", seconds, unit="s",
         note=f"exposures {ours[0]:,}, close {ours[1]:,}, secondary links {ours[2]:,}")
    arrow, table = timed(lambda: links_table(ix, arrays))  # type: ignore[arg-type]
    line(f"{BATCH} cases: secondary links as an Arrow table", arrow, unit="s", note=f"{table.num_rows:,} rows")  # type: ignore[attr-defined]
    arrays = table = None

    def single(name: str, run: Callable[[IndexCase], tuple[int, ...]], n: int = SINGLE_SQL_CASES,
               note: str = "") -> None:
        results = [within_budget(lambda c=c: run(c)) for c in cases[:n]]
        for c, (_, counts) in zip(cases, results, strict=False):
            same(name, engine_counts(engine.trace_arrays(ix, [c], rules)), counts)
        times = [t for t, _ in results]
        ratio_line(f"one case: {name} (median of {n})", one,
                   None if None in times else statistics.median(times), unit="ms", note=note)  # type: ignore[type-var]

    def batch_line(name: str, run: Callable[[], tuple[int, ...]]) -> None:
        theirs, counts = within_budget(run)
        same(name, ours, counts)
        ratio_line(f"{BATCH} cases: {name}", seconds, theirs, note="same counts" if counts else "")

    # DuckDB, then Polars, each loaded only while it runs (at 90 M records both at once do not fit in memory)
    db, load = duckdb_load(folder, presence, place_rules)
    line("DuckDB: load presence, hour buckets, range keys", load, unit="s")
    single("DuckDB hour buckets", lambda c: duckdb_trace(db, BUCKET_SQL, [c], rules))
    single("DuckDB range join (IEJoin)", lambda c: duckdb_trace(db, RANGE_SQL, [c], rules))
    if records <= 20_000_000:
        single("extra, DuckDB self-join on place", lambda c: duckdb_trace(db, NAIVE_SQL, [c], rules), 3,
               note="(not a fair baseline: no time bucketing)")
    # The range join's batch is not run: at 2 M records it filled 37 GB of spill before its budget ran out.
    batch_line("DuckDB hour buckets", lambda: duckdb_trace(db, BUCKET_SQL, cases, rules))
    db.close()
    # Polars in a child process: at 90 M records its hour-exploded join outgrows this machine's 24 GB and
    # the kernel kills it; that is then its figure, and the benchmark goes on.
    status, value = in_child(lambda: polars_figures(presence, place_rules, cases, rules))
    presence = None
    if status != "ok":
        print(f"  Polars hour buckets: {value}", flush=True)
    else:
        load, singles, (theirs, counts) = value  # type: ignore[misc]
        line("Polars: load presence, hour buckets", load, unit="s")
        for c, (_, one_counts) in zip(cases, singles, strict=False):
            same("Polars", engine_counts(engine.trace_arrays(ix, [c], rules)), one_counts)
        ratio_line(f"one case: Polars hour buckets (median of {len(singles)})", one,
                   statistics.median(t for t, _ in singles), unit="ms")
        same("Polars", ours, counts)
        ratio_line(f"{BATCH} cases: Polars hour buckets", seconds, theirs, note="same counts")
    bench_delta(folder / "store", ix, cases[0], rules)


def bench_delta(path: Path, ix: PresenceIndex, case: IndexCase, rules: ContactRules) -> None:
    """A record written a second ago is traced: the write, the delta rebuild and the trace, timed."""
    from fangkong.tracing.columns import Batch

    store = PresenceStore(path)
    store.snapshot()
    contact = f"delta-{case.person}"
    stays = engine.trajectory(ix, case.person, case.onset - rules.lookback_s, case.isolated)
    stay = stays[-1] if stays else None
    if stay is None:
        print("  (the first case has no stay in its window: delta figure skipped)")
        return
    kinds = np.array([ix.place_kind[ix.places.code(stay.place)]], np.int8)
    batch = Batch([contact], np.zeros(1, np.int32), [stay.place], kinds, np.zeros(1, np.int32),
                  np.array([stay.t_in], np.int64), np.array([stay.t_out], np.int64),
                  pa.DictionaryArray.from_arrays(pa.array(np.zeros(1, np.int8)), pa.array(["platform"])))
    write, _ = timed(lambda: store.write_batch(batch, label="platform:today", open_until=2**40))
    snap, fresh = timed(store.snapshot)
    trace_s, found = timed(lambda: engine.trace(fresh, case, rules, hops=1))  # type: ignore[arg-type]
    assert contact in [c.person for c in found.close], "the record written a second ago was not traced"  # type: ignore[attr-defined]
    assert fresh.main is ix.main or fresh.main.records == ix.main.records  # type: ignore[attr-defined]
    line("a record written a second ago: write the part", write)
    line("… snapshot (delta layer rebuilt, main kept)", snap, note=f"(a city of {ix.records:,} records)")
    line("… trace that finds it as a close contact", trace_s)


def bench_spark(records: int, rules: ContactRules, folder: Path) -> None:
    if not SPARK or shutil.which("java") is None:
        print("\n-- Spark: skipped (no Java, or BENCH_TRACING_SPARK=0)")
        return
    from fangkong.tracing.spark import local_session, trace_store_counts

    batch = generate_city(records, seed=2022).batch
    store = PresenceStore(folder / "spark-store")
    store.write_batch(batch)
    del batch
    ix = store.snapshot()
    cases = make_cases(len(ix.persons), 100, seed=11)
    ours, arrays = timed(lambda: engine.trace_arrays(ix, cases, rules))
    spark = local_session(os.cpu_count() or 1, "8g")
    try:
        theirs, counts = timed(lambda: trace_store_counts(store, cases, rules, spark=spark))
    finally:
        spark.stop()
    want = engine.links_digest(arrays)  # type: ignore[arg-type]
    assert counts == want, f"Spark {counts} differs from the engine's {want}"
    print(f"\n-- Spark (local, {os.cpu_count()} cores) on the same store, {ix.records:,} records, 100 cases, "
          f"hour buckets", flush=True)
    ratio_line("100 cases, 2 hops: Spark from the store's parts", ours, theirs,
               note=f"identical exposures, close contacts and secondary links ({want[2]:,})")


def main() -> None:
    keep_freed_memory()  # as the CLI does: see tracing.index
    rules = contact_rules()
    for records in SIZES:
        for busy in (None, DENSE):
            with tempfile.TemporaryDirectory(prefix="tracing-bench-") as folder:
                bench_city(records, busy, rules, Path(folder))
    with tempfile.TemporaryDirectory(prefix="tracing-bench-") as folder:
        bench_spark(min(SIZES), rules, Path(folder))


if __name__ == "__main__":
    main()
