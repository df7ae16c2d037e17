"""The presence store: round trip, restart, idempotent import by content, row-level validation errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangkong.core.presence import PresenceRecord
from fangkong.tracing import engine
from fangkong.tracing.columns import ImportFailed
from fangkong.tracing.store import PresenceStore
from fangkong.tracing.terms import IndexCase, Stay, contact_rules

CSV = """person,place,place_kind,t_in,t_out,source
42,cafe-1,venue,2022-03-01T09:00:00+08:00,2022-03-01T10:00:00+08:00,scan
43,cafe-1,venue,2022-03-01T09:30:00+08:00,2022-03-01T11:00:00+08:00,scan
P-007,cafe-1,venue,1646100000,1646103600,scan
0042,gate-9,checkpoint,2022-03-01T01:00:00Z,2022-03-01T01:01:00Z,
"""


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def write(tmp_path: Path, text: str, name: str = "stays.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_import_round_trips_keys_times_and_kinds(tmp_path: Path) -> None:
    store = PresenceStore(tmp_path / "store")
    result = store.import_file(write(tmp_path, CSV))
    assert (result.rows, result.already_imported) == (4, False)
    ix = store.snapshot()
    assert engine.trajectory(ix, 42) == [Stay("cafe-1", "venue", at("2022-03-01T09:00:00+08:00"),
                                              at("2022-03-01T10:00:00+08:00"))]
    assert engine.trajectory(ix, "0042") == [Stay("gate-9", "checkpoint", at("2022-03-01T01:00:00+00:00"),
                                                  at("2022-03-01T01:01:00+00:00"))]
    assert engine.trajectory(ix, "P-007")[0].t_in == 1646100000
    traced = engine.trace(ix, IndexCase(42, at("2022-03-01T12:00:00+08:00")), contact_rules())
    # 43 from 09:30; P-007 arrived at 10:00 (epoch 1646100000), 5 minutes before the widened index stay ended
    assert [(c.person, c.first_exposure) for c in traced.close] == [
        (43, at("2022-03-01T09:30:00+08:00")), ("P-007", at("2022-03-01T10:00:00+08:00"))]


def test_the_store_survives_a_restart_and_reuses_its_index(tmp_path: Path) -> None:
    first = PresenceStore(tmp_path / "store")
    first.import_file(write(tmp_path, CSV))
    before = engine.trajectory(first.snapshot(), 43)
    again = PresenceStore(tmp_path / "store")
    ix = again.snapshot()
    assert engine.trajectory(ix, 43) == before and again.records == 4
    assert (tmp_path / "store" / "index" / "current.json").exists()
    assert ix.main.records == 4 and ix.delta.records == 0


def test_import_is_idempotent_by_content_not_by_name(tmp_path: Path) -> None:
    store = PresenceStore(tmp_path / "store")
    store.import_file(write(tmp_path, CSV))
    assert store.import_file(write(tmp_path, CSV, "renamed.csv")).already_imported
    assert store.records == 4


def test_platform_appends_join_the_imports_and_refresh_the_snapshot(tmp_path: Path) -> None:
    store = PresenceStore(tmp_path / "store")
    store.import_file(write(tmp_path, CSV))
    store.snapshot()
    start = datetime(2022, 3, 1, 1, 30, tzinfo=UTC)
    store.append([PresenceRecord(44, "cafe-1", "venue", start, start.replace(hour=2))])
    ix = store.snapshot()
    assert ix.records == 5
    traced = engine.trace(ix, IndexCase(42, at("2022-03-01T12:00:00+08:00")), contact_rules())
    assert 44 in [c.person for c in traced.close]


def test_parquet_with_int_persons_and_zoned_timestamps_imports(tmp_path: Path) -> None:
    table = pa.table({"person": [1, 2], "place": ["bus-1", "bus-1"], "place_kind": ["vehicle", "vehicle"],
                      "t_in": pa.array([1646100000, 1646100000], pa.timestamp("s", "UTC")),
                      "t_out": pa.array([1646103600, 1646101000], pa.timestamp("s", "UTC"))})
    pq.write_table(table, tmp_path / "bus.parquet")
    store = PresenceStore(tmp_path / "store")
    assert store.import_file(tmp_path / "bus.parquet").rows == 2
    assert [c.person for c in engine.trace(store.snapshot(), IndexCase(1, 1646100000), contact_rules()).close] == [2]


@pytest.mark.parametrize(("line", "column", "words"), [
    ("1,cafe-1,restaurant,1646100000,1646103600,x", "place_kind", "must be one of"),
    ("1,cafe-1,venue,2022-03-01T09:00:00,1646103600,x", "t_in", "ISO 8601 with an offset"),
    ("1,cafe-1,venue,yesterday,1646103600,x", "t_in", "ISO 8601"),
    ("1,cafe-1,venue,1646103600,1646100000,x", "t_out", "before t_in"),
    (",cafe-1,venue,1646100000,1646103600,x", "person", "empty"),
    ("1,cafe-1,venue,1646100000,99999999999,x", "t_out", "outside"),
    ("1,cafe-1,grid,1646100000,1646103600,x", "place_kind", "earlier row"),
])
def test_bad_rows_are_named_and_nothing_is_imported(tmp_path: Path, line: str, column: str, words: str) -> None:
    text = "person,place,place_kind,t_in,t_out,source\n2,cafe-1,venue,1646100000,1646103600,x\n" + line + "\n"
    store = PresenceStore(tmp_path / "store")
    with pytest.raises(ImportFailed) as caught:
        store.import_file(write(tmp_path, text))
    assert any(e.row == 2 and e.column == column for e in caught.value.errors), str(caught.value)
    assert words in str(caught.value)
    assert store.records == 0


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="t_out: column is missing"):
        PresenceStore(tmp_path / "s").import_file(write(tmp_path, "person,place,place_kind,t_in\n1,a,venue,0\n"))


def test_a_place_keeps_its_kind_across_files(tmp_path: Path) -> None:
    store = PresenceStore(tmp_path / "store")
    store.import_file(write(tmp_path, CSV))
    with pytest.raises(ValueError, match="cafe-1"):
        store.import_file(write(tmp_path, CSV.replace("venue", "grid"), "other.csv"))


def test_progress_reports_the_whole_file(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    path = write(tmp_path, CSV)
    PresenceStore(tmp_path / "store").import_file(path, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (path.stat().st_size, path.stat().st_size)


def _stay(person: object, place: str, start: datetime, minutes: int) -> PresenceRecord:
    return PresenceRecord(person, place, "venue", start, start + timedelta(minutes=minutes))  # type: ignore[arg-type]


def test_a_record_written_a_second_ago_is_traced_from_the_delta_without_rebuilding_the_main_layer(
        tmp_path: Path) -> None:
    store = PresenceStore(tmp_path / "store")
    store.import_file(write(tmp_path, CSV))
    main = store.snapshot().main
    start = datetime(2022, 3, 1, 1, 30, tzinfo=UTC)
    far = int(time.time()) + 86_400  # an open platform day: rewritten until tomorrow
    store.append([_stay(44, "cafe-1", start, 30)], label="platform:2022-03-01", open_until=far)
    ix = store.snapshot()
    assert ix.main is main and ix.delta.records == 1  # the main layer was not rebuilt
    assert 44 in [c.person for c in engine.trace(ix, IndexCase(42, at("2022-03-01T12:00:00+08:00")),
                                                  contact_rules()).close]
    # a check-out that arrives later rewrites the day's part: the stay is corrected, not doubled
    store.append([_stay(44, "cafe-1", start - timedelta(hours=1), 5)], label="platform:2022-03-01", open_until=far)
    fixed = store.snapshot()
    assert fixed.main is main and fixed.delta.records == 1
    assert 44 not in [c.person for c in engine.trace(fixed, IndexCase(42, at("2022-03-01T12:00:00+08:00")),
                                                      contact_rules()).close]


def test_compaction_folds_final_parts_and_leaves_open_days_in_the_delta(tmp_path: Path) -> None:
    store = PresenceStore(tmp_path / "store")
    store.import_file(write(tmp_path, CSV))
    store.snapshot()
    start = datetime(2022, 3, 1, 1, 30, tzinfo=UTC)
    now = int(time.time())
    store.append([_stay(45, "cafe-1", start, 30)], label="platform:2022-02-28", open_until=now - 10)
    store.append([_stay(44, "cafe-1", start, 30)], label="platform:2022-03-01", open_until=now + 86_400)
    assert store.needs_compaction(now)
    assert store.compact(now) == 5
    assert not store.needs_compaction(now)
    other = PresenceStore(tmp_path / "store")  # another worker reads the new main layer from disk
    ix = other.snapshot()
    assert (ix.main.records, ix.delta.records) == (5, 1)
    traced = engine.trace(ix, IndexCase(42, at("2022-03-01T12:00:00+08:00")), contact_rules())
    assert {44, 45} <= {c.person for c in traced.close}


def test_purge_drops_parts_past_retention_and_the_snapshot_follows(tmp_path: Path) -> None:
    store = PresenceStore(tmp_path / "store")
    store.import_file(write(tmp_path, CSV))  # March 2022
    recent = datetime.now(UTC) - timedelta(days=1)
    store.append([_stay(46, "cafe-9", recent, 30)], label="platform:recent")
    assert store.snapshot().records == 5
    assert store.purge_before(int((datetime.now(UTC) - timedelta(days=28)).timestamp())) == 4
    ix = store.snapshot()
    assert ix.records == 1 and engine.trajectory(ix, 43) == [] and len(engine.trajectory(ix, 46)) == 1
    assert "platform:recent" in store.labels()


def test_the_retention_purge_rebuilds_the_main_layer_so_traces_do_not(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from fangkong.tracing.sync import purge_presence

    store = PresenceStore(tmp_path / "store")
    store.import_file(write(tmp_path, CSV))  # March 2022: past any retention today
    recent = datetime.now(UTC) - timedelta(days=1)
    store.append([_stay(46, "cafe-9", recent, 30)], label="platform:recent")
    store.compact()
    worker = PresenceStore(tmp_path / "store")  # a web worker with its own view
    assert worker.snapshot().records == 5
    settings = SimpleNamespace(presence_dir=tmp_path / "store", presence_retention_days=28)
    assert purge_presence(None, settings, datetime.now(UTC)) == {"presence_records": 4}  # type: ignore[arg-type]
    ix = worker.snapshot()
    assert (ix.main.records, ix.delta.records) == (1, 0)
    assert isinstance(ix.main.rec, np.memmap)  # loaded from disk, not rebuilt by the worker
