"""The daily situation report (疫情防控工作日报) of a unit's jurisdiction: one column per child unit (a
district for the city, a station for a district), the total, and the running total since the response
began; the units that have not reported are named. The same summary feeds the printable page, the
Excel sheet and the API."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command import rollup
from fangkong.command.levels import LEVEL_LABELS, Response, response_on
from fangkong.command.reports import COMMAND_READ, report_status
from fangkong.core.access import require
from fangkong.core.capability import FigureKind
from fangkong.core.export import safe_cell
from fangkong.core.i18n import gettext
from fangkong.core.models import Unit, User


@dataclass
class Summary:
    unit: Unit
    day: date
    kinds: dict[str, FigureKind]
    columns: list[Unit]  # the child units, one column each
    cells: dict[int, dict[str, int]]  # child unit id -> key -> value of the day
    total: dict[str, int]
    running: dict[str, int]
    response: Response | None
    reported: int
    expected: int
    missing: list[Unit] = field(default_factory=list)
    late: list[Unit] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (unit name, note)


def build_summary(session: Session, user: User, day: date, kinds: dict[str, FigureKind], settings: Any) -> Summary:
    """Return the jurisdiction's daily report for `day` (the user's unit and its children)."""
    require(user, COMMAND_READ)
    unit = user.unit
    columns = list(session.execute(select(Unit).where(Unit.parent_id == unit.id, Unit.kind != "agency")
                                   .order_by(Unit.code)).unique().scalars())
    cells = {c.id: rollup.totals(session, kinds, c.path, day, None)[0] for c in columns}
    response = response_on(session, day)
    total, running = rollup.totals(session, kinds, unit.path, day, response.began if response else None)
    status = report_status(session, user, day, settings)
    summary = Summary(unit, day, kinds, columns, cells, total, running, response,
                      reported=sum(1 for s in status if s.report is not None), expected=len(status))
    summary.missing = [s.unit for s in status if s.report is None]
    summary.late = [s.unit for s in status if s.report is not None and s.report.late]
    summary.notes = [(s.unit.name, s.report.note) for s in status if s.report is not None and s.report.note]
    return summary


def summary_json(s: Summary) -> dict[str, Any]:
    return {"unit": s.unit.name, "day": s.day.isoformat(),
            "response": {"level": s.response.level, "since": s.response.since.isoformat(),
                         "began": s.response.began.isoformat()} if s.response else None,
            "figures": [{"key": k, "label": gettext(kind.label), "day": s.total.get(k, 0),
                         "running": s.running.get(k, 0),
                         "by_unit": {c.name: s.cells[c.id].get(k, 0) for c in s.columns}}
                        for k, kind in s.kinds.items()],
            "reported": s.reported, "expected": s.expected, "missing": [u.name for u in s.missing],
            "late": [u.name for u in s.late], "notes": [{"unit": u, "note": n} for u, n in s.notes]}


def summary_xlsx(s: Summary) -> bytes:
    """Return the report as a workbook in the layout of a Chinese daily situation report."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = s.day.isoformat()
    width = len(s.columns) + 3
    thin = Side(style="thin")
    ws.append([safe_cell(gettext("{unit} daily report on epidemic prevention and control", unit=s.unit.name))])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font, ws["A1"].alignment = Font(bold=True, size=16), Alignment(horizontal="center")
    level = gettext(LEVEL_LABELS[s.response.level]) if s.response else gettext("No response level in force")
    began = s.response.began.isoformat() if s.response else ""
    ws.append([gettext("Date"), s.day.isoformat(), gettext("Unit"), safe_cell(s.unit.name),
               gettext("Response level"), level, gettext("Since"), began])
    ws.append([gettext("Reported"), f"{s.reported}/{s.expected}"])
    header = [gettext("Item"), *[safe_cell(c.name) for c in s.columns], gettext("Total"),
              gettext("Running total since the response began")]
    ws.append(header)
    header_row = ws.max_row
    for key, kind in s.kinds.items():
        ws.append([gettext(kind.label), *[s.cells[c.id].get(key, 0) for c in s.columns], s.total.get(key, 0),
                   s.running.get(key, 0) if kind.kind == "flow" else "—"])
    for row in ws.iter_rows(min_row=header_row, max_row=ws.max_row, max_col=width):
        for cell in row:
            cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    ws.append([])
    ws.append([gettext("Not reported"), safe_cell("、".join(u.name for u in s.missing) or gettext("none"))])
    ws.append([gettext("Reported late"), safe_cell("、".join(u.name for u in s.late) or gettext("none"))])
    for unit_name, note in s.notes:
        ws.append([gettext("Note"), safe_cell(unit_name), safe_cell(note)])
    ws.column_dimensions["A"].width = 30
    for col in range(2, width + 1):
        ws.column_dimensions[get_column_letter(col)].width = 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def values_of(report: Any) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads(report.values).items()}
