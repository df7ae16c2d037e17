"""`fangkong leads import FILE --source NAME --json` and `fangkong leads list --json`."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from fangkong.cli import app as cli
from fangkong.people.models import Person
from tests.leads.test_leads_import import messy_sheet


def test_import_then_list_from_the_terminal(db, settings, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FANGKONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(settings.var_dir))
    with db.sessions() as s:
        person = s.execute(select(Person).limit(1)).unique().scalar_one()
    sheet = tmp_path / "第3批.xlsx"
    sheet.write_bytes(messy_sheet(person))
    runner = CliRunner()
    result = runner.invoke(cli, ["leads", "import", str(sheet), "--source", "省指挥部", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["rows_read"] == 4 and summary["leads_created"] == 3 and summary["duplicates_merged"] == 1
    # a bad ID number alone refuses nothing (issue 21): the rows are matched on name and phone
    assert summary["rows_with_problems"] == []
    assert summary["rows_flagged"] == [{"row": 5, "fields": ["id_number"]}, {"row": 6, "fields": ["id_number"]}]
    assert summary["dispatched_per_unit"] == {"酒泉路派出所": 3}
    again = json.loads(runner.invoke(cli, ["leads", "import", str(sheet), "--source", "省指挥部", "--json"]).output)
    assert again["already_imported"] and again["leads_created"] == 0
    listed = json.loads(runner.invoke(cli, ["leads", "list", "--batch", str(summary["batch"]), "--json",
                                             "--purpose", "上报核查结果"]).output)
    assert len(listed) == 3
    mine = next(x for x in listed if x["id_number"] == person.id_number)
    assert mine["district"] == "620102"
    assert listed[0]["source_row"] == 4 and listed[0]["status"] == "dispatched" and listed[0]["due_at"]


def test_unreadable_file_is_a_clear_error(settings, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FANGKONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(settings.var_dir))
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a workbook")
    result = CliRunner().invoke(cli, ["leads", "import", str(bad), "--source", "省指挥部"])
    assert result.exit_code == 2 and "file" in result.output
