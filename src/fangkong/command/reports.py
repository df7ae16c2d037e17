"""Daily reports (日报: 每日一上报、一汇总、一反馈): each station and district submits its day, figures
prefilled from the roll-up, the ones only the unit knows typed in; a zero report (零报告) is one click;
the district sees who is missing by the deadline and reminds them; corrections keep the history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.command import rollup
from fangkong.command.models import DailyReport, DailyReportRevision
from fangkong.core.access import require, scope_path
from fangkong.core.capability import FigureKind
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, FieldError, Forbidden, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Unit, UnitKind, User
from fangkong.core.notify import notify

COMMAND_REPORT = "command.report"  # submit one's own unit's daily report
COMMAND_READ = "command.read"  # the dashboard, who has reported, reminders, the city roll-up
REPORTING_KINDS = (UnitKind.DISTRICT, UnitKind.STATION)
MAX_VALUE = 10_000_000
BAD_VALUE = N_("Enter a whole number from 0 to 10,000,000.")
BAD_DAY = N_("A daily report is for today or one of the last 31 days.")
NEED_REASON = N_("Say why the submitted report is corrected.")
NOT_ZERO = N_("A zero report says nothing happened, but the platform counted {figure} today: "
             "submit the figures.")
NOT_REPORTING = N_("Your unit does not submit daily reports (stations and districts do).")
CHANGED_MEANWHILE = N_("The report was changed meanwhile: reload and try again.")
REMINDER = N_("Daily report for {day} not yet submitted (deadline {deadline}).")


def deadline(settings: Any, day: date) -> datetime:
    hour, minute = (int(x) for x in settings.daily_report_deadline.split(":"))
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


def editable_kinds(kinds: dict[str, FigureKind]) -> dict[str, FigureKind]:
    return {k: v for k, v in kinds.items() if v.editable}


def own_report(session: Session, unit_id: int, day: date) -> DailyReport | None:
    return session.execute(select(DailyReport).where(DailyReport.unit_id == unit_id, DailyReport.day == day)
                           ).scalar_one_or_none()


def _check_day(day: date, today: date) -> None:
    if not today - timedelta(days=31) <= day <= today:
        raise ValidationFailed.one("day", BAD_DAY)


def _clean_values(raw: dict[str, str], kinds: dict[str, FigureKind]) -> dict[str, int]:
    values, errors = {}, []
    for key in editable_kinds(kinds):
        text = str(raw.get(key, "") or "0").strip()
        if not text.isdigit() or int(text) > MAX_VALUE:
            errors.append(FieldError(key, BAD_VALUE))
            continue
        values[key] = int(text)
    if errors:
        raise ValidationFailed(errors)
    return values


@dataclass(frozen=True)
class Submission:
    values: dict[str, str]
    note: str = ""
    zero: bool = False
    reason: str = ""  # why a submitted report is corrected
    version: int | None = None  # the version the form showed (compare-and-swap)


def submit_report(session: Session, user: User, day: date, sub: Submission, kinds: dict[str, FigureKind],
                  settings: Any, now: datetime | None = None) -> DailyReport:
    """Store the unit's report for `day`; a second submission is a correction with a reason."""
    require(user, COMMAND_REPORT)
    unit = user.unit
    if unit.kind not in REPORTING_KINDS:
        raise Forbidden(NOT_REPORTING)
    now = now or utcnow()
    _check_day(day, now.astimezone(LOCAL_TZ).date())
    values = _clean_values({} if sub.zero else sub.values, kinds)
    if sub.zero:
        today, _ = rollup.totals(session, kinds, unit.path, day, None)
        counted = [k for k, v in today.items() if v and kinds[k].incident]
        if counted:
            raise Conflict(NOT_ZERO, figure=kinds[counted[0]].label)
    existing = own_report(session, unit.id, day)
    fields = {"zero_report": sub.zero, "values": json.dumps(values), "note": sub.note.strip()[:1000],
              "submitted_at": now, "submitted_by": user.display_name, "late": now > deadline(settings, day)}
    if existing is None:
        report = DailyReport(unit_id=unit.id, day=day, version=1, **fields)
        session.add(report)
        session.flush()
        return report
    if not sub.reason.strip():
        raise ValidationFailed.one("reason", NEED_REASON)
    expected = sub.version if sub.version is not None else existing.version
    session.add(DailyReportRevision(report_id=existing.id, version=existing.version, zero_report=existing.zero_report,
                                    values=existing.values, note=existing.note, submitted_at=existing.submitted_at,
                                    submitted_by=existing.submitted_by, replaced_by=user.display_name,
                                    reason=sub.reason.strip()[:500]))
    fields["late"] = existing.late  # a correction does not make a report on time late, nor a late one on time
    changed = rowcount(session.execute(update(DailyReport).where(DailyReport.id == existing.id,
                                                                 DailyReport.version == expected)
                                       .values(version=expected + 1, **fields)))
    if not changed:
        raise Conflict(CHANGED_MEANWHILE)
    session.refresh(existing)
    return existing


@dataclass(frozen=True)
class UnitStatus:
    unit: Unit
    report: DailyReport | None
    overdue: bool  # no report and the deadline has passed


def reporting_units(session: Session, path: str) -> list[Unit]:
    return list(session.execute(select(Unit).where(Unit.path.startswith(path, autoescape=True),
                                                   Unit.kind.in_([str(k) for k in REPORTING_KINDS]))
                                .order_by(Unit.path)).unique().scalars())


def report_status(session: Session, user: User, day: date, settings: Any,
                  now: datetime | None = None) -> list[UnitStatus]:
    """Return every reporting unit of the user's jurisdiction with its report for `day` (or none)."""
    require(user, COMMAND_READ)
    now = now or utcnow()
    units = reporting_units(session, scope_path(user))
    reports = {r.unit_id: r for r in session.execute(select(DailyReport).where(
        DailyReport.day == day, DailyReport.unit_id.in_([u.id for u in units]))).scalars()}
    late = now > deadline(settings, day)
    return [UnitStatus(u, reports.get(u.id), late and u.id not in reports) for u in units]


def remind(session: Session, units: list[Unit], day: date, settings: Any, by: str) -> int:
    """Notify each unit that its report for `day` is missing; return how many were told now."""
    told = 0
    for unit in units:
        told += notify(session, kind="report_missing", message=REMINDER, href=f"/command/report?day={day}",
                       unit_id=unit.id, dedupe_key=f"report:{unit.id}:{day}:{by}", day=day.isoformat(),
                       deadline=settings.daily_report_deadline)
    return told


def deadline_job(session: Session, ctx: Any) -> int:
    """Scheduler job: at the deadline, every unit still missing is reminded (once a day, by the system)."""
    local = ctx.now.astimezone(LOCAL_TZ)
    day = local.date()
    if ctx.now < deadline(ctx.settings, day):
        return 0
    units = reporting_units(session, "/")
    reported = set(session.execute(select(DailyReport.unit_id).where(DailyReport.day == day)).scalars())
    return remind(session, [u for u in units if u.id not in reported], day, ctx.settings, "system")


def revisions(session: Session, report: DailyReport) -> list[DailyReportRevision]:
    return list(session.execute(select(DailyReportRevision).where(DailyReportRevision.report_id == report.id)
                                .order_by(DailyReportRevision.version.desc())).scalars())
