"""The trace report (流调报告, issue 22): what the protocol asks of a flow investigation, and its deadlines.

The core facts are due 4 hours after the case was reported and the full report 24 hours after; the
case counts as reported when it was given a case status (confirmed or asymptomatic), or, when it never
was, when it was first traced. The tracer marks each stage as submitted; the report shows each
deadline and whether it was met.

The report holds the case's basic facts (ID number and phone masked unless revealed with a stated
purpose: then the read is audited as a reveal, like a person file's), its trajectory, its close
contacts by place and time, and the dispatch of every contact (lead, unit, state). The page prints
on A4; the same report is written as Word (.docx) and Excel (.xlsx) by tracing/report_files.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import PERSON_REVEAL, TRACE_RUN, require
from fangkong.core.codes import mask_id_number, mask_phone
from fangkong.core.db import utcnow
from fangkong.core.errors import Conflict, NotFound, ValidationFailed
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import User
from fangkong.leads.workflow import STATUS_LABELS
from fangkong.people.models import CASES, STATUSES, Person, RiskStatus
from fangkong.people.service import PersonView
from fangkong.tracing.casedata import CaseData, case_data
from fangkong.tracing.cases import ContactView, Presence, get_case
from fangkong.tracing.contacts import KIND_LABELS, Group, group_close, span_text
from fangkong.tracing.models import TraceCase

CORE_DUE, FULL_DUE = timedelta(hours=4), timedelta(hours=24)
STAGES = {"core": N_("Core facts"), "full": N_("Full report")}
STATES = {"met": N_("Met"), "late": N_("Submitted late"), "open": N_("Not yet submitted"), "overdue": N_("Overdue")}
SECONDARY_LISTED = 500  # secondary contacts listed on the page and in Word; every one is in the Excel file
NOT_TRACED = N_("Run the trace before submitting the report.")


@dataclass(frozen=True)
class Deadline:
    stage: str
    due: datetime
    done_at: datetime | None
    done_by: str | None

    @property
    def state(self) -> str:
        if self.done_at is not None:
            return "met" if self.done_at <= self.due else "late"
        return "open" if utcnow() <= self.due else "overdue"


@dataclass(frozen=True)
class ReportContact:
    """One contact's line in the report: who, where it goes, its lead and the lead's state."""

    exposure_id: int
    hop: int
    name: str
    id_number: str  # masked unless revealed
    phone: str
    unit_name: str
    lead_id: int | None
    state: str  # translated: the lead's state, overdue, not yet dispatched, struck
    overdue: bool
    verified: bool
    struck: bool
    via: str = ""  # secondary contacts: the close contacts they came through


@dataclass(frozen=True)
class UnitLine:
    unit_name: str
    close: int
    secondary: int
    dispatched: int
    verified: int
    overdue: int
    waiting: int  # not yet dispatched


@dataclass(frozen=True)
class TraceReport:
    person: PersonView
    status: str  # translated current risk status
    onset: datetime
    isolated: datetime | None
    profile: str
    traced_at: datetime | None
    traced_by: str | None
    reported_at: datetime
    reported_basis: str  # msgid: why that moment counts as reported
    deadlines: list[Deadline]
    trajectory: list[tuple[str, str, str]]  # (when, place, kind), translated
    groups: list[Group]
    places: dict[str, str]
    close: list[ReportContact]
    secondary: list[ReportContact]
    units: list[UnitLine]
    revealed: bool
    generated_at: datetime = field(default_factory=utcnow)
    lines: dict[int, ReportContact] = field(default_factory=dict)  # exposure id → its line

    @property
    def secondary_listed(self) -> list[ReportContact]:
        return self.secondary[:SECONDARY_LISTED]


def reported_at(session: Session, person: Person, first_traced: datetime) -> tuple[datetime, str]:
    """Return when the case was reported: its first case status, else when it was first traced."""
    since = session.execute(select(func.min(RiskStatus.since)).where(
        RiskStatus.person_id == person.id, RiskStatus.status.in_(CASES))).scalar_one_or_none()
    if since is not None:
        return since, N_("Case status set")
    return first_traced, N_("First traced (no case status recorded)")


def deadlines_of(case: TraceCase, since: datetime) -> list[Deadline]:
    """Return the report's two deadlines, counted from when the case was reported."""
    return [Deadline("core", since + CORE_DUE, case.core_reported_at, case.core_reported_by),
            Deadline("full", since + FULL_DUE, case.full_reported_at, case.full_reported_by)]


def case_deadlines(session: Session, person: Person, case: TraceCase) -> list[Deadline]:
    """Return a case's report deadlines (for the case page)."""
    return deadlines_of(case, reported_at(session, person, case.created_at)[0])


def build_report(session: Session, user: User, person_id: int, presence: Presence, fmt: str = "html",
                 purpose: str = "") -> TraceReport:
    """Return a case's trace report; with a purpose, identifiers in full (audited as a reveal), else masked
    (audited as a read of the report)."""
    reveal = bool(purpose.strip())
    if reveal:
        require(user, PERSON_REVEAL)
        if len(" ".join(purpose.split())) < audit.MIN_PURPOSE:
            raise ValidationFailed.one("purpose", audit.PURPOSE_REQUIRED, n=audit.MIN_PURPOSE)
    data = case_data(session, user, person_id, presence, "trace_report", format=fmt)
    view, case = data.view, data.view.case
    if case is None:
        raise NotFound()
    if reveal:
        audit.record_reveal(session, "trace_cases", case.id, purpose, format=fmt,
                            persons=1 + len(view.close) + len(view.secondary))
    since, basis = reported_at(session, view.person, case.created_at)
    deadlines = deadlines_of(case, since)
    close = [_line(data, c, reveal) for c in view.close]
    secondary = [_line(data, c, reveal) for c in view.secondary]
    names = {c.exposure_id: c.unit_name for c in close}
    current = session.execute(select(RiskStatus.status).where(RiskStatus.person_id == view.person.id,
                                                               RiskStatus.ended_at.is_(None))
                              .order_by(RiskStatus.since.desc()).limit(1)).scalar_one_or_none()
    return TraceReport(
        PersonView.of(view.person, revealed=reveal), gettext(STATUSES.get(current or "", current or "—")),
        case.onset, case.isolated, case.profile, case.traced_at, case.traced_by, since, basis, deadlines,
        [(span_text(s.t_in, s.t_out), view.places.get(s.place, s.place), gettext(KIND_LABELS.get(s.kind, s.kind)))
         for s in view.trajectory],
        group_close(view.close, view.trajectory, names), view.places, close, secondary,
        _units(close, secondary), reveal, lines={c.exposure_id: c for c in close + secondary})


def _line(data: CaseData, contact: ContactView, reveal: bool) -> ReportContact:
    x, person = contact.exposure, contact.person
    lead = data.leads.get(x.lead_id) if x.lead_id else None
    if x.struck_at is not None:
        state = gettext("Struck") + f": {x.strike_reason or ''}"
    elif lead is not None:
        state = gettext("Overdue") if lead.overdue else gettext(STATUS_LABELS.get(lead.status, lead.status))
    elif x.lead_id:
        state = gettext("Dispatched")
    else:
        state = gettext("Not yet dispatched")
    number = (person.id_number or "") if person is not None else ""
    phone = (person.phone or "") if person is not None else ""
    return ReportContact(x.id, x.hop, contact.name, number if reveal else mask_id_number(number) if number else "",
                         phone if reveal else mask_phone(phone) if phone else "", data.unit_name(x.id), x.lead_id,
                         state, bool(lead and lead.overdue), bool(lead and lead.status in ("verified", "fed_back")),
                         x.struck_at is not None, "、".join(data.view.names.get(v, v) for v in contact.via))


def _units(close: list[ReportContact], secondary: list[ReportContact]) -> list[UnitLine]:
    lines: dict[str, Counter[str]] = {}
    for c in close + secondary:
        n = lines.setdefault(c.unit_name or "—", Counter())
        n["close" if c.hop == 1 else "secondary"] += 1
        if c.lead_id:
            n["dispatched"] += 1
            n["verified"] += c.verified
            n["overdue"] += c.overdue
        elif not c.struck:
            n["waiting"] += 1
    units = [UnitLine(name, n["close"], n["secondary"], n["dispatched"], n["verified"], n["overdue"], n["waiting"])
             for name, n in lines.items()]
    return sorted(units, key=lambda u: (-u.close - u.secondary, u.unit_name))


def submit_stage(session: Session, user: User, person_id: int, stage: str) -> None:
    """Mark the core facts or the full report as submitted now (the full report submits the core facts too)."""
    require(user, TRACE_RUN)
    if stage not in STAGES:
        raise ValidationFailed.one("stage", N_("Choose one of the options."))
    _person, case = get_case(session, user, person_id)
    if case is None or case.traced_at is None:
        raise Conflict(NOT_TRACED)
    now = utcnow()
    if case.core_reported_at is None:
        case.core_reported_at, case.core_reported_by = now, user.display_name
    if stage == "full" and case.full_reported_at is None:
        case.full_reported_at, case.full_reported_by = now, user.display_name
    audit.record(session, "trace_report_submit", "trace_cases", case.id, stage=stage)
