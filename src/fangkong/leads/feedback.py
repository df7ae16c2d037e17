"""Feedback upstream: the results of a batch in the source's own sheet layout, or as JSON.

The stored original sheet is reopened and five result columns are appended to its header row and to
every data row (核查结果, 核查时间, 核查单位, 核查人, 采取措施), so the upstream gets back exactly what
it sent, with answers. Rows that were rejected at intake say why; leads still open say so.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import LEAD_FEEDBACK, require, restrict
from fangkong.core.clock import local_time
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import NotFound
from fangkong.core.export import safe_cell, safe_row
from fangkong.core.models import Unit, User
from fangkong.core.sheets import clean_header
from fangkong.leads.models import Lead, LeadBatch, LeadLeg, LeadSourceRow, LeadStatus

RESULT_HEADERS = ("核查结果", "核查时间", "核查单位", "核查人", "采取措施", "是否在本地")
# The upstream's own result columns, recognised like the intake recognises its headers: when the sheet has
# one, the result goes there; only the missing ones are appended (and never twice).
RESULT_ALIASES = (("核查结果", "核查情况", "落实情况", "落查结果", "反馈结果", "处置情况"),
                  ("核查时间", "反馈时间", "落查时间"),
                  ("核查单位", "反馈单位", "落查单位", "责任单位"),
                  ("核查人", "核查民警", "反馈人", "落查人"),
                  ("采取措施", "管控措施", "处置措施"),
                  ("是否在本地", "是否在兰", "是否在本市", "是否在辖区"))
IN_CITY_ZH = {"found": "是", "elsewhere": "是", "left_city": "否", "not_found": "未找到"}
OUTCOME_ZH = {"found": "已落地核查，人员在住址", "not_found": "未找到", "elsewhere": "居住在本市其他地址",
              "left_city": "已离开本市"}
MEASURE_ZH = {"none": "无", "home_observation": "居家观察", "centralised_quarantine": "集中隔离",
              "referral": "移交卫健"}
LEG_ZH = {"police": "公安", "community": "社区"}


@dataclass(frozen=True)
class Result:
    lead_id: int | None
    status: str
    result: str
    verified_at: datetime | None
    units: str
    officers: str
    measures: str
    in_city: str = ""

    def cells(self) -> list[str]:
        return [self.result, local_time(self.verified_at) if self.verified_at else "", self.units, self.officers,
                self.measures, self.in_city]


def batch_in_scope(session: Session, user: User, batch_id: int) -> LeadBatch:
    require(user, LEAD_FEEDBACK)
    stmt = restrict(select(LeadBatch).where(LeadBatch.id == batch_id), user, LeadBatch.unit_id)
    batch = session.execute(stmt).unique().scalar_one_or_none()
    if batch is None:
        raise NotFound()
    return batch


def lead_results(session: Session, lead_ids: set[int]) -> dict[int, Result]:
    """Return the feedback text of each lead, combining its legs."""
    leads = {lead.id: lead for lead in session.execute(select(Lead).where(Lead.id.in_(lead_ids))).scalars()}
    legs: dict[int, list[tuple[LeadLeg, str]]] = {}
    for leg, unit_name in session.execute(select(LeadLeg, Unit.name).join(Unit, Unit.id == LeadLeg.unit_id)
                                          .where(LeadLeg.lead_id.in_(lead_ids)).order_by(LeadLeg.id)):
        legs.setdefault(leg.lead_id, []).append((leg, unit_name))
    out = {}
    for lead_id, lead in leads.items():
        out[lead_id] = _result(lead, legs.get(lead_id, []))
    return out


def _result(lead: Lead, legs: list[tuple[LeadLeg, str]]) -> Result:
    if lead.status == LeadStatus.OUTSIDE:
        return Result(lead.id, lead.status, "现住址不在本市辖区，请转所在地核查", lead.closed_at, "", "", "")
    if lead.status == LeadStatus.MANUAL:
        return Result(lead.id, lead.status, "待指派核查单位", None, "", "", "")
    done = [(leg, unit) for leg, unit in legs if leg.status == "verified"]
    if len(done) < len(legs) or not legs:
        return Result(lead.id, lead.status, "核查中", None, "；".join(u for _, u in legs), "", "")
    def joined(values: list[str]) -> str:
        return "；".join(values) if len(values) > 1 else (values[0] if values else "")
    prefix = len(done) > 1
    def tag(leg: LeadLeg, text: str) -> str:
        return f"{LEG_ZH[leg.kind]}：{text}" if prefix else text
    result = joined([tag(leg, _outcome_text(leg)) for leg, _ in done])
    return Result(lead.id, lead.status, result, max(leg.verified_at for leg, _ in done if leg.verified_at),
                  joined([tag(leg, unit) for leg, unit in done]),
                  joined([tag(leg, leg.verified_by or "") for leg, _ in done]),
                  joined([tag(leg, MEASURE_ZH.get(leg.measure or "none", "")) for leg, _ in done]),
                  IN_CITY_ZH.get(next((leg.outcome for leg, _ in done if leg.kind == "police"), done[0][0].outcome)
                                 or "", ""))


def _outcome_text(leg: LeadLeg) -> str:
    text = OUTCOME_ZH.get(leg.outcome or "", "")
    if leg.temperature_c is not None:
        text += f"，体温{leg.temperature_c:.1f}℃"
    if leg.symptoms:
        text += f"，症状：{leg.symptoms}"
    if leg.note:
        text += f"（{leg.note}）"
    return text


def source_rows(session: Session, batch: LeadBatch) -> dict[int, tuple[int | None, str | None]]:
    stmt = select(LeadSourceRow.row, LeadSourceRow.lead_id, LeadSourceRow.problem).where(
        LeadSourceRow.batch_id == batch.id)
    return {row: (lead_id, problem) for row, lead_id, problem in session.execute(stmt)}


def _mark_fed_back(session: Session, lead_ids: set[int]) -> int:
    now = utcnow()
    return rowcount(session.execute(update(Lead).where(Lead.id.in_(lead_ids), Lead.status.in_(
        (LeadStatus.VERIFIED, LeadStatus.OUTSIDE))).values(status=LeadStatus.FED_BACK, fed_back_at=now)))


def export_sheet(session: Session, user: User, batch_id: int, uploads: Path, purpose: str) -> tuple[str, bytes]:
    """Return (file name, bytes) of the batch's sheet with the result columns filled in.

    The sheet carries full ID numbers (the upstream's own, and ours in the generic sheet): downloading it is
    a reveal, so it needs a stated purpose and is audited as one (issue 17)."""
    batch = batch_in_scope(session, user, batch_id)
    if not batch.file_sha256 or not batch.file_name:
        return _generic_sheet(session, batch, purpose)
    suffix = Path(batch.file_name).suffix.lower()
    original = uploads / f"{batch.file_sha256}{suffix}"
    if not original.exists():
        raise NotFound()
    rows = source_rows(session, batch)
    results = lead_results(session, {lead_id for lead_id, _ in rows.values() if lead_id})
    cells = {row: (["数据有误，未能核查：" + (problem or "")] + [""] * (len(RESULT_HEADERS) - 1) if lead_id is None
                   else results[lead_id].cells()) for row, (lead_id, problem) in rows.items()}
    header_row = batch.header_row or 1
    if suffix == ".xlsx":
        data = _xlsx(original, batch.sheet_name, header_row, cells)
    else:
        data = _csv(original, header_row, cells)
    fed = _mark_fed_back(session, {lead_id for lead_id, _ in rows.values() if lead_id})
    audit.record_reveal(session, "lead_batches", batch.id, purpose, channel="export", fed_back=fed)
    return f"{Path(batch.file_name).stem}-核查反馈{suffix}", data


def result_columns(headers: list[object]) -> tuple[list[int], list[tuple[int, str]]]:
    """Return the 0-based column of each result (the upstream's own, else appended after the last header),
    and the headers to add for the appended ones."""
    cleaned = [clean_header(h) for h in headers]
    last = max((i for i, h in enumerate(cleaned) if h), default=-1)
    columns, added = [], []
    for title, aliases in zip(RESULT_HEADERS, RESULT_ALIASES, strict=True):
        found = next((i for i, h in enumerate(cleaned) if h in {clean_header(a) for a in aliases}), None)
        if found is None:
            last += 1
            found = last
            added.append((found, title))
        columns.append(found)
    return columns, added


def _xlsx(path: Path, sheet_name: str | None, header_row: int, cells: dict[int, list[str]]) -> bytes:
    book = load_workbook(path)
    sheet = book[sheet_name] if sheet_name and sheet_name in book.sheetnames else book.worksheets[0]
    columns, added = result_columns([c.value for c in sheet[header_row]])
    for column, title in added:
        sheet.cell(row=header_row, column=column + 1, value=title)
    for row, values in cells.items():
        for column, value in zip(columns, values, strict=True):
            sheet.cell(row=row, column=column + 1, value=safe_cell(value))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(path: Path, header_row: int, cells: dict[int, list[str]]) -> bytes:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    rows = list(csv.reader(io.StringIO(text)))
    columns, added = result_columns(list(rows[header_row - 1]) if len(rows) >= header_row else [])
    width = max([len(r) for r in rows] + [c + 1 for c in columns])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, row in enumerate(rows, start=1):
        row = row + [""] * (width - len(row))
        if number == header_row:
            for column, title in added:
                row[column] = title
        for column, value in zip(columns, cells.get(number, []), strict=False):
            row[column] = value
        writer.writerow(safe_row(row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def batch_results(session: Session, user: User, batch_id: int) -> list[tuple[int | None, int | None, Result | None,
                                                                              str | None]]:
    """Return (source row, lead id, result, problem) for every row of a batch, and mark closed leads fed back."""
    batch = batch_in_scope(session, user, batch_id)
    rows = source_rows(session, batch)
    lead_ids = {lead_id for lead_id, _ in rows.values() if lead_id}
    if not rows:  # API and manual batches have no sheet rows: every lead of the batch
        lead_ids = set(session.execute(select(Lead.id).where(Lead.batch_id == batch.id)).scalars())
    results = lead_results(session, lead_ids)
    out: list[tuple[int | None, int | None, Result | None, str | None]] = []
    if rows:
        out = [(row, lead_id, results.get(lead_id) if lead_id else None, problem)
               for row, (lead_id, problem) in sorted(rows.items())]
    else:
        out = [(None, lead_id, results[lead_id], None) for lead_id in sorted(lead_ids)]
    fed = _mark_fed_back(session, lead_ids)
    audit.record(session, "export", "lead_batches", batch.id, fed_back=fed, channel="api")
    return out


def current_results(session: Session, user: User, batch_id: int) -> list[tuple[int, int | None, Result | None,
                                                                              str | None]]:
    """Return the batch's sheet rows with their results so far, without marking anything fed back."""
    batch = batch_in_scope(session, user, batch_id)
    rows = source_rows(session, batch)
    results = lead_results(session, {lead_id for lead_id, _ in rows.values() if lead_id})
    return [(row, lead_id, results.get(lead_id) if lead_id else None, problem)
            for row, (lead_id, problem) in sorted(rows.items())]


GENERIC_HEADERS = ("序号", "姓名", "身份证号码", "手机号码", "现住址", "线索类型", "推送时间")


def _generic_sheet(session: Session, batch: LeadBatch, purpose: str) -> tuple[str, bytes]:
    """Return the results of a batch that came without a sheet (API, manual) as a plain workbook."""
    from openpyxl import Workbook

    leads = list(session.execute(select(Lead).where(Lead.batch_id == batch.id).order_by(Lead.id)).scalars())
    results = lead_results(session, {lead.id for lead in leads})
    book = Workbook()
    sheet = book.active
    sheet.title = "核查反馈"
    sheet.append([*GENERIC_HEADERS, *RESULT_HEADERS])
    for number, lead in enumerate(leads, start=1):
        sheet.append(safe_row([number, lead.name, lead.id_number, lead.phone, lead.current_address, lead.kind,
                               local_time(lead.pushed_at), *results[lead.id].cells()]))
    out = io.BytesIO()
    book.save(out)
    fed = _mark_fed_back(session, {lead.id for lead in leads})
    audit.record_reveal(session, "lead_batches", batch.id, purpose, channel="export", fed_back=fed)
    return f"{batch.source.name}-{batch.reference or batch.id}-核查反馈.xlsx", out.getvalue()
