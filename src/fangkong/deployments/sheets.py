"""Excel exports of the registers: posts with who is on duty, the day's log, offence cases, supervision
items. Headers are in Chinese, as the sheets go to other bureaus; every export is audited."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.clock import local_time
from fangkong.core.codes import mask_id_number
from fangkong.core.export import looks_like_formula
from fangkong.core.i18n import translations
from fangkong.core.models import Unit, User
from fangkong.deployments import cases, daylog, posts, supervision
from fangkong.deployments.rules import CATEGORIES, OUTCOMES, POST_KINDS, STATUSES


def workbook(title: str, header: list[str], rows: list[list[Any]], widths: list[int] | None = None) -> bytes:
    """Return an .xlsx of one sheet: a bold header and the rows, every text cell written as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=number, column=column, value=value)
            if looks_like_formula(value):  # core.export: what a spreadsheet would take for a formula
                cell.data_type = "s"  # openpyxl took it for a formula: store it as the text it is
    for column, width in enumerate(widths or [], start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zh(msgid: str) -> str:
    return translations("zh_CN").gettext(msgid)


def _unit_names(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}


def posts_sheet(session: Session, user: User) -> bytes:
    board = posts.duty_board(session, user)
    units = _unit_names(session, {d.post.unit_id for d in board})
    rows = [[d.post.name, _zh(POST_KINDS[d.post.kind]), units.get(d.post.unit_id, ""), d.post.location,
             d.post.chief_name, d.post.required_strength, d.officers, "是" if d.short else ""] for d in board]
    audit.record(session, "export", "deployment_posts", None, rows=len(rows))
    return workbook("岗位", ["岗位", "类别", "单位", "地点", "卡长/点长", "应到警力", "当前在岗", "警力不足"], rows,
                    [24, 16, 18, 30, 12, 10, 10, 10])


def log_sheet(session: Session, user: User, day: date) -> bytes:
    rows = [["　" * r.unit.depth + r.unit.name, *(r.total[k] for k in daylog.FIELDS),
             "、".join(_zh(daylog.FIELDS[k]) for k in sorted(r.corrected))] for r in daylog.day_log(session, user, day)]
    audit.record(session, "export", "deployment_log", None, day=day.isoformat(), rows=len(rows))
    return workbook(day.isoformat(), ["单位", *(_zh(v) for v in daylog.FIELDS.values()), "本单位更正"], rows,
                    [24, 14, 14, 14, 10, 10, 10, 30])


def cases_sheet(session: Session, user: User) -> bytes:
    found = list(session.execute(cases.visible_cases(user).order_by(cases.OffenceCase.received_at.desc())
                                 .limit(10_000)).scalars())
    units = _unit_names(session, {c.unit_id for c in found})
    rows = [[c.number, c.title, _zh(CATEGORIES[c.category]), units.get(c.unit_id, ""), _zh(STATUSES[c.status]),
             _zh(OUTCOMES[c.outcome]) if c.outcome else "", local_time(c.received_at), local_time(c.solved_at),
             "、".join(f"{p.name}({mask_id_number(p.id_number)})" if p.id_number else p.name for p in c.persons),
             "、".join(f"{s.item}{s.quantity:g}{s.unit_of_measure}" for s in c.seizures)] for c in found]
    audit.record(session, "export", "offence_cases", None, rows=len(rows))
    return workbook("涉疫案件", ["案件编号", "案件名称", "类别", "办案单位", "状态", "处理结果", "受案时间", "破案时间",
                                 "处理人员", "收缴物品"], rows, [16, 30, 22, 16, 8, 12, 17, 17, 30, 30])


def supervision_sheet(session: Session, user: User) -> bytes:
    visits = supervision.list_visits(session, user, limit=5000)
    units = _unit_names(session, {v.unit_id for v in visits})
    rows = []
    for v in visits:
        head = [local_time(v.visited_on), units.get(v.unit_id, ""), v.leader, v.findings]
        rows += [[*head, i.description, local_time(i.due_on), _item_state(i), i.note] for i in v.items] or [head]
    audit.record(session, "export", "supervision_visits", None, rows=len(rows))
    return workbook("督导整改", ["督导日期", "被督导单位", "督导领导", "发现问题", "整改事项", "整改期限", "状态",
                                 "整改情况"], rows, [12, 18, 12, 40, 40, 12, 10, 30])


def _item_state(item: supervision.RectificationItem) -> str:
    if item.status == "rectified":
        return "已整改"
    return "逾期" if supervision.is_overdue(item) else "整改中"
