"""The trace report as files: Word (.docx, A4, for signing and filing) and Excel (.xlsx, every contact).

Every Excel cell goes through `core.export.safe_row`, so a name or a place typed by anyone never becomes
a live formula; Word has no formulas. Both hold what the page holds (tracing/report.py), in the
language of the request; the Excel file also lists every secondary contact.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from fangkong.core.clock import local_time
from fangkong.core.export import safe_row
from fangkong.core.i18n import N_, gettext
from fangkong.tracing.contacts import KIND_LABELS
from fangkong.tracing.report import SECONDARY_LISTED, STAGES, STATES, Deadline, TraceReport

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def title(report: TraceReport) -> str:
    return gettext("Trace report: {name}", name=report.person.name)


def facts(report: TraceReport) -> list[tuple[str, str]]:
    """Return the case's basic facts as (label, value), identifiers as the report holds them."""
    p = report.person
    return [
        (gettext("Name"), p.name),
        (gettext("Sex"), {"M": gettext("Male"), "F": gettext("Female")}.get(p.sex or "", "")),
        (gettext("Age"), p.age_band), (gettext("ID number"), p.id_number or ""), (gettext("Phone"), p.phone or ""),
        (gettext("Current address"), p.current_address or ""), (gettext("Unit"), p.unit_name),
        (gettext("Risk status"), report.status), (gettext("Case reported"), local_time(report.reported_at)
                                                  + f"（{gettext(report.reported_basis)}）"),
        (gettext("Onset (or sampling, if asymptomatic)"), local_time(report.onset)),
        (gettext("Isolated at"), local_time(report.isolated) or gettext("end of data")),
        (gettext("Protocol profile"), report.profile),
        (gettext("Traced"), f"{local_time(report.traced_at)} {report.traced_by or ''}".strip()),
        (gettext("Close contacts"), str(len(report.close))),
        (gettext("Secondary contacts"), str(len(report.secondary))),
    ]


def deadline_row(d: Deadline) -> list[str]:
    return [gettext(STAGES[d.stage]), local_time(d.due), local_time(d.done_at), d.done_by or "",
            gettext(STATES[d.state])]


DEADLINE_HEAD = (N_("Stage"), N_("Due"), N_("Submitted"), N_("By"), N_("On time?"))
TRAJECTORY_HEAD = (N_("When"), N_("Place"), N_("Kind"))
CLOSE_HEAD = (N_("Place"), N_("Kind"), N_("The case's stay"), N_("Contact"), N_("ID number"), N_("Phone"),
              N_("Overlap"), N_("Goes to"), N_("Lead"), N_("State"))
DISPATCH_HEAD = (N_("Contact"), N_("Close / secondary"), N_("ID number"), N_("Phone"), N_("Goes to"), N_("Lead"),
                 N_("State"), N_("Through close contacts"))
CONTACT_HEAD = (N_("Contact"), N_("ID number"), N_("Overlap"), N_("Goes to"), N_("Lead"), N_("State"))
SECONDARY_HEAD = (N_("Contact"), N_("ID number"), N_("Goes to"), N_("Lead"), N_("State"), N_("Through close contacts"))
UNIT_HEAD = (N_("Unit"), N_("Close contacts"), N_("Secondary contacts"), N_("Dispatched"), N_("Verified"),
             N_("Overdue"), N_("Not yet dispatched"))


def close_rows(report: TraceReport) -> list[list[str]]:
    rows = []
    for g in report.groups:
        for r in g.rows:
            c = report.lines[r.contact.exposure.id]
            rows.append([report.places.get(g.place, g.place), gettext(_kind(g.kind)), g.when, c.name, c.id_number,
                         c.phone, "；".join(r.spans), c.unit_name, str(c.lead_id or ""), c.state])
    return rows


def dispatch_rows(report: TraceReport, secondary_limit: int | None = None) -> list[list[str]]:
    hop = {1: gettext("Close contact"), 2: gettext("Secondary contact")}
    secondary = report.secondary if secondary_limit is None else report.secondary[:secondary_limit]
    return [[c.name, hop[c.hop], c.id_number, c.phone, c.unit_name, str(c.lead_id or ""), c.state, c.via]
            for c in report.close + secondary]


def unit_rows(report: TraceReport) -> list[list[Any]]:
    return [[u.unit_name, u.close, u.secondary, u.dispatched, u.verified, u.overdue, u.waiting] for u in report.units]


def _kind(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def _head(names: Sequence[str]) -> list[str]:
    return [gettext(n) for n in names]


# --- Excel ------------------------------------------------------------------------------------------

def report_xlsx(report: TraceReport) -> bytes:
    """Return the report as a workbook: facts and deadlines, trajectory, close contacts by place, the dispatch
    of every contact, and the counts by unit."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    big = book.add_format({"bold": True, "font_size": 14})

    def sheet(name: str, head: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[int]) -> Any:
        ws = book.add_worksheet(gettext(name)[:31])
        ws.write_row(0, 0, _head(head), bold)
        for i, row in enumerate(rows, start=1):
            ws.write_row(i, 0, safe_row(row))
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.freeze_panes(1, 0)
        return ws

    ws = book.add_worksheet(gettext("Basic facts")[:31])
    ws.write_row(0, 0, safe_row([title(report)]), big)
    row = 2
    for label, value in facts(report):
        ws.write_row(row, 0, safe_row([label, value]))
        row += 1
    row += 1
    ws.write_row(row, 0, _head(DEADLINE_HEAD), bold)
    for d in report.deadlines:
        row += 1
        ws.write_row(row, 0, safe_row(deadline_row(d)))
    ws.write_row(row + 2, 0, safe_row([gettext("Written"), local_time(report.generated_at)]))
    ws.set_column(0, 0, 24)
    ws.set_column(1, 4, 22)
    sheet(N_("Trajectory"), TRAJECTORY_HEAD, [list(t) for t in report.trajectory], (30, 40, 12))
    sheet(N_("Close contacts by place"), CLOSE_HEAD, close_rows(report), (30, 10, 30, 12, 22, 14, 40, 18, 8, 16))
    sheet(N_("Dispatch status"), DISPATCH_HEAD, dispatch_rows(report), (12, 12, 22, 14, 18, 8, 16, 30))
    sheet(N_("By unit"), UNIT_HEAD, unit_rows(report), (22, 12, 12, 12, 12, 12, 14))
    book.close()
    return out.getvalue()


# --- Word -------------------------------------------------------------------------------------------

def report_docx(report: TraceReport) -> bytes:
    """Return the report as a Word document on A4 (portrait), Chinese text set in a CJK font."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(18))
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Table Grid"):
        style = doc.styles[name]
        style.font.name = "SimSun"
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    doc.styles["Normal"].font.size = Pt(10.5)

    def table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        t = doc.add_table(rows=1 + len(rows), cols=len(head))
        t.style = doc.styles["Table Grid"]
        cells = t._cells  # one pass over the cells: python-docx looks each cell up from the start otherwise
        width = len(head)
        for col, text in enumerate(head):
            cells[col].text = gettext(text)
            for run in cells[col].paragraphs[0].runs:
                run.bold = True
        for i, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                cells[i * width + col].text = str(value)

    doc.add_heading(title(report), level=0)
    doc.add_paragraph(gettext("Written {at}", at=local_time(report.generated_at))
                      + ("　" + gettext("ID numbers in full: this copy is recorded as a reveal.")
                         if report.revealed else ""))
    doc.add_heading(gettext("Basic facts"), level=1)
    table((N_("Item"), N_("Value")), facts(report))
    doc.add_heading(gettext("Deadlines"), level=1)
    table(DEADLINE_HEAD, [deadline_row(d) for d in report.deadlines])
    doc.add_heading(gettext("Trajectory"), level=1)
    table(TRAJECTORY_HEAD, report.trajectory)
    doc.add_heading(gettext("Close contacts by place and time"), level=1)
    for g in report.groups:
        doc.add_heading(f"{report.places.get(g.place, g.place)}　{gettext(_kind(g.kind))}　{g.when}", level=2)
        rows = []
        for r in g.rows:
            c = report.lines[r.contact.exposure.id]
            rows.append([c.name, c.id_number, "；".join(r.spans), c.unit_name, str(c.lead_id or ""), c.state])
        table(CONTACT_HEAD, rows)
    doc.add_heading(gettext("Dispatch status"), level=1)
    table(UNIT_HEAD, unit_rows(report))
    doc.add_heading(gettext("Secondary contacts"), level=1)
    table(SECONDARY_HEAD,
          [[c.name, c.id_number, c.unit_name, str(c.lead_id or ""), c.state, c.via] for c in report.secondary_listed])
    if len(report.secondary) > SECONDARY_LISTED:
        doc.add_paragraph(gettext("{n} more secondary contacts are listed in the Excel file.",
                                  n=len(report.secondary) - SECONDARY_LISTED))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
