"""The fangkong command: demo build, migrations, user creation; all honour FANGKONG_DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from fangkong.cli import app as cli


def test_demo_build_only_makes_a_city_with_logins(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_ARGON2_MEMORY_KIB", "64")
    result = CliRunner().invoke(cli, ["demo", "--build-only", "--size", "120", "--seed", "3"])
    assert result.exit_code == 0, result.output
    for username in ("admin", "auditor", "command", "district", "station", "checkpoint", "health", "community"):
        assert username in result.output
    engine = create_engine(url)
    with engine.connect() as conn:
        # the demo's residents; the month of checkpoint traffic adds travellers' files (unconfirmed)
        assert conn.execute(text("SELECT count(*) FROM persons WHERE unconfirmed = false")).scalar() == 120
        units = conn.execute(text("SELECT name FROM units")).scalars().all()
    engine.dispose()
    assert {"城关分局", "七里河分局", "西固分局", "安宁分局", "红古分局"} <= set(units)


def test_db_upgrade_and_users_create(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO units (code, name, kind, path, created_at) "
                          "VALUES ('620100', '兰州市公安局', 'city', '/1/', '2020-01-01 00:00:00')"))
    engine.dispose()
    ok = runner.invoke(cli, ["users", "create", "--username", "root.admin", "--role", "admin", "--unit", "620100",
                             "--password", "correct-horse-battery"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(cli, ["users", "create", "--username", "x", "--role", "admin", "--unit", "nope",
                              "--password", "correct-horse-battery"])
    assert bad.exit_code == 2 and "unit_id" in bad.output
