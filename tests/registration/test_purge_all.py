"""One retention purge for the platform (issue 17, finding 7): visits, passages and uploaded sheets (full ID
numbers in var/uploads) were never purged. `fangkong purge` and the scheduler's job remove what is past its
period, say how much, and write one audit row."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from fangkong.capabilities import platform
from fangkong.checkpoints.models import Passage, PassagePerson
from fangkong.cli import app as cli
from fangkong.core.audit import AuditEntry
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import utcnow
from fangkong.core.retention import PURGE_JOB, purge
from fangkong.core.sheets import keep_upload
from fangkong.registration.venues.models import Visit


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def _passage(db, personas) -> None:  # type: ignore[no-untyped-def]
    from fangkong.checkpoints.models import Checkpoint

    with db.sessions() as s:
        cp = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
    headers = personas.headers("checkpoint")
    r = personas.browser("checkpoint").post(f"/api/v1/checkpoints/{cp}/passages", headers=headers,
                                            json={"client_id": "purge-1", "plate": "甘A12345", "people": [
                                                {"name": "过路", "id_number": "11010519491231002X",
                                                 "temperature_c": 36.5, "disposition": "passed", "role": "driver"}]})
    assert r.status_code == 201, r.text


def test_visits_passages_and_uploads_past_their_period_are_purged(db, settings, personas) -> None:
    _passage(db, personas)
    sheet = keep_upload(settings.var_dir, "old.csv", "姓名,身份证号码\n张三,11010519491231002X\n".encode())
    path = settings.var_dir / "uploads" / f"{sheet}.csv"
    old = time.time() - (settings.upload_retention_days + 1) * 86400
    os.utime(path, (old, old))
    fresh = keep_upload(settings.var_dir, "new.csv", "姓名\n李四\n".encode())
    assert _count(db, Visit) > 0 and _count(db, Passage) > 0
    with acting_as(Actor(username="system")), db.unit_of_work() as s:  # nothing is past its period today
        kept = purge(s, settings, platform().purgers)
    assert kept["uploads"] == 1 and not path.exists() and (settings.var_dir / "uploads" / f"{fresh}.csv").exists()
    later = utcnow() + timedelta(days=max(settings.visit_retention_days, settings.passage_retention_days) + 40)
    with acting_as(Actor(username="system")), db.unit_of_work() as s:
        gone = purge(s, settings, platform().purgers, later)
    assert gone["visits"] > 0 and gone["passages"] > 0 and gone["passage_people"] > 0
    assert _count(db, Visit) == _count(db, Passage) == _count(db, PassagePerson) == 0
    with db.sessions() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.action == "purge", AuditEntry.object_type == "retention")
                         ).scalars().all()
    assert len(rows) == 2 and str(gone["passages"]) in rows[-1].detail


def test_the_purge_runs_as_a_scheduler_job_and_a_command(settings, monkeypatch) -> None:
    assert PURGE_JOB in platform().jobs
    monkeypatch.setenv("FANGKONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(settings.var_dir))
    result = CliRunner().invoke(cli, ["purge"])
    assert result.exit_code == 0, result.output
    assert "visits: 0 removed" in result.output and "passages: 0 removed" in result.output
