"""Bulk issue from an enterprise's sheet of vehicles: a preview with an error per row, nothing issued while a
row is wrong, then every row issued and signed at once (issue 18)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from fangkong.passes.applications import today
from fangkong.passes.models import Pass
from fangkong.passes.tokens import key_ring
from fangkong.passes.verification import check_token
from fangkong.passes.xlsx import iter_rows
from tests.support import csrf


def _sheet(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["兰州鲜达物流有限公司 保供车辆清单"])  # a title row above the header, as enterprises send them
    sheet.append(["序号", "车牌号", "驾驶员", "身份证号", "有效期止"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header(c) -> dict[str, str]:  # type: ignore[no-untyped-def]
    start = today()
    return {"csrf_token": csrf(c), "company": "兰州鲜达物流有限公司", "contact_phone": "13931000002",
            "purpose": "daily_supplies", "route": "兰州市区", "valid_from": start.isoformat(),
            "valid_until": (start + timedelta(days=10)).isoformat()}


def _plates(n: int) -> list[str]:
    return [f"甘A{i:05d}" for i in range(1, n + 1)]


def test_a_sheet_with_bad_rows_is_refused_row_by_row(personas, db) -> None:  # type: ignore[no-untyped-def]
    c = personas.browser("district")
    end = (today() - timedelta(days=30)).isoformat()
    data = _sheet([[1, "甘A10001", "张三", "11010519491231002X"], [2, "XX123", "李四", ""],
                   [3, "甘A10001", "王五", ""], [4, "甘A10004", "赵六", "110105194912310021", end]])
    answer = c.post("/passes/bulk/new?lang=en", data=_header(c),
                    files={"file": ("车辆.xlsx", data, "application/octet-stream")})
    assert answer.status_code == 422
    for row, text in ((4, "province abbreviation"), (5, "is on row 3 already"), (6, "ID number"),
                      (6, "cannot end before it starts")):
        assert f"<td>{row}</td>" in answer.text and text in answer.text
    with db.sessions() as s:
        assert s.execute(select(func.count(Pass.id))).scalar_one() == 0


def test_a_clean_sheet_is_issued_signed_and_verifiable(personas, db, settings) -> None:  # type: ignore[no-untyped-def]
    c = personas.browser("district")
    plates = _plates(1500)
    data = _sheet([[i, plate, "司机", ""] for i, plate in enumerate(plates, 1)])
    preview = c.post("/passes/bulk/new", data=_header(c),
                     files={"file": ("车辆.xlsx", data, "application/octet-stream")})
    assert preview.status_code == 200 and 'data-testid="ready"' in preview.text
    sha = preview.text.split('name="sha256" value="')[1].split('"')[0]
    issued = c.post("/passes/bulk/confirm", data={**_header(c), "sha256": sha, "file_name": "车辆.xlsx"},
                    follow_redirects=False)
    assert issued.status_code == 303, issued.text[:2000]
    with db.sessions() as s:
        rows = s.execute(select(Pass.plate, Pass.token).order_by(Pass.id)).all()
    assert [r.plate for r in rows] == plates
    ring = key_ring(settings.var_dir)
    from fangkong.core.db import utcnow

    assert all(check_token(ring, token, plate, utcnow(), set()).valid for plate, token in rows[:50])


def test_a_csv_sheet_works_too(personas, db) -> None:  # type: ignore[no-untyped-def]
    c = personas.browser("district")
    data = "车牌号,驾驶员\n甘A20001,张三\n甘A20002,李四\n".encode("gb18030")
    preview = c.post("/passes/bulk/new", data=_header(c), files={"file": ("车辆.csv", data, "text/csv")})
    assert preview.status_code == 200 and "2" in preview.text


def test_the_streaming_reader_bounds_rows_and_keeps_row_numbers() -> None:
    book = Workbook()
    sheet = book.active
    sheet["B2"] = "x"
    sheet["D5"] = 3
    out = io.BytesIO()
    book.save(out)
    rows = list(iter_rows(out.getvalue(), 100))
    assert rows[1] == [None, "x"] and rows[2] == [] and rows[4] == [None, None, None, 3]
    assert len(list(iter_rows(_sheet([[i, "甘A00001"] for i in range(50)]), 10))) == 11


def test_checkpoints_and_stations_may_not_issue_in_bulk_outside_their_role(personas) -> None:  # type: ignore[no-untyped-def]
    c = personas.browser("checkpoint")
    assert c.get("/passes/bulk/new").status_code == 403
