"""A real city from an empty database (issue 21), by the README's commands: migrate, set up the units of
any GB/T 2260 city with its stations from a CSV and the first admin, then log in."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.cli import app as cli
from fangkong.core.db import Database
from fangkong.core.models import Unit, UnitArea
from tests.conftest import PG_SERVER, REQUIRE_PG, _pg_admin, _pg_url
from tests.support import login

STATIONS = "派出所,区县代码,辖区街道\n东岗派出所,620102,东岗西路街道;东岗东路街道\n西站派出所,七里河区,西站街道\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'city.db'}"
        return
    admin = _pg_admin()
    if admin is None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL not reachable at {PG_SERVER}")
        pytest.skip("PostgreSQL not reachable")
    name = f"fk_setup_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_a_city_is_set_up_from_an_empty_database(empty_url: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = {"FANGKONG_DATABASE_URL": empty_url, "FANGKONG_VAR_DIR": str(tmp_path),
           "FANGKONG_NEW_PASSWORD": "s3cret-pass",
           "FANGKONG_SECRET_KEY": "s" * 40, "FANGKONG_ARGON2_MEMORY_KIB": "64", "FANGKONG_ARGON2_TIME_COST": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    stations = tmp_path / "stations.csv"
    stations.write_text(STATIONS, encoding="utf-8-sig")
    r = runner.invoke(cli, ["setup", "--city", "620100", "--stations", str(stations), "--admin", "admin"])
    assert r.exit_code == 0, r.output
    again = runner.invoke(cli, ["setup", "--city", "620100", "--stations", str(stations)])
    assert again.exit_code == 0 and "0 units added" in again.output  # idempotent
    r = runner.invoke(cli, ["users", "create", "--username", "zhang", "--role", "station", "--unit",
                            "620102-东岗派出所", "--name", "张警官"])
    assert r.exit_code == 0, r.output
    bad = runner.invoke(cli, ["setup", "--city", "999999"])
    assert bad.exit_code == 2
    from fangkong.core.settings import load_settings

    db = Database(empty_url, audit_key=load_settings().audit_key)
    try:
        with db.sessions() as s:
            names = set(s.execute(sa.select(Unit.name)).scalars())
            streets = set(s.execute(sa.select(UnitArea.name)).scalars())
        assert {"兰州市公安局", "城关分局", "七里河分局", "榆中县公安局", "东岗派出所", "西站派出所",
                "兰州市卫生健康委员会"} <= names
        assert {"东岗西路街道", "东岗东路街道", "西站街道"} <= streets
        app = create_app(load_settings(), db)
        with TestClient(app) as c:
            assert login(c, "zhang", "s3cret-pass").status_code == 303
            assert c.get("/").status_code == 200
    finally:
        db.dispose()
    _ = os
