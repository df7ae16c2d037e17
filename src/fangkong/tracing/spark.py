"""The same trace on Apache Spark (PySpark), for a province's data that does not fit one machine (issue 7).

The rule is written as DataFrame joins on place and hour with the overlap filter (issue 22: a join on
place alone explodes at busy places); results are collected and put in the same canonical order as the
embedded engine's, so both give exactly the same Trace. Works on code columns (person, place: ints) like
the store's Parquet parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fangkong.tracing.engine import DIGEST_PRIME
from fangkong.tracing.index import Keys, PresenceIndex
from fangkong.tracing.terms import NO_ISOLATION, ContactRules, Exposure, IndexCase, PersonKey, Trace, sorted_trace

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from fangkong.tracing.store import PresenceStore


@dataclass(frozen=True)
class Dictionaries:
    """What Spark needs besides the records: person and place keys by code, and each place's kind."""

    persons: Keys
    places: Keys
    place_kind: np.ndarray


def local_session(cores: int = 1, memory: str = "1g") -> SparkSession:
    """Return a local SparkSession sized for tests and single-machine runs.

    No broadcast joins: the hour-exploded stays are far larger than Spark's size estimate of them, and a
    broadcast past the driver's memory fails the job (seen at 1 M records with 1 GB).
    """
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(f"local[{cores}]").appName("fangkong-tracing")
            .config("spark.driver.memory", memory).config("spark.sql.autoBroadcastJoinThreshold", "-1")
            .config("spark.sql.shuffle.partitions", str(max(2, cores * 2)))
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate())


def session() -> SparkSession:
    """Return the session `fangkong trace --engine spark` uses: a cluster's when FANGKONG_SPARK_MASTER names
    one (yarn, spark://host:7077, k8s://…; the rest of the configuration comes from spark-defaults.conf
    or spark-submit), otherwise local on every core of this machine."""
    import os

    from pyspark.sql import SparkSession

    master = os.environ.get("FANGKONG_SPARK_MASTER", "").strip()
    if not master:
        return local_session(os.cpu_count() or 1, os.environ.get("FANGKONG_SPARK_MEMORY", "4g"))
    return SparkSession.builder.master(master).appName("fangkong-tracing").getOrCreate()


def presence_frame(spark: SparkSession, ix: PresenceIndex) -> DataFrame:
    """Return the index's records as a DataFrame (person, place, t_in, t_out) of code columns."""
    import pyarrow as pa

    columns = [np.concatenate(c) for c in zip(ix.main.columns(), ix.delta.columns(), strict=True)]
    table = pa.table(dict(zip(("person", "place", "t_in", "t_out"), columns, strict=True)))
    return spark.createDataFrame(table)


def rules_frame(spark: SparkSession, ix: PresenceIndex | Dictionaries, rules: ContactRules) -> DataFrame:
    """Return τ and m per place code (from the place's kind)."""
    import pyarrow as pa

    tolerance, overlap = rules.arrays()
    return spark.createDataFrame(pa.table({"place": np.arange(len(ix.place_kind), dtype=np.int64),
                                           "tol": tolerance[ix.place_kind], "m": overlap[ix.place_kind]}))


def _cases_frame(spark: SparkSession, ix: PresenceIndex | Dictionaries, cases: Sequence[IndexCase],
                 rules: ContactRules) -> DataFrame:
    import pyarrow as pa

    def iso(value: int | None) -> int:
        return NO_ISOLATION if value is None else value

    return spark.createDataFrame(pa.table({
        "case_id": np.arange(len(cases), dtype=np.int64),
        "idx": np.array([ix.persons.code(c.person) for c in cases], np.int64),
        "w0": np.array([c.onset - rules.lookback_s for c in cases], np.int64),
        "w1": np.array([iso(c.isolated) for c in cases], np.int64),
        "ciso": np.array([iso(c.contacts_isolated) for c in cases], np.int64)}))


BUCKET = 3600  # records and stays are joined by place and hour (issue 22), not by place alone


def _buckets(presence: DataFrame) -> DataFrame:
    """Return each record once per hour it covers: (other, place, bucket, c, d)."""
    from pyspark.sql import functions as F

    return presence.select(F.col("person").alias("other"), "place", F.col("t_in").alias("c"),
                           F.col("t_out").alias("d"),
                           F.explode(F.sequence(F.floor(F.col("t_in") / BUCKET).cast("long"),
                                                F.floor(F.col("t_out") / BUCKET).cast("long"))).alias("bucket"))


def _exposed(stays: DataFrame, buckets: DataFrame, rules: DataFrame) -> DataFrame:
    """Return stays (case_id, idx, place, a, b, …) joined to every record there that meets the rule.

    The widened stay is cut into the hours it covers and joined to the records by place and hour; a pair
    is kept in the one hour its overlap starts, so each pair comes out once.
    """
    from pyspark.sql import functions as F

    widened = (stays.join(rules, "place").withColumn("wa", F.col("a") - F.col("tol"))
               .withColumn("wb", F.col("b") + F.col("tol"))
               .withColumn("bucket", F.explode(F.sequence(F.floor(F.col("wa") / BUCKET).cast("long"),
                                                          F.floor(F.col("wb") / BUCKET).cast("long")))))
    joined = widened.join(buckets, ["place", "bucket"])
    start = F.greatest(F.col("wa"), F.col("c"))
    end = F.least(F.col("wb"), F.col("d"))
    return (joined.withColumn("s", start).withColumn("e", end)
            .where((F.col("e") - F.col("s") >= F.col("m")) & (F.col("other") != F.col("idx"))
                   & (F.floor(F.col("s") / BUCKET) == F.col("bucket"))))


def trace_frames(spark: SparkSession, presence: DataFrame, rules: DataFrame, cases: DataFrame, hops: int = 2,
                 contact_isolation: DataFrame | None = None) -> tuple[DataFrame, DataFrame | None]:
    """Return (exposures: case_id, person, s, e, place; secondary: case_id, person, via) as DataFrames."""
    from pyspark.sql import functions as F

    index_stays = (cases.join(presence, presence["person"] == cases["idx"])
                   .where((F.col("t_in") < F.col("w1")) & (F.col("t_out") >= F.col("w0")))
                   .select("case_id", "idx", "place", F.greatest("t_in", "w0").alias("a"),
                           F.least("t_out", "w1").alias("b")))
    buckets = _buckets(presence)
    exposures = (_exposed(index_stays, buckets, rules)
                 .select("case_id", F.col("other").alias("person"), "s", "e", "place").distinct())
    if hops < 2:
        return exposures, None
    close = exposures.groupBy("case_id", "person").agg(F.min("s").alias("first"))
    windows = close.join(cases.select("case_id", "idx", "ciso"), "case_id")
    if contact_isolation is not None:
        windows = (windows.join(contact_isolation, "person", "left")
                   .withColumn("ciso", F.least("ciso", F.coalesce("iso", F.lit(NO_ISOLATION)))))
    contact_stays = (windows.join(presence.select("person", "place", "t_in", "t_out"), "person")
                     .where((F.col("t_in") < F.col("ciso")) & (F.col("t_out") >= F.col("first")))
                     .select("case_id", "idx", F.col("person").alias("via"), "place",
                             F.greatest("t_in", "first").alias("a"), F.least("t_out", "ciso").alias("b")))
    secondary = (_exposed(contact_stays, buckets, rules)
                 .select("case_id", F.col("other").alias("person"), "via").distinct()
                 .join(close.select("case_id", "person"), ["case_id", "person"], "left_anti"))
    return exposures, secondary


def trace_batch(ix: PresenceIndex, cases: Sequence[IndexCase], rules: ContactRules, hops: int = 2,
                contact_isolation: Mapping[PersonKey, int] | None = None,
                spark: SparkSession | None = None) -> list[Trace]:
    """Return the trace of each case computed by Spark (a local session unless one is given)."""
    import pyarrow as pa

    spark = spark or local_session()
    isolation = None
    if contact_isolation:
        codes = {ix.persons.code(p): t for p, t in contact_isolation.items() if ix.persons.code(p) >= 0}
        isolation = spark.createDataFrame(pa.table({"person": np.array(list(codes), np.int64),
                                                    "iso": np.array(list(codes.values()), np.int64)}))
    exposures, secondary = trace_frames(spark, presence_frame(spark, ix), rules_frame(spark, ix, rules),
                                        _cases_frame(spark, ix, cases, rules), hops, isolation)
    return _collect(ix, cases, rules, exposures, secondary)


def trace_store(store: PresenceStore, cases: Sequence[IndexCase], rules: ContactRules, hops: int = 2,
                spark: SparkSession | None = None) -> list[Trace]:
    """Return the traces computed by Spark straight from a store's Parquet parts (nothing indexed in
    memory: the records may be larger than this machine); only the dictionaries are read here."""
    spark = spark or session()
    dicts, exposures, secondary = _store_frames(store, cases, rules, hops, spark)
    return _collect(dicts, cases, rules, exposures, secondary)


def trace_store_counts(store: PresenceStore, cases: Sequence[IndexCase], rules: ContactRules,
                       spark: SparkSession | None = None) -> tuple[int, int, int, int]:
    """Return engine.links_digest's figures computed by Spark from a store (the benchmark's equality check)."""
    from pyspark.sql import functions as F

    spark = spark or local_session()
    _dicts, exposures, secondary = _store_frames(store, cases, rules, 2, spark)
    assert secondary is not None
    exposures = exposures.cache()
    close = exposures.select("case_id", "person").distinct().count()
    mixed = ((F.col("case_id") * 1_000_003 + F.col("person")) * 999_983 + F.col("via")) % DIGEST_PRIME
    row = secondary.agg(F.count(F.lit(1)).alias("n"), F.sum(mixed).alias("sum")).collect()[0]
    result = exposures.count(), close, int(row["n"]), int(row["sum"] or 0)
    exposures.unpersist()
    return result


def _store_frames(store: PresenceStore, cases: Sequence[IndexCase], rules: ContactRules, hops: int,
                  spark: SparkSession) -> tuple[Dictionaries, DataFrame, DataFrame | None]:
    from pyspark.sql import functions as F

    persons, places, kinds = store.dictionaries()
    dicts = Dictionaries(persons, places, kinds)
    paths = [str(p) for p in store.part_paths()]
    if paths:
        presence = spark.read.parquet(*paths).select(
            F.col("person").cast("long").alias("person"), F.col("place").cast("long").alias("place"),
            F.col("t_in").cast("long").alias("t_in"), F.col("t_out").cast("long").alias("t_out"))
    else:
        presence = spark.createDataFrame([], "person long, place long, t_in long, t_out long")
    exposures, secondary = trace_frames(spark, presence, rules_frame(spark, dicts, rules),
                                        _cases_frame(spark, dicts, cases, rules), hops)
    return dicts, exposures, secondary


def _collect(ix: PresenceIndex | Dictionaries, cases: Sequence[IndexCase], rules: ContactRules,
             exposures: DataFrame, secondary: DataFrame | None) -> list[Trace]:
    """Return Spark's result rows as Traces in the embedded engine's canonical order."""
    close: list[dict[PersonKey, set[Exposure]]] = [{} for _ in cases]
    for row in exposures.collect():
        exposure = Exposure(row["s"], row["e"], ix.places.values[row["place"]])
        close[row["case_id"]].setdefault(ix.persons.values[row["person"]], set()).add(exposure)
    via: list[dict[PersonKey, set[PersonKey]]] = [{} for _ in cases]
    for row in secondary.collect() if secondary is not None else []:
        via[row["case_id"]].setdefault(ix.persons.values[row["person"]],
                                       set()).add(ix.persons.values[row["via"]])
    return [sorted_trace(c.person, c.onset - rules.lookback_s, c.isolated, close[i], via[i])
            for i, c in enumerate(cases)]
