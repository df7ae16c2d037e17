"""Sheet intake: upload → preview (row-level problems, nothing saved) → confirm → leads.

The uploaded file is kept under var/uploads by its SHA-256: confirming re-reads exactly what was
previewed, and feedback later reopens it to add the result columns in the source's own layout.
Importing the same sheet again returns the existing batch and creates nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit, sheets
from fangkong.core.access import LEAD_INTAKE, require
from fangkong.core.context import current_actor
from fangkong.core.db import in_chunks, one_of
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_, translations
from fangkong.core.models import User
from fangkong.core.settings import Settings
from fangkong.leads.deadlines import PRIORITIES, parse_rules
from fangkong.leads.intake import IntakeResult, LeadInput, dedupe_key, get_or_create_source, remember_mapping, take_in
from fangkong.leads.models import Lead, LeadBatch, LeadSource
from fangkong.leads.sheets import ParsedSheet, SheetError, SheetRow, read_sheet

NAME_SOURCE = N_("Name the source (who pushed this sheet).")


@dataclass
class Preview:
    sha256: str
    file_name: str
    source_name: str
    sheet: ParsedSheet
    repeated_in_sheet: int
    already_known: int
    existing_batch_id: int | None

    @property
    def good(self) -> list[SheetRow]:
        return [r for r in self.sheet.rows if r.ok]

    @property
    def bad(self) -> list[SheetRow]:
        return [r for r in self.sheet.rows if not r.ok]

    @property
    def flagged(self) -> list[SheetRow]:
        """Rows imported with a field set aside (a bad phone, an ID number failing its check)."""
        return [r for r in self.sheet.rows if r.ok and r.flags]


def uploads_dir(settings: Settings) -> Path:
    return sheets.uploads_dir(settings.var_dir)


def _store(settings: Settings, file_name: str, data: bytes) -> str:
    try:
        return sheets.keep_upload(settings.var_dir, file_name, data)
    except SheetError as exc:
        raise ValidationFailed.one("file", exc.message, **exc.params) from None


_PARSED: OrderedDict[tuple[str, str], ParsedSheet] = OrderedDict()  # the last previews, by file and mapping
_PARSED_KEEP = 4


def _parse(data: bytes, file_name: str, mapping: dict[str, str]) -> ParsedSheet:
    """Return the parsed sheet; confirming right after a preview reuses the preview's reading."""
    key = (hashlib.sha256(data).hexdigest() + Path(file_name).suffix.lower(), json.dumps(mapping, sort_keys=True))
    if key in _PARSED:
        _PARSED.move_to_end(key)
        return _PARSED[key]
    try:
        sheet = read_sheet(data, file_name, mapping or None)
    except SheetError as exc:
        raise ValidationFailed.one("file", exc.message, **exc.params) from None
    _PARSED[key] = sheet
    # Confirming sends back the mapping the preview showed: keep the reading under that key too.
    shown = {sheet.headers[i]: f for i, f in sheet.mapping.items() if sheet.headers[i]}
    _PARSED[(key[0], json.dumps(shown, sort_keys=True))] = sheet
    while len(_PARSED) > _PARSED_KEEP:
        _PARSED.popitem(last=False)
    return sheet


def _source(session: Session, name: str) -> LeadSource | None:
    return session.execute(select(LeadSource).where(LeadSource.name == name)).scalar_one_or_none()


def preview_sheet(session: Session, user: User, settings: Settings, source_name: str, file_name: str, data: bytes,
                  mapping: dict[str, str] | None = None) -> Preview:
    """Read and check a pushed sheet without saving any lead."""
    require(user, LEAD_INTAKE)
    source_name = " ".join(source_name.split())
    if not source_name:
        raise ValidationFailed.one("source", NAME_SOURCE)
    sha = _store(settings, file_name, data)
    source = _source(session, source_name)
    remembered = mapping if mapping is not None else json.loads(source.mapping) if source else {}
    sheet = _parse(data, file_name, remembered)
    keys = [_key(source.id if source else 0, row) for row in sheet.rows if row.ok]
    known = 0
    if source is not None and keys:
        known = sum(len(session.execute(select(Lead.id).where(one_of(session, Lead.dedupe_key, chunk))).all())
                    for chunk in in_chunks(session, sorted(set(keys))))
    existing = None
    if source is not None:
        existing = session.execute(select(LeadBatch.id).where(LeadBatch.source_id == source.id,
                                                              LeadBatch.file_sha256 == sha)).scalar()
    audit.record(session, "preview", "lead_batches", None, file_sha256=sha, rows=len(sheet.rows))
    return Preview(sha, file_name, source_name, sheet, len(keys) - len(set(keys)), known, existing)


def _key(source_id: int, row: SheetRow) -> str:
    return dedupe_key(source_id, _input(row))


def _input(row: SheetRow) -> LeadInput:
    v = row.values
    return LeadInput(name=v.get("name"), id_number=v.get("id_number"), phone=v.get("phone"),
                     current_address=v.get("current_address"), origin=v.get("origin"), pushed_at=v.get("pushed_at"),
                     kind=v.get("kind"), priority=v.get("priority"), note=v.get("note"), row=row.row,
                     birth_date=v.get("birth_date"), flags=",".join(sorted({p.field for p in row.flags})) or None)


def problem_text(row: SheetRow) -> str:
    """Return a row's problems in Chinese, for the upstream's feedback sheet."""
    zh = translations("zh_CN")
    return "；".join(zh.gettext(p.message).format(**p.params) for p in row.problems)


def import_sheet(session: Session, user: User, settings: Settings, source_name: str, sha256: str, file_name: str,
                 mapping: dict[str, str], two_legs: bool = False,
                 priority: str = "") -> tuple[LeadBatch, IntakeResult | None]:
    """Create the leads of a previewed sheet; the same sheet again returns its batch and creates nothing.

    `priority` is the batch's: rows without a priority column take it (a sheet pushed as urgent)."""
    require(user, LEAD_INTAKE)
    if priority and priority not in PRIORITIES:
        raise ValidationFailed.one("priority", N_("Choose one of the options."))
    try:
        data = sheets.kept_upload(settings.var_dir, sha256, file_name)
    except SheetError as exc:
        raise ValidationFailed.one("file", exc.message, **exc.params) from None
    source = get_or_create_source(session, " ".join(source_name.split()))
    if two_legs and not source.two_legs:
        source.two_legs = True
    existing = session.execute(select(LeadBatch).where(LeadBatch.source_id == source.id,
                                                       LeadBatch.file_sha256 == sha256)).scalar_one_or_none()
    if existing is not None:
        return existing, None
    sheet = _parse(data, file_name, mapping)
    batch = LeadBatch(source_id=source.id, channel="sheet", reference=Path(file_name).name[:100],
                      file_sha256=sha256, file_name=Path(file_name).name[:255], sheet_name=sheet.sheet_name,
                      header_row=sheet.header_row, unit_id=user.unit_id, received_by=current_actor.get().username,
                      priority=priority or None)
    session.add(batch)
    session.flush()
    items = [_input(row) for row in sheet.rows if row.ok]
    rejected = [(row.row, problem_text(row)) for row in sheet.rows if not row.ok]
    result = take_in(session, source, batch, items, rejected, rules=parse_rules(settings.lead_deadlines))
    remember_mapping(source, sheet.headers, sheet.mapping)
    return batch, result
