"""`fangkong leads import | list`: the leads loop from a terminal, through the same use cases as the pages.

The command runs as the server's operator with the command centre's reach over the whole city.
"""

from __future__ import annotations

import getpass
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from fangkong.core import audit
from fangkong.core.clock import local_time
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database
from fangkong.core.errors import DomainError, ValidationFailed
from fangkong.core.i18n import gettext
from fangkong.core.models import Role, Unit, User
from fangkong.core.settings import load_settings
from fangkong.core.units import district_code_of
from fangkong.leads.models import Lead, LeadSourceRow
from fangkong.leads.sheet_import import import_sheet, preview_sheet

leads_app = typer.Typer(help="Leads (线索): import pushed sheets, list leads.", no_args_is_help=True)
console = Console()


def _operator(session: Any) -> User:
    """A transient command-centre user at the root of the tree: the operator running the command."""
    root = session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
    name = f"cli:{getpass.getuser()}"
    return User(id=None, username=name, display_name=name, role=Role.COMMAND, unit_id=root.id, unit=root,
                password_hash="", active=True)


def _fail(exc: DomainError) -> None:
    errors = getattr(exc, "errors", [])
    for err in errors:
        console.print(f"[red]{err.field}: {gettext(err.message, **err.params)}[/]")
    if not errors:
        console.print(f"[red]{gettext(exc.detail, **exc.params)}[/]")
    raise typer.Exit(2)


@leads_app.command("import")
def import_file(file: Path, source: Annotated[str, typer.Option(help="Who pushed the sheet.")],
                as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
                two_legs: Annotated[bool, typer.Option(help="Police and community both verify.")] = False) -> None:
    """Import a pushed sheet (.xlsx or .csv): normalise, match, dispatch; print what happened."""
    settings = load_settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    try:
        with acting_as(Actor(username=f"cli:{getpass.getuser()}")), db.unit_of_work() as session:
            user = _operator(session)
            preview = preview_sheet(session, user, settings, source, file.name, file.read_bytes())
            batch, result = import_sheet(session, user, settings, source, preview.sha256, file.name, {}, two_legs)
            summary = _summary(session, preview, batch.id, result)
    except (ValidationFailed, DomainError) as exc:
        _fail(exc)
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    console.print(f"batch {summary['batch']}: {summary['rows_read']} rows, {summary['leads_created']} new leads, "
                  f"{summary['duplicates_merged']} duplicates merged, {len(summary['rows_with_problems'])} rows "
                  f"refused, {len(summary['rows_flagged'])} with a field set aside, {summary['unresolved']} unresolved")
    for unit, count in summary["dispatched_per_unit"].items():
        console.print(f"  {unit}: {count}")


def _summary(session: Any, preview: Any, batch_id: int, result: Any) -> dict[str, Any]:
    leads = session.execute(select(Lead.status, Unit.name).join(Unit, Unit.id == Lead.unit_id)
                            .where(Lead.batch_id == batch_id)).all()
    return {
        "batch": batch_id,
        "already_imported": result is None,
        "rows_read": len(preview.sheet.rows),
        "leads_created": result.new if result else 0,
        "duplicates_merged": result.repeated if result else 0,
        "rows_with_problems": [{"row": r.row, "fields": sorted({p.field for p in r.problems})} for r in preview.bad],
        "rows_flagged": [{"row": r.row, "fields": sorted({p.field for p in r.flags})} for r in preview.flagged],
        "dispatched_per_unit": dict(Counter(unit for status, unit in leads if status == "dispatched")),
        "unresolved": sum(1 for status, _unit in leads if status in ("manual", "outside")),
    }


@leads_app.command("list")
def list_leads(purpose: Annotated[str, typer.Option(help="Why you need the full ID numbers (audited).")],
               batch: Annotated[int | None, typer.Option(help="Only this batch.")] = None,
               as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List leads with their source row, person, unit, district code, status and due time."""
    settings = load_settings()
    db = Database(settings.database_url, audit_key=settings.audit_key)
    with acting_as(Actor(username=f"cli:{getpass.getuser()}")), db.unit_of_work() as session:
        stmt = (select(Lead, Unit, LeadSourceRow.row).join(Unit, Unit.id == Lead.unit_id)
                .outerjoin(LeadSourceRow, LeadSourceRow.lead_id == Lead.id).order_by(Lead.id))
        if batch is not None:
            stmt = stmt.where(Lead.batch_id == batch)
        rows, seen, districts = [], set(), {}
        for lead, unit, source_row in session.execute(stmt).unique().all():
            if lead.id in seen:
                continue
            seen.add(lead.id)
            if unit.id not in districts:
                districts[unit.id] = district_code_of(session, unit)
            rows.append({"lead": lead.id, "batch": lead.batch_id, "source_row": source_row,
                         "id_number": lead.id_number, "unit": unit.name, "district": districts[unit.id],
                         "status": lead.status, "due_at": lead.due_at.isoformat() if lead.due_at else None})
        audit.record_reveal(session, "leads", None, purpose, channel="cli", results=len(rows))
    db.dispose()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("lead", "row", "unit", "district", "status", "due")
    for r in rows:
        table.add_row(str(r["lead"]), str(r["source_row"] or ""), r["unit"], r["district"] or "", r["status"],
                      local_time_iso(r["due_at"]))
    console.print(table)


def local_time_iso(value: str | None) -> str:
    return local_time(datetime.fromisoformat(value)) if value else ""

