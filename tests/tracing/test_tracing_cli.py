"""`fangkong trace` and `fangkong presence`: the issue's JSON shape, batches, imports, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fangkong.tracing.cli import register

PRESENCE = """person,place,place_kind,t_in,t_out,source
1,cafe,venue,2022-03-01T09:00:00+08:00,2022-03-01T10:00:00+08:00,scan
2,cafe,venue,2022-03-01T09:30:00+08:00,2022-03-01T11:00:00+08:00,scan
2,bus-7,vehicle,2022-03-01T12:00:00+08:00,2022-03-01T12:30:00+08:00,ticket
3,bus-7,vehicle,2022-03-01T12:10:00+08:00,2022-03-01T12:40:00+08:00,ticket
"""


@pytest.fixture()
def app() -> typer.Typer:
    cli = typer.Typer()
    from fangkong.capabilities import platform

    register(cli, platform())
    return cli


@pytest.fixture()
def presence(tmp_path: Path) -> Path:
    path = tmp_path / "presence.csv"
    path.write_text(PRESENCE, encoding="utf-8")
    return path


def test_trace_json_has_the_issue_shape(app: typer.Typer, presence: Path) -> None:
    result = CliRunner().invoke(app, ["trace", "--presence", str(presence), "--index", "1",
                                      "--onset", "2022-03-01T18:00+08:00", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "index": 1,
        "close": [{"person": 2, "first_exposure": "2022-03-01T09:30:00+08:00",
                   "exposures": [{"place": "cafe", "start": "2022-03-01T09:30:00+08:00",
                                  "end": "2022-03-01T10:05:00+08:00"}]}],
        "secondary": [{"person": 3, "via": [2]}],
    }


def test_one_hop_and_overrides(app: typer.Typer, presence: Path) -> None:
    result = CliRunner().invoke(app, ["trace", "--presence", str(presence), "--index", "1", "--onset", "2022-03-01",
                                      "--hops", "1", "--tolerance-minutes", "0", "--min-overlap-minutes", "31",
                                      "--profile", "edition-8", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"index": 1, "close": [], "secondary": []}


def test_index_file_traces_a_batch_into_a_json_list(app: typer.Typer, presence: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text("person,onset,isolated\n1,2022-03-01T18:00+08:00,\n3,2022-03-02T00:00+08:00,"
                     "2022-03-02T01:00+08:00\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["trace", "--presence", str(presence), "--index-file", str(cases), "--json"])
    assert result.exit_code == 0, result.output
    traces = json.loads(result.output)
    assert [t["index"] for t in traces] == [1, 3]
    # 2 met 3 on the bus at 12:10; 2's window opens then, after the cafe, so 1 is not 3's secondary contact
    assert [c["person"] for c in traces[1]["close"]] == [2] and traces[1]["secondary"] == []


def test_import_into_a_store_then_trace_it_and_read_a_trajectory(app: typer.Typer, presence: Path,
                                                                   tmp_path: Path) -> None:
    store = tmp_path / "store"
    runner = CliRunner()
    first = runner.invoke(app, ["presence", "import", str(presence), "--store", str(store)])
    assert first.exit_code == 0 and "4 presence records imported" in first.output, first.output
    again = runner.invoke(app, ["presence", "import", str(presence), "--store", str(store)])
    assert "already imported" in again.output
    table = runner.invoke(app, ["trace", "--presence", str(store), "--index", "1", "--onset", "2022-03-01T18:00"])
    assert table.exit_code == 0 and "Close contacts" in table.output and "Secondary contacts" in table.output
    stays = runner.invoke(app, ["presence", "trajectory", "2", "--store", str(store), "--json"])
    assert [s["place"] for s in json.loads(stays.output)] == ["cafe", "bus-7"]


def test_bad_file_rows_and_bad_options_are_clear(app: typer.Typer, presence: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(PRESENCE + "4,cafe,venue,soon,2022-03-01T10:00:00+08:00,scan\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["presence", "import", str(bad), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "row 5, t_in" in result.output
    unknown = CliRunner().invoke(app, ["trace", "--presence", str(presence), "--index", "1", "--onset", "2022-03-01",
                                       "--profile", "edition-99"])
    assert unknown.exit_code != 0 and "edition-9" in unknown.output


def test_generate_writes_a_file_that_imports(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "city.parquet"
    runner = CliRunner()
    assert runner.invoke(app, ["presence", "generate", str(out), "--records", "3000"]).exit_code == 0
    result = runner.invoke(app, ["presence", "import", str(out), "--store", str(tmp_path / "store")])
    assert result.exit_code == 0 and "presence records imported" in result.output, result.output


@pytest.mark.spark
def test_engine_spark_on_a_store_prints_the_same_json(app: typer.Typer, presence: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    store = tmp_path / "store"
    assert CliRunner().invoke(app, ["presence", "import", str(presence), "--store", str(store)]).exit_code == 0
    args = ["trace", "--presence", str(store), "--index", "1", "--onset", "2022-03-01T18:00+08:00", "--json"]
    embedded = CliRunner().invoke(app, [*args, "--engine", "embedded"])
    spark = CliRunner().invoke(app, [*args, "--engine", "spark"])
    assert spark.exit_code == 0, spark.output
    assert json.loads(spark.output) == json.loads(embedded.output) and json.loads(embedded.output)["close"]


def test_out_writes_both_hops_to_parquet_as_the_json_says(app: typer.Typer, presence: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    args = ["trace", "--presence", str(presence), "--index", "1", "--onset", "2022-03-01T18:00+08:00"]
    want = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "contacts.parquet")])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(tmp_path / "contacts.parquet").to_pylist()
    close = [(r["person"], r["place"], r["start"].isoformat()) for r in rows if r["hop"] == 1]
    assert close == [(str(c["person"]), e["place"], e["start"]) for c in want["close"] for e in c["exposures"]]
    secondary = sorted((r["person"], r["via"]) for r in rows if r["hop"] == 2)
    assert secondary == sorted((str(s["person"]), str(v)) for s in want["secondary"] for v in s["via"])
    assert secondary and all(r["index"] == "1" for r in rows)
