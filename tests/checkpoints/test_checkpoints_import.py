"""Paper sheets typed up later: preview with row errors, no partial import, idempotent re-import."""

from __future__ import annotations

import io
import re
from datetime import datetime

from openpyxl import Workbook
from sqlalchemy import select

from fangkong.checkpoints.models import Checkpoint, Passage, PassagePerson
from tests.support import csrf


def sheet(bad: bool = False) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(["柳沟河检查站登记表（2020年2月3日）"])
    ws.append(["时间", "车牌", "姓名", "身份证号码", "体温", "处置", "来源地"])
    ws.append([datetime(2020, 2, 3, 9, 15), "甘A12345", "王五", "11010519491231002X", 36.5, "放行", "兰州"])
    ws.append([datetime(2020, 2, 3, 9, 15), "甘A12345", "赵六", "620102194703131181", "37.8", "移交卫健", "兰州"])
    ws.append(["2020年2月3日 9:20", None, "步行者", "440524188001010014", 36.4, "", "天水"])
    if bad:
        ws.append(["2020年2月3日 9:25", "XX999", "", "110105194912310021", 45, "放行", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(c, cp: int, data: bytes):  # type: ignore[no-untyped-def]
    return c.post(f"/checkpoints/{cp}/import", data={"csrf_token": csrf(c)},
                  files={"file": ("登记表.xlsx", data, "application/octet-stream")})


def test_a_clean_sheet_imports_once_with_vehicles_grouped(personas, db) -> None:
    with db.sessions() as s:
        cp = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
    c = personas.browser("checkpoint")
    preview = _upload(c, cp, sheet())
    assert preview.status_code == 200, preview.text
    fields = dict(re.findall(r'name="(sha256|file_name)" value="([^"]*)"', preview.text))
    for _ in range(2):  # the second confirmation stores nothing new
        r = c.post(f"/checkpoints/{cp}/import/confirm", data={**fields, "csrf_token": csrf(c)},
                   follow_redirects=False)
        assert r.status_code == 303
    with db.sessions() as s:
        passages = s.execute(select(Passage).order_by(Passage.id)).scalars().all()
        assert [len(p.people) for p in passages] == [2, 1]
        assert passages[0].at.isoformat() == "2020-02-03T01:15:00+00:00"
        referred = s.execute(select(PassagePerson).where(PassagePerson.disposition == "referred")).scalar_one()
    assert referred.name == "赵六" and "fever" in referred.flags


def test_one_bad_row_blocks_the_whole_sheet_with_row_numbers(personas, db) -> None:
    with db.sessions() as s:
        cp = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
    c = personas.browser("checkpoint")
    preview = _upload(c, cp, sheet(bad=True))
    assert preview.status_code == 422
    assert "<td>6</td>" in preview.text and "校验位" in preview.text and "体温" in preview.text
    assert "import/confirm" not in preview.text
    with db.sessions() as s:
        assert s.query(Passage).count() == 0
