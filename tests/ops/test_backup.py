"""Issue 21: the backup the deployment guide schedules can be restored: deploy/backup.sh dumps a live
database, pg_restore loads it into an empty one, and the platform runs on it with the audit chain
intact (PostgreSQL only: SQLite is the demo's database)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core.audit_anchor import verify_anchored
from fangkong.core.db import Database
from fangkong.demo.build import DEMO_PASSWORD
from fangkong.people.models import Person
from tests.conftest import TEST_AUDIT_KEY, _pg_admin, _pg_url, make_settings


def _libpq(url: str) -> dict[str, str]:
    parsed = sa.engine.make_url(url)
    return {"PGHOST": parsed.host or "127.0.0.1", "PGPORT": str(parsed.port or 5432),
            "PGUSER": parsed.username or "postgres", "PGDATABASE": parsed.database or ""}


def test_backup_script_dump_restores_into_a_working_platform(settings, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("backups are PostgreSQL's (pg_dump)")
    with db.sessions() as s:
        persons = s.execute(sa.select(sa.func.count(Person.id))).scalar_one()
        entries = s.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    backups = tmp_path / "backups"
    env = {**os.environ, **_libpq(settings.database_url), "FANGKONG_BACKUP_DIR": str(backups),
           "FANGKONG_VAR_DIR": str(settings.var_dir)}
    script = Path(__file__).resolve().parents[2] / "deploy" / "backup.sh"
    subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True)
    dumps = list(backups.glob("fangkong-*.dump"))
    assert len(dumps) == 1 and oct(dumps[0].stat().st_mode & 0o777) == "0o600"
    admin = _pg_admin()
    assert admin is not None
    name = f"fk_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        restored_url = _pg_url(name)
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", name, str(dumps[0])],
                       env={**env, "PGDATABASE": name}, check=True, capture_output=True)
        restored = Database(restored_url, audit_key=TEST_AUDIT_KEY)
        restored_settings = make_settings(tmp_path / "restored", restored_url)
        with restored.sessions() as s:
            assert s.execute(sa.select(sa.func.count(Person.id))).scalar_one() == persons
            assert s.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() >= entries
            report = verify_anchored(s, restored_settings)
        assert report.ok, report
        with TestClient(create_app(restored_settings, restored)) as client:
            assert client.get("/readyz").json()["status"] == "ready"
            token = client.post("/api/v1/auth/token", json={"username": "command", "password": DEMO_PASSWORD})
            assert token.status_code == 200  # the users and their passwords came back
        restored.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
