"""A big pushed lead sheet is read, previewed and taken in as a background job (issue 17): the progress page,
the usual preview with its column mapping, then the batch; all or nothing."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from fangkong.leads.models import Lead, LeadBatch
from tests.support import Personas, csrf
from tests.web.test_import_jobs import confirm_fields, job_files, poll_page

ROWS = 2100  # over the default threshold of 2,000 rows
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def lead_sheet(n: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["兰州市疫情防控指挥部推送线索（第9批）"])
    sheet.append(["序号", "姓名", "联系电话", "现住址", "线索类型", "途经城市"])  # the last: no alias knows it
    for i in range(1, n + 1):
        sheet.append([i, f"测试{i:05d}", f"139{i:08d}", "兰州市城关区酒泉路街道庆阳路12号", "密接", "武汉"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def counts(db: Any) -> tuple[int, int]:
    with db.sessions() as s:
        return (s.execute(select(func.count(Lead.id))).scalar_one(),
                s.execute(select(func.count(LeadBatch.id))).scalar_one())


def upload(c: Any, data: bytes) -> str:
    r = c.post("/leads/import", data={"source": "省指挥部", "csrf_token": csrf(c)}, follow_redirects=False,
               files={"file": ("第9批.xlsx", data, XLSX)})
    assert r.status_code == 303 and re.fullmatch(r"/imports/\d+", r.headers["location"]), r.text[:500]
    return r.headers["location"]


def test_a_big_lead_sheet_is_previewed_remapped_and_taken_in_in_the_background(personas: Personas, db,
                                                                                settings) -> None:  # type: ignore[no-untyped-def]
    before = counts(db)
    c = personas.browser("command")
    job_url = upload(c, lead_sheet(ROWS))
    assert poll_page(c, job_url).headers.get("HX-Refresh") == "true"
    preview = c.get(job_url)
    assert preview.status_code == 200 and f'action="{job_url}/preview"' in preview.text
    assert f"<b>{ROWS}</b>" in preview.text and counts(db) == before  # a preview writes nothing
    assert '<option value="origin" selected>' not in preview.text
    # 途经城市 was not recognised: map it, and the job reads the file again
    remap = c.post(job_url + "/preview", data={"csrf_token": csrf(c), "col:姓名": "name", "col:联系电话": "phone",
                                               "col:现住址": "current_address", "col:线索类型": "kind",
                                               "col:途经城市": "origin"}, follow_redirects=False)
    assert remap.status_code == 303 and remap.headers["location"] == job_url
    assert poll_page(c, job_url).headers.get("HX-Refresh") == "true"
    preview = c.get(job_url)
    assert '<option value="origin" selected>' in preview.text
    fields = confirm_fields(preview.text)
    done = c.post(job_url + "/confirm", data={**fields, "priority": "urgent", "csrf_token": csrf(c)},
                  follow_redirects=False)
    assert done.status_code == 303
    batch_url = poll_page(c, job_url).headers["HX-Redirect"]
    assert re.fullmatch(r"/leads/batches/\d+", batch_url)
    assert c.get(batch_url).status_code == 200
    assert counts(db) == (before[0] + ROWS, before[1] + 1)
    with db.sessions() as s:
        taken = s.execute(select(Lead.priority, Lead.origin).where(
            Lead.batch_id == int(batch_url.rsplit("/", 1)[1]))).all()
    assert set(taken) == {("urgent", "武汉")}
    assert job_files(settings) == []  # the job's copy is gone; the batch keeps its sheet for the feedback
    feedback = c.get(batch_url + "/feedback", params={"purpose": "上报核查结果"})
    assert feedback.status_code == 200


def test_a_sheet_that_cannot_be_read_fails_with_a_clear_message_and_writes_nothing(personas: Personas, db,
                                                                                    settings) -> None:  # type: ignore[no-untyped-def]
    before = counts(db)
    c = personas.browser("command")
    book = Workbook()
    for i in range(ROWS + 5):
        book.active.append(["甲", "乙", i])  # no header that names anyone
    out = io.BytesIO()
    book.save(out)
    job_url = upload(c, out.getvalue())
    failed = poll_page(c, job_url)
    assert "hx-trigger" not in failed.text and 'role="alert"' in failed.text
    assert "表头" in failed.text and "未保存任何数据" in failed.text
    assert counts(db) == before and job_files(settings) == []


def test_a_failure_while_writing_leaves_nothing_written(personas: Personas, db, settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from fangkong.leads import sheet_import

    real = sheet_import.take_in

    def take_in_then_fail(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # every lead inserted, then the disk fills up
        raise OSError("no space left on device")

    monkeypatch.setattr(sheet_import, "take_in", take_in_then_fail)
    before = counts(db)
    c = personas.browser("command")
    job_url = upload(c, lead_sheet(ROWS))
    assert poll_page(c, job_url).headers.get("HX-Refresh") == "true"
    fields = confirm_fields(c.get(job_url).text)
    c.post(job_url + "/confirm", data={**fields, "csrf_token": csrf(c)})
    failed = poll_page(c, job_url)
    assert "导入在系统一侧出错" in failed.text
    assert counts(db) == before and job_files(settings) == []


def test_another_user_cannot_see_or_confirm_the_job(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    c = personas.browser("command")
    job_url = upload(c, lead_sheet(ROWS))
    poll_page(c, job_url)
    other = personas.browser("district")  # may import leads too, but this job is not theirs
    assert other.get(job_url).status_code == 404
    assert other.post(job_url + "/confirm", data={"csrf_token": csrf(other)}).status_code == 404
    station = personas.browser("station")  # may not import leads at all
    r = station.post("/leads/import", data={"source": "省指挥部", "csrf_token": csrf(station)},
                     files={"file": ("x.xlsx", lead_sheet(ROWS), "application/octet-stream")})
    assert r.status_code == 403
