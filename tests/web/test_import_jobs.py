"""Issue 17, uploads: a big sheet is read, checked and imported as a background job with a progress page
(pages and API), all or nothing, one job runner shared with the exports; its file is gone afterwards, and
a worker that starts again fails the jobs a killed worker left running."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, update

from fangkong.core.audit import AuditEntry
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import utcnow
from fangkong.core.imports import ImportJob, jobs_dir
from fangkong.core.jobs import worker_id
from fangkong.core.models import User
from fangkong.passes.applications import today
from fangkong.passes.models import Pass
from tests.support import Personas, csrf

ROWS = 2500  # over the default threshold (2,000 rows): a job


def vehicles(n: int, bad_row: int | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["兰州鲜达物流有限公司 保供车辆清单"])
    sheet.append(["序号", "车牌号", "驾驶员", "身份证号"])
    for i in range(1, n + 1):
        sheet.append([i, "XX123" if i == bad_row else f"甘A{i:05d}", "司机", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def header(c: Any) -> dict[str, str]:
    start = today()
    return {"csrf_token": csrf(c), "company": "兰州鲜达物流有限公司", "contact_phone": "13931000002",
            "purpose": "daily_supplies", "route": "兰州市区", "valid_from": start.isoformat(),
            "valid_until": (start + timedelta(days=10)).isoformat()}


@pytest.fixture
def gate(personas: Personas) -> Iterator[threading.Event]:
    """Hold the import lane until the test opens the gate (so the queued progress page can be seen)."""
    runner = personas.app.state.jobs
    opened = threading.Event()
    submit = runner.submit

    def held(lane: str, task: Any, *args: Any) -> None:
        def later(*a: Any) -> None:
            opened.wait(60)
            task(*a)
        submit(lane, later, *args) if lane == "import" else submit(lane, task, *args)

    runner.submit = held
    yield opened
    opened.set()
    runner.shutdown()
    runner.submit = submit


def poll_page(c: Any, job_url: str) -> Any:
    """Poll the progress fragment as HTMX does until it tells the browser to go on; return that answer."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = c.get(job_url, headers={"HX-Request": "true"})
        assert r.status_code == 200, r.text[:500]
        if "HX-Refresh" in r.headers or "HX-Redirect" in r.headers or 'hx-trigger' not in r.text:
            return r
        time.sleep(0.1)
    raise AssertionError(f"{job_url} did not finish")


def poll_api(c: Any, headers: dict[str, str], job_id: int, until: tuple[str, ...] = ("previewed", "done")) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = c.get(f"/api/v1/imports/{job_id}", headers=headers)
        if r.status_code != 200 or r.json()["status"] in until:
            return r
        time.sleep(0.1)
    raise AssertionError(f"import {job_id} did not finish")


def job_files(settings: Any) -> list[str]:
    folder = jobs_dir(settings.var_dir)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def count(db: Any, model: Any) -> int:
    with db.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_big_pass_sheet_shows_progress_then_the_preview_then_the_passes(personas: Personas, db, settings,
                                                                           gate) -> None:  # type: ignore[no-untyped-def]
    c = personas.browser("district")
    r = c.post("/passes/bulk/new", data=header(c), follow_redirects=False,
               files={"file": ("车辆.xlsx", vehicles(ROWS), "application/octet-stream")})
    assert r.status_code == 303 and re.fullmatch(r"/imports/\d+", r.headers["location"]), r.text[:500]
    job_url = r.headers["location"]
    waiting = c.get(job_url)  # the lane is held: the progress page, polling
    assert waiting.status_code == 200 and 'hx-trigger="every 1s"' in waiting.text and "<progress" in waiting.text
    assert "已读取" in waiting.text and "已检查" in waiting.text and "已导入" in waiting.text  # zh by default
    assert len(job_files(settings)) == 1 and count(db, Pass) == 0
    gate.set()
    assert poll_page(c, job_url).headers.get("HX-Refresh") == "true"  # the preview is ready: reload the page
    preview = c.get(job_url)
    assert 'data-testid="ready"' in preview.text and f'action="{job_url}/confirm"' in preview.text
    assert count(db, Pass) == 0  # a preview writes nothing
    done = c.post(job_url + "/confirm", data=header(c), follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == job_url
    final = poll_page(c, job_url)
    application = final.headers["HX-Redirect"]
    assert re.fullmatch(r"/passes/applications/\d+", application)
    assert c.get(job_url, follow_redirects=False).headers["location"] == application
    assert c.get(application).status_code == 200
    assert count(db, Pass) == ROWS
    assert job_files(settings) == []  # the upload (ID numbers) is gone with its job
    with db.sessions() as s:
        actions = set(s.execute(select(AuditEntry.action).where(AuditEntry.username == "district")).scalars())
    assert {"upload", "issue_bulk"} <= actions


def test_a_bad_row_refuses_the_whole_sheet_and_writes_nothing(personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    c = personas.browser("district")
    r = c.post("/passes/bulk/new?lang=en", data=header(c),
               files={"file": ("车辆.xlsx", vehicles(ROWS, bad_row=2222), "application/octet-stream")},
               follow_redirects=False)
    job_url = r.headers["location"]
    assert poll_page(c, job_url).headers.get("HX-Refresh") == "true"
    page = c.get(job_url)
    assert "<td>2224</td>" in page.text and "province abbreviation" in page.text  # row 2,222 is sheet row 2,224
    assert "/confirm" not in page.text  # nothing to confirm: the sheet goes back to be corrected
    refused = c.post(job_url + "/confirm", data=header(c), follow_redirects=False)
    assert refused.status_code == 303  # not waiting for a confirmation: back to the job
    assert count(db, Pass) == 0 and job_files(settings) == []


def test_limits_are_checked_before_any_job(personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_upload_limits import shared_string_bomb

    c = personas.browser("district")
    r = c.post("/passes/bulk/new", data=header(c), files={"file": ("bomb.xlsx", shared_string_bomb(), "x")},
               follow_redirects=False)
    assert r.status_code == 422 and "MB" in r.text
    assert count(db, ImportJob) == 0 and job_files(settings) == [] and count(db, Pass) == 0


def test_the_api_answers_202_and_the_job_reports_progress_and_result(personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    c, headers = personas.browser("district"), personas.headers("district")
    fields = {k: v for k, v in header(c).items() if k != "csrf_token"}
    r = c.post("/api/v1/imports", headers=headers, data={"key": "passes.bulk", **fields},
               files={"file": ("车辆.xlsx", vehicles(300), "application/octet-stream")})  # the API: always a job
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.headers["location"] == f"/api/v1/imports/{job_id}"
    previewed = poll_api(c, headers, job_id).json()
    assert previewed["status"] == "previewed" and previewed["preview"]["ready"] == 300
    assert previewed["confirm"] == f"/api/v1/imports/{job_id}/confirm" and count(db, Pass) == 0
    confirmed = c.post(previewed["confirm"], headers=headers, json={"params": fields})
    assert confirmed.status_code == 202 and confirmed.json()["phase"] == "import"
    done = poll_api(c, headers, job_id).json()
    assert done["status"] == "done" and done["imported"] == 300 and done["percent"] == 100
    assert done["result"]["passes"] == 300 and done["result"]["href"].startswith("/passes/applications/")
    assert count(db, Pass) == 300 and job_files(settings) == []
    again = c.post(previewed["confirm"], headers=headers, json={"params": fields})
    assert again.status_code == 409
    # someone else's job is not found
    other = personas.browser("command").get(f"/api/v1/imports/{job_id}", headers=personas.headers("command"))
    assert other.status_code == 404


def test_a_refused_sheet_is_problem_json_in_the_users_language(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    c, headers = personas.browser("district"), personas.headers("district")
    fields = {k: v for k, v in header(c).items() if k != "csrf_token"}
    r = c.post("/api/v1/imports", headers={**headers, "Accept-Language": "en"},
               data={"key": "passes.bulk", "confirm": "1", **fields},
               files={"file": ("车辆.xlsx", vehicles(50, bad_row=7), "application/octet-stream")})
    assert r.status_code == 202
    failed = poll_api(c, {**headers, "Accept-Language": "en"}, r.json()["id"])
    assert failed.status_code == 422 and failed.headers["content-type"].startswith("application/problem+json")
    body = failed.json()
    assert body["errors"][0]["field"] == "rows.9.plate" and "province abbreviation" in body["detail"]
    assert body["job"]["status"] == "failed" and count(db, Pass) == 0
    zh = c.get(f"/api/v1/imports/{r.json()['id']}", headers=headers).json()
    assert "省" in zh["detail"]


def test_the_api_refuses_a_role_without_the_action_and_an_unknown_sheet(personas: Personas) -> None:
    c, headers = personas.browser("checkpoint"), personas.headers("checkpoint")
    r = c.post("/api/v1/imports", headers=headers, data={"key": "passes.bulk"},
               files={"file": ("车辆.xlsx", vehicles(5), "application/octet-stream")})
    assert r.status_code == 403
    c, headers = personas.browser("district"), personas.headers("district")
    r = c.post("/api/v1/imports", headers=headers, data={"key": "passes.everything"},
               files={"file": ("车辆.xlsx", vehicles(5), "application/octet-stream")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "key"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_worker_that_starts_fails_the_jobs_a_killed_worker_left_running(personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    host, pid, _nonce = worker_id().split(":")
    folder = jobs_dir(settings.var_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with db.unit_of_work() as s:
        user = s.execute(select(User).where(User.username == "district")).scalar_one()
        jobs = {
            "killed": ImportJob(token="a" * 32, status="running", worker=f"{host}:{_dead_pid()}:0000"),
            "restarted": ImportJob(token="b" * 32, status="queued", worker=f"{host}:{pid}:0000"),  # same pid, before
            "elsewhere": ImportJob(token="c" * 32, status="running", worker="another-host:1:0000"),
            "alive": ImportJob(token="d" * 32, status="running", worker=worker_id()),
        }
        for job in jobs.values():
            job.user_id, job.key, job.file_name, job.phase = user.id, "passes.bulk", "x.xlsx", "import"
            job.params = "{}"
            s.add(job)
            (folder / f"{job.token}.xlsx").write_bytes(b"PK")
    with TestClient(personas.app):  # the worker starts
        pass
    with db.sessions() as s:
        status = {name: s.get(ImportJob, job.id).status for name, job in jobs.items()}
        error = s.get(ImportJob, jobs["killed"].id).error
    assert status == {"killed": "failed", "restarted": "failed", "elsewhere": "running", "alive": "running"}
    assert error and "interrupted" in error
    assert job_files(settings) == sorted(f"{t * 32}.xlsx" for t in "cd")  # the failed jobs' sheets are gone


def test_the_purge_removes_old_jobs_and_every_file_no_job_needs(personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    from fangkong.capabilities import platform
    from fangkong.core.retention import purge

    c, headers = personas.browser("district"), personas.headers("district")
    fields = {k: v for k, v in header(c).items() if k != "csrf_token"}
    r = c.post("/api/v1/imports", headers=headers, data={"key": "passes.bulk", **fields},
               files={"file": ("车辆.xlsx", vehicles(20), "application/octet-stream")})
    job_id = r.json()["id"]
    assert poll_api(c, headers, job_id).json()["status"] == "previewed"
    assert len(job_files(settings)) == 1  # kept for the confirmation
    orphan = jobs_dir(settings.var_dir) / ("e" * 32 + ".xlsx")  # a request that failed after writing its file
    orphan.write_bytes(b"PK")
    old = time.time() - 3600
    import os

    os.utime(orphan, (old, old))
    with acting_as(Actor(username="system")), db.unit_of_work() as s:
        counts = purge(s, settings, platform().purgers)
    assert counts["import_files"] == 1 and len(job_files(settings)) == 1  # the unconfirmed preview stays a while
    with db.unit_of_work() as s:
        s.execute(update(ImportJob).values(updated_at=utcnow() - timedelta(hours=settings.import_keep_hours + 1)))
    os.utime(jobs_dir(settings.var_dir) / job_files(settings)[0], (old, old))
    with acting_as(Actor(username="system")), db.unit_of_work() as s:
        counts = purge(s, settings, platform().purgers)
    assert counts["import_jobs"] == 1 and counts["import_files"] == 1
    assert job_files(settings) == [] and count(db, ImportJob) == 0
    assert c.get(f"/api/v1/imports/{job_id}", headers=headers).status_code == 404


def test_imports_and_exports_share_the_limit_of_jobs_under_way(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    with db.unit_of_work() as s:
        user = s.execute(select(User).where(User.username == "command")).scalar_one()
        for n in range(3):
            s.add(ImportJob(token=f"{n}" * 32, user_id=user.id, key="passes.bulk", file_name="x.xlsx",
                            status="running", worker=worker_id(), params=json.dumps({})))
    r = personas.browser("command").post("/api/v1/exports", json={"key": "leads.rates"},
                                         headers=personas.headers("command"))
    assert r.status_code == 429 and r.headers.get("retry-after")


def confirm_fields(page: str) -> dict[str, str]:
    """The hidden and chosen fields of the preview's confirmation form."""
    form = page.split('/confirm"', 1)[1].split("</form>", 1)[0]
    return {k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form)}


def test_a_passage_sheet_over_the_threshold_is_registered_in_the_background(personas: Personas, db,
                                                                            settings) -> None:  # type: ignore[no-untyped-def]
    from fangkong.checkpoints.models import Checkpoint, Passage
    from tests.checkpoints.test_checkpoints_import import sheet

    settings.upload_background_rows = 2  # the threshold is a setting: this sheet's 6 rows are a job
    with db.sessions() as s:
        cp = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
    c = personas.browser("checkpoint")
    bad = c.post(f"/checkpoints/{cp}/import", data={"csrf_token": csrf(c)}, follow_redirects=False,
                 files={"file": ("登记表.xlsx", sheet(bad=True), "application/octet-stream")})
    bad_url = bad.headers["location"]
    assert poll_page(c, bad_url).headers.get("HX-Refresh") == "true"
    refused = c.get(bad_url)
    assert "<td>6</td>" in refused.text and f"{bad_url}/confirm" not in refused.text  # row 6: nothing to confirm
    r = c.post(f"/checkpoints/{cp}/import", data={"csrf_token": csrf(c)}, follow_redirects=False,
               files={"file": ("登记表.xlsx", sheet(), "application/octet-stream")})
    job_url = r.headers["location"]
    assert poll_page(c, job_url).headers.get("HX-Refresh") == "true"
    preview = c.get(job_url)
    assert f'action="{job_url}/confirm"' in preview.text and count(db, Passage) == 0
    c.post(job_url + "/confirm", data={"csrf_token": csrf(c)})
    assert poll_page(c, job_url).headers["HX-Redirect"] == f"/checkpoints/{cp}"
    assert count(db, Passage) == 2 and job_files(settings) == []
    # another checkpoint officer's job, or a checkpoint outside the jurisdiction, is not found
    assert personas.browser("command").get(job_url).status_code == 404


def test_a_follow_up_sheet_over_the_threshold_is_recorded_in_the_background(personas: Personas, db,
                                                                           settings) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_followups import _filled, _free_person, _observe, _today_item

    settings.upload_background_rows = 2
    a = _observe(personas, _free_person(db).id)
    item = _today_item(personas, a)
    c = personas.browser("station")
    filled = _filled(c.get("/followups/sheet.xlsx").content, {item["id"]: 36.7})
    r = c.post("/followups/import", data={"csrf_token": csrf(c)}, follow_redirects=False,
               files={"file": ("随访表.xlsx", filled, "application/octet-stream")})
    job_url = r.headers["location"]
    assert poll_page(c, job_url).headers.get("HX-Refresh") == "true"
    assert _today_item(personas, a)["done_at"] is None  # the preview records nothing
    c.post(job_url + "/confirm", data={"csrf_token": csrf(c)})
    assert poll_page(c, job_url).headers["HX-Redirect"] == "/followups"
    assert _today_item(personas, a)["temperature_c"] == 36.7 and job_files(settings) == []


def test_an_api_upload_may_ask_to_be_imported_at_once(personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    c, headers = personas.browser("district"), personas.headers("district")
    fields = {k: v for k, v in header(c).items() if k != "csrf_token"}
    r = c.post("/api/v1/imports", headers=headers, data={"key": "passes.bulk", "confirm": "1", **fields},
               files={"file": ("车辆.xlsx", vehicles(40), "application/octet-stream")})
    done = poll_api(c, headers, r.json()["id"], until=("done",)).json()
    assert done["status"] == "done" and done["result"]["passes"] == 40 and count(db, Pass) == 40
    assert job_files(settings) == []


def test_previews_never_confirmed_do_not_pile_up(personas: Personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    from fangkong.core.imports import MAX_WAITING

    c, headers = personas.browser("district"), personas.headers("district")
    fields = {k: v for k, v in header(c).items() if k != "csrf_token"}
    ids = []
    for _ in range(MAX_WAITING + 2):
        r = c.post("/api/v1/imports", headers=headers, data={"key": "passes.bulk", **fields},
                   files={"file": ("车辆.xlsx", vehicles(5), "application/octet-stream")})
        ids.append(r.json()["id"])
        assert poll_api(c, headers, ids[-1]).json()["status"] == "previewed"
    with db.sessions() as s:
        waiting = s.execute(select(ImportJob.id).where(ImportJob.status == "previewed")).scalars().all()
    assert sorted(waiting) == ids[-MAX_WAITING:] and len(job_files(settings)) == MAX_WAITING
    superseded = c.get(f"/api/v1/imports/{ids[0]}", headers=headers)
    assert superseded.status_code == 409 and superseded.headers["content-type"].startswith("application/problem+json")
