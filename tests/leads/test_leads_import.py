"""Sheet intake through the pages: upload, preview with row problems, confirm, re-import, feedback sheet."""

from __future__ import annotations

import io
import re
from datetime import datetime

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from fangkong.leads.models import Lead
from fangkong.leads.sheets import EXCEL_NUMBER, read_sheet
from fangkong.people.models import Person
from tests.support import csrf

ADDRESS = "甘肃省兰州市城关区酒泉路街道庆阳路18号"


def messy_sheet(person: Person, title: str = "第3批") -> bytes:
    book = Workbook()
    ws = book.active
    ws.append([f"兰州市疫情防控指挥部推送线索（{title}）"])
    ws.merge_cells("A1:G1")
    ws.append([])
    ws.append(["序号", "姓 名", "身份证号 码", "联系电话\n", "现居住地址", "推送时间", "备注"])
    wide = "".join(chr(ord(c) + 0xFEE0) for c in person.id_number.lower())
    ws.append([1, person.name, wide, f"+86 {person.phone[:3]}-{person.phone[3:7]}-{person.phone[7:]}", ADDRESS,
               datetime(2020, 2, 3, 14, 30), ""])
    ws.append([2, "李 四", 620102194703131181, "13800001111", ADDRESS, "2020年2月3日 14:30", "数字身份证"])
    ws.append([3, "王五", "110105194912310021", "13800002222", ADDRESS, 43864.5, "校验位错误"])
    ws.append([4, person.name, person.id_number, person.phone, ADDRESS, datetime(2020, 2, 3, 14, 30), ""])
    ws.append([None, "制表人：张三", None, None, None, None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _person(db) -> Person:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(Person).limit(1)).unique().scalar_one()


def test_reader_finds_the_header_below_title_rows_and_flags_bad_rows(db) -> None:
    person = _person(db)
    sheet = read_sheet(messy_sheet(person), "push.xlsx")
    assert sheet.header_row == 3
    assert set(sheet.mapping.values()) >= {"name", "id_number", "phone", "current_address", "pushed_at", "note"}
    rows = {r.row: r for r in sheet.rows}
    assert rows[4].ok and rows[4].values["id_number"] == person.id_number
    assert rows[4].values["phone"] == person.phone
    assert rows[4].values["pushed_at"].isoformat() == "2020-02-03T14:30:00+08:00"
    assert [p.message for p in rows[5].problems] == [EXCEL_NUMBER]
    assert rows[5].values["name"] == "李四"
    assert rows[6].problems[0].field == "id_number"
    assert 8 not in rows and 9 not in rows  # footer skipped


def _upload(c, data: bytes, name: str = "第3批.xlsx"):  # type: ignore[no-untyped-def]
    return c.post("/leads/import", data={"source": "省指挥部", "csrf_token": csrf(c)},
                  files={"file": (name, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})


def _confirm(c, page: str):  # type: ignore[no-untyped-def]
    fields = dict(re.findall(r'name="(sha256|file_name|source|mapping)" value="([^"]*)"', page))
    import html

    fields = {k: html.unescape(v) for k, v in fields.items()}
    return c.post("/leads/import/confirm", data={**fields, "csrf_token": csrf(c)}, follow_redirects=False)


def test_preview_saves_nothing_confirm_imports_and_reimport_adds_nothing(personas, db) -> None:
    person = _person(db)
    c = personas.browser("command")
    with db.sessions() as s:
        before = s.execute(select(func.count(Lead.id))).scalar_one()
    sheet = messy_sheet(person)
    preview = _upload(c, sheet)
    assert preview.status_code == 200
    assert "身份证号码" in preview.text and "校验位" in preview.text
    with db.sessions() as s:
        assert s.execute(select(func.count(Lead.id))).scalar_one() == before
    done = _confirm(c, preview.text)
    assert done.status_code == 303, done.text
    batch_url = done.headers["location"]
    with db.sessions() as s:
        # rows 4 and 7 are one lead; 5 and 6 (an ID number cut by Excel, a wrong check digit) are taken in on
        # name and phone with the ID number set aside (issue 21: a bad field never refuses a row)
        assert s.execute(select(func.count(Lead.id))).scalar_one() == before + 3
        flagged = s.execute(select(Lead.name, Lead.flags).where(Lead.flags.is_not(None))).all()
        assert sorted(flagged) == [("李四", "id_number"), ("王五", "id_number")]
    batch = c.get(batch_url)
    assert batch.status_code == 200
    again = _confirm(c, _upload(c, sheet).text)  # the very same file
    assert again.headers["location"] == batch_url
    resent = _confirm(c, _upload(c, messy_sheet(person, title="第3批（重发）")).text)  # same rows, another file
    assert resent.status_code == 303
    with db.sessions() as s:
        assert s.execute(select(func.count(Lead.id))).scalar_one() == before + 3


def test_feedback_sheet_keeps_the_source_layout_with_result_columns(personas, db) -> None:
    person = _person(db)
    c = personas.browser("command")
    batch_url = _confirm(c, _upload(c, messy_sheet(person)).text).headers["location"]
    r = c.get(batch_url + "/feedback", params={"purpose": "上报核查结果"})
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["A1"].value.startswith("兰州市疫情防控指挥部推送线索")
    header = [cell.value for cell in ws[3]]
    assert header[-6:] == ["核查结果", "核查时间", "核查单位", "核查人", "采取措施", "是否在本地"]
    results = {row[0].value: row[7].value for row in ws.iter_rows(min_row=4, max_row=7)}
    assert results[1] == "核查中" and results[4] == "核查中"
    assert results[2] == "核查中" and results[3] == "核查中"  # taken in without the bad ID number


def test_the_feedback_sheet_needs_a_purpose_and_is_audited_as_a_reveal(personas, db) -> None:
    """It holds full ID numbers: before, it was audited as a plain "export" with no purpose (issue 17)."""
    from sqlalchemy import select

    from fangkong.core.audit import AuditEntry

    c = personas.browser("command")
    batch_url = _confirm(c, _upload(c, messy_sheet(_person(db))).text).headers["location"]
    assert c.get(batch_url + "/feedback").status_code == 422
    assert c.get(batch_url + "/feedback", params={"purpose": " "}).status_code == 422
    assert c.get(batch_url + "/feedback", params={"purpose": "上报省指挥部"}).status_code == 200
    with db.sessions() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.object_type == "lead_batches")).scalars().all()
    assert [(r.action, r.purpose) for r in rows if r.action in ("export", "reveal")] == [("reveal", "上报省指挥部")]


def test_feedback_fills_the_upstreams_own_result_columns(personas, db) -> None:
    """The upstream's 核查结果 / 是否在兰 / 反馈时间 are filled in place; only what it lacks is appended, once."""
    person = _person(db)
    book = Workbook()
    ws = book.active
    ws.append(["序号", "姓名", "身份证号码", "联系电话", "现居住地址", "核查结果", "是否在兰", "反馈时间"])
    ws.append([1, person.name, person.id_number, person.phone, ADDRESS, None, None, None])
    out = io.BytesIO()
    book.save(out)
    c = personas.browser("command")
    batch_url = _confirm(c, _upload(c, out.getvalue()).text).headers["location"]
    from fangkong.leads.models import Lead, LeadLeg

    with db.sessions() as s:
        lead = s.execute(select(Lead).where(Lead.person_id == person.id).order_by(Lead.id.desc())).scalars().first()
        leg = s.execute(select(LeadLeg.id).where(LeadLeg.lead_id == lead.id)).scalar_one()
    verified = c.post(f"/api/v1/leads/{lead.id}/legs/{leg}/verify", headers=personas.headers("command"),
                      json={"outcome": "found", "measure": "none"})
    assert verified.status_code == 200, verified.text
    ws = load_workbook(io.BytesIO(c.get(batch_url + "/feedback", params={"purpose": "上报核查结果"}).content)).active
    header = [cell.value for cell in ws[1]]
    assert header == ["序号", "姓名", "身份证号码", "联系电话", "现居住地址", "核查结果", "是否在兰", "反馈时间",
                      "核查单位", "核查人", "采取措施"]
    row = [cell.value for cell in ws[2]]
    assert row[5].startswith("已落地核查") and row[6] == "是" and row[7]
    assert row[8] and row[9] and row[10] == "无"


def test_wrong_file_type_is_a_clear_error(personas) -> None:
    c = personas.browser("command")
    r = _upload(c, b"not a sheet", "x.pdf")
    assert r.status_code == 422 and "xlsx" in r.text
    r = _upload(c, b"garbage", "x.xlsx")
    assert r.status_code == 422


def test_station_cannot_import(personas) -> None:
    c = personas.browser("station")
    assert c.get("/leads/import").status_code == 403


def test_bad_fields_still_find_the_file(personas, db) -> None:  # type: ignore[no-untyped-def]
    """Issue 21, 'every duplicate found': a valid ID number with a 10-digit phone, and a wrong check digit
    whose name and phone match a file exactly, both reach matching and link to that file."""
    with db.sessions() as s:
        a, b = s.execute(select(Person).where(Person.id_number.is_not(None), Person.phone.is_not(None))
                         .order_by(Person.id).limit(2)).unique().scalars().all()
    wrong = b.id_number[:-1] + ("0" if b.id_number[-1] != "0" else "1")
    book = Workbook()
    ws = book.active
    ws.append(["姓名", "身份证号码", "联系电话", "现居住地址"])
    ws.append([a.name, a.id_number, a.phone[:10], ADDRESS])
    ws.append([b.name, wrong, b.phone, ADDRESS])
    out = io.BytesIO()
    book.save(out)
    c = personas.browser("command")
    preview = _upload(c, out.getvalue(), "核对.xlsx")
    assert "校验位" in preview.text  # shown to the officer as set aside, not as a refusal
    assert _confirm(c, preview.text).status_code == 303
    with db.sessions() as s:
        leads = {lead.name: lead for lead in s.execute(select(Lead).where(Lead.name.in_([a.name, b.name]))
                                                       .order_by(Lead.id.desc())).scalars()}
    assert leads[a.name].person_id == a.id and leads[a.name].flags == "phone"
    assert leads[b.name].person_id == b.id and leads[b.name].flags == "id_number"
