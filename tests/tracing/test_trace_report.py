"""The trace report (流调报告, issue 22) of a case with hundreds of contacts: the protocol's deadlines (core facts
4 h, full report 24 h after the case was reported) and whether they were met; the printable page, Word and
Excel with the trajectory, contacts by place and the dispatch of each; masked unless revealed with a purpose
(audited as a reveal); every read audited; formula-like text neutralised in Excel."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select, update

from fangkong.core.audit import AuditEntry
from fangkong.core.codes import mask_id_number
from fangkong.people.models import Person, RiskStatus
from tests.support import Personas, csrf
from tests.tracing.bigcase import BigCase, wait_for_run


def _number(db, person_id: int) -> str:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(Person.id_number).where(Person.id == person_id)).scalar_one()


def _audit(db, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_report_page_is_masked_printable_and_audited(big: BigCase, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    health = personas.browser("health")
    page = health.get(f"/tracing/cases/{big.index}/report")
    assert page.status_code == 200
    number = _number(db, big.index)
    assert number not in page.text and mask_id_number(number) in page.text
    assert _number(db, big.visitors[0]) not in page.text
    assert "甲病例 流行病学调查报告" in page.text
    assert 'href="/static/trace-print.css" media="print"' in page.text and "data-print" in page.text
    for section in ("基本情况", "轨迹", "密接（按场所和时间）", "派发情况", "次密接"):
        assert f"<h2>{section}</h2>" in page.text or f"<h2>{section}" in page.text, section
    assert page.text.count('<h3 class="group-head">') >= 7  # every group, no paging in a report
    assert re.search(r"\d+月\d+日 22:10 – \d+月\d+日 02:30", page.text)  # past midnight: both dates
    reads = [e for e in _audit(db, "trace_report") if '"format": "html"' in (e.detail or "")]
    assert len(reads) == 1


def test_deadlines_count_from_the_case_status_and_show_whether_they_were_met(big: BigCase, personas: Personas, db
                                                                              ) -> None:  # type: ignore[no-untyped-def]
    health = personas.browser("health")
    page = health.get(f"/tracing/cases/{big.index}/report")
    assert 'data-stage="core" data-state="open"' in page.text and 'data-stage="full" data-state="open"' in page.text
    r = health.post(f"/tracing/cases/{big.index}/report/submit", data={"csrf_token": csrf(health), "stage": "core"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = health.get(f"/tracing/cases/{big.index}/report")
    assert 'data-stage="core" data-state="met"' in page.text and 'data-stage="full" data-state="open"' in page.text
    with db.unit_of_work() as s:  # the case was reported 30 hours ago: the full report is late now
        for status in s.execute(select(RiskStatus).where(RiskStatus.person_id == big.index)).scalars():
            status.since -= timedelta(hours=30)
    page = health.get(f"/tracing/cases/{big.index}/report")
    assert 'data-stage="core" data-state="late"' in page.text and 'data-stage="full" data-state="overdue"' in page.text
    health.post(f"/tracing/cases/{big.index}/report/submit", data={"csrf_token": csrf(health), "stage": "full"})
    page = health.get(f"/tracing/cases/{big.index}/report")
    assert 'data-stage="full" data-state="late"' in page.text
    bad = health.post(f"/tracing/cases/{big.index}/report/submit", data={"csrf_token": csrf(health), "stage": "x"})
    assert bad.status_code == 422


def test_revealing_the_report_needs_a_purpose_and_is_audited(big: BigCase, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    health = personas.browser("health")
    short = health.post(f"/tracing/cases/{big.index}/report", data={"csrf_token": csrf(health), "purpose": "x"})
    assert short.status_code == 422 and _number(db, big.index) not in short.text
    full = health.post(f"/tracing/cases/{big.index}/report", data={"csrf_token": csrf(health),
                                                                   "purpose": "上报疾控：完整流调报告"})
    assert full.status_code == 200
    assert _number(db, big.index) in full.text and _number(db, big.visitors[0]) in full.text
    reveals = _audit(db, "reveal")
    assert [e.purpose for e in reveals if e.object_type == "trace_cases"] == ["上报疾控：完整流调报告"]
    docx = health.post(f"/tracing/cases/{big.index}/report", data={"csrf_token": csrf(health), "format": "docx",
                                                                   "purpose": "归档：签字存档"})
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessing")
    assert _number(db, big.index) in _docx_text(docx.content)


def _docx_text(data: bytes) -> str:
    from docx import Document

    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_word_report_holds_facts_deadlines_trajectory_and_contacts_by_place(big: BigCase, personas: Personas, db
                                                                            ) -> None:  # type: ignore[no-untyped-def]
    r = personas.browser("health").get(f"/tracing/cases/{big.index}/report.docx")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith(f'attachment; filename="trace-report-{big.index}-')
    from docx import Document

    doc = Document(io.BytesIO(r.content))
    section = doc.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297  # A4
    text = _docx_text(r.content)
    number = _number(db, big.index)
    assert number not in text and mask_id_number(number) in text
    for words in ("甲病例 流行病学调查报告", "核心信息", "完整报告", "张掖路农贸市场", "金嗓子KTV", "访客000"):
        assert words in text, words
    assert len(doc.tables) >= 2 + 1 + 7 + 2  # facts, deadlines, trajectory, each place, by unit, secondary


def test_excel_report_lists_every_contact_with_formulas_neutralised(big: BigCase, personas: Personas, db
                                                                    ) -> None:  # type: ignore[no-untyped-def]
    with db.unit_of_work() as s:
        s.execute(update(Person).where(Person.id == big.visitors[1]).values(name="=HYPERLINK(\"http://x\",\"点\")"))
    health = personas.browser("health")
    r = health.post(f"/tracing/cases/{big.index}/dispatch",
                    data={"csrf_token": csrf(health), "digest": _digest(health, big)}, follow_redirects=False)
    assert 'data-run-status="done"' in wait_for_run(health, r.headers["location"])
    r = health.get(f"/tracing/cases/{big.index}/report.xlsx")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["基本情况", "轨迹", "密接（按场所）", "派发情况", "按单位"]
    dispatch = list(book["派发情况"].iter_rows(values_only=True))
    assert len(dispatch) == 1 + 303 + 120  # every contact, secondary ones too
    formula = [row for row in dispatch if row[0] and "HYPERLINK" in str(row[0])]
    assert formula and all(str(row[0]).startswith("'=") for row in formula)  # text, never a live formula
    leads = [row for row in dispatch[1:] if row[5]]
    assert len(leads) == 419  # each lead, its unit, its state
    assert sorted(Counter(row[6] for row in leads).items()) == [("已下发", 410), ("待人工指派", 9)]
    by_unit = {row[0]: row for row in book["按单位"].iter_rows(min_row=2, values_only=True)}
    assert by_unit["西园派出所"][1:4] == (50, 0, 49)  # close, secondary, dispatched (one had no ID, no phone)
    facts = {row[0]: row[1] for row in book["基本情况"].iter_rows(values_only=True) if row[0]}
    assert facts["身份证号码"] == mask_id_number(_number(db, big.index))


def _digest(health, big: BigCase) -> str:  # type: ignore[no-untyped-def]
    confirm = health.get(f"/tracing/cases/{big.index}/dispatch")
    return re.search(r'name="digest" value="(\w+)"', confirm.text).group(1)  # type: ignore[union-attr]


def test_station_cannot_read_the_report(big: BigCase, personas: Personas) -> None:
    for path in ("/report", "/report.docx", "/report.xlsx"):
        r = personas.browser("station").get(f"/tracing/cases/{big.index}{path}")
        assert r.status_code in (403, 404), path
