"""Sheet intake: upload → preview (row-level problems, nothing saved) → confirm → leads.

The uploaded file is kept under var/uploads by its SHA-256: confirming re-reads exactly what was
previewed, and feedback later reopens it to add the result columns in the source's own layout.
Importing the same sheet again returns the existing batch and creates nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit, sheets
from fangkong.core.access import LEAD_INTAKE, require
from fangkong.core.codes import mask_id_number, mask_phone
from fangkong.core.context import current_actor
from fangkong.core.db import in_chunks, one_of
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_, translations
from fangkong.core.models import User
from fangkong.core.settings import Settings
from fangkong.core.sheets import NO_PROGRESS, Progress
from fangkong.leads.deadlines import PRIORITIES, parse_rules
from fangkong.leads.intake import IntakeResult, LeadInput, dedupe_key, get_or_create_source, remember_mapping, take_in
from fangkong.leads.models import Lead, LeadBatch, LeadSource
from fangkong.leads.sheets import ParsedSheet, RowProblem, SheetError, SheetRow, read_sheet

NAME_SOURCE = N_("Name the source (who pushed this sheet).")


SHOWN_ROWS, FIRST_ROWS = 200, 20  # rows with problems, and first good rows, that the preview page lists


@dataclass
class Preview:
    sha256: str
    file_name: str
    source_name: str
    sheet: ParsedSheet
    repeated_in_sheet: int
    already_known: int
    existing_batch_id: int | None

    def summary(self) -> dict[str, Any]:
        """Return what the preview page shows, as JSON: counts, the mapping, the rows with problems and the
        first good rows, identifiers masked (a background job keeps it in its row)."""
        sheet, good, flagged = self.sheet, self.good, self.flagged
        bad = self.bad
        return {"sha256": self.sha256, "file_name": self.file_name, "source_name": self.source_name,
                "header_row": sheet.header_row, "headers": sheet.headers,
                "mapping": {str(col): fld for col, fld in sheet.mapping.items()},
                "rows": len(sheet.rows), "ready": len(good), "flagged": len(flagged), "bad": len(bad),
                "repeats": self.repeated_in_sheet + self.already_known, "existing_batch_id": self.existing_batch_id,
                "bad_rows": [_shown(r, r.problems) for r in bad[:SHOWN_ROWS]],
                "flagged_rows": [_shown(r, r.flags) for r in flagged[:SHOWN_ROWS]],
                "first_rows": [_first(r) for r in good[:FIRST_ROWS]]}

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


def _shown(row: SheetRow, problems: list[RowProblem]) -> dict[str, Any]:
    return {"row": row.row, "name": row.values.get("name") or "",
            "problems": [{"field": p.field, "message": p.message, "params": p.params} for p in problems]}


def _first(row: SheetRow) -> dict[str, Any]:
    v = row.values
    return {"row": row.row, "name": v.get("name") or "",
            "id_number": mask_id_number(v["id_number"]) if v.get("id_number") else "",
            "phone": mask_phone(v["phone"]) if v.get("phone") else "",
            "current_address": v.get("current_address") or "",
            "pushed_at": v["pushed_at"].isoformat() if v.get("pushed_at") else None}


@dataclass(frozen=True)
class ShownRow:
    row: int
    name: str
    problems: list[RowProblem]


@dataclass(frozen=True)
class PreviewPage:
    """What the preview page shows, from a preview made in the request or a background job's summary."""

    sha256: str
    file_name: str
    source_name: str
    header_row: int
    headers: list[str]
    mapping: dict[int, str]
    rows: int
    ready: int
    flagged: int
    bad: int
    repeats: int
    existing_batch_id: int | None
    bad_rows: list[ShownRow]
    flagged_rows: list[ShownRow]
    first_rows: list[dict[str, Any]]

    @classmethod
    def of(cls, found: Mapping[str, Any]) -> PreviewPage:
        def shown(rows: list[dict[str, Any]]) -> list[ShownRow]:
            return [ShownRow(r["row"], r["name"], [RowProblem(p["field"], p["message"], p["params"])
                                                   for p in r["problems"]]) for r in rows]

        first = [{**r, "pushed_at": datetime.fromisoformat(r["pushed_at"]) if r["pushed_at"] else None}
                 for r in found["first_rows"]]
        return cls(found["sha256"], found["file_name"], found["source_name"], found["header_row"], found["headers"],
                   {int(col): fld for col, fld in found["mapping"].items()}, found["rows"], found["ready"],
                   found["flagged"], found["bad"], found["repeats"], found["existing_batch_id"],
                   shown(found["bad_rows"]), shown(found["flagged_rows"]), first)

    def mapping_json(self) -> str:
        """Return the mapping shown, by header, as the confirmation sends it back."""
        return json.dumps({h: self.mapping[i] for i, h in enumerate(self.headers) if i in self.mapping},
                          ensure_ascii=False)


def uploads_dir(settings: Settings) -> Path:
    return sheets.uploads_dir(settings.var_dir)


def _store(settings: Settings, file_name: str, data: bytes) -> str:
    try:
        return sheets.keep_upload(settings.var_dir, file_name, data)
    except SheetError as exc:
        raise ValidationFailed.one("file", exc.message, **exc.params) from None


_PARSED: OrderedDict[tuple[str, str], ParsedSheet] = OrderedDict()  # the last previews, by file and mapping
_PARSED_KEEP = 4


def read(data: bytes, file_name: str, mapping: dict[str, str], progress: Progress = NO_PROGRESS) -> ParsedSheet:
    """Return the parsed sheet; confirming right after a preview reuses the preview's reading."""
    key = (hashlib.sha256(data).hexdigest() + Path(file_name).suffix.lower(), json.dumps(mapping, sort_keys=True))
    if key in _PARSED:
        _PARSED.move_to_end(key)
        progress.read(len(_PARSED[key].rows))
        progress.checked(len(_PARSED[key].rows))
        return _PARSED[key]
    try:
        sheet = read_sheet(data, file_name, mapping or None, progress)
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


def remembered_mapping(session: Session, source_name: str, mapping: dict[str, str] | None) -> dict[str, str]:
    """Return the mapping to read a sheet with: the one given, else the one its source used last."""
    if mapping is not None:
        return mapping
    source = _source(session, " ".join(source_name.split()))
    return json.loads(source.mapping) if source else {}


def preview_sheet(session: Session, user: User, settings: Settings, source_name: str, file_name: str, data: bytes,
                  mapping: dict[str, str] | None = None, sheet: ParsedSheet | None = None,
                  keep: bool = True) -> Preview:
    """Read and check a pushed sheet without saving any lead.

    `sheet`: the sheet already read (a background job reads it outside any transaction); `keep`: keep the
    upload under var/uploads for the confirmation (a job keeps its own copy until it is done)."""
    require(user, LEAD_INTAKE)
    source_name = " ".join(source_name.split())
    if not source_name:
        raise ValidationFailed.one("source", NAME_SOURCE)
    sha = _store(settings, file_name, data) if keep else hashlib.sha256(data).hexdigest()
    source = _source(session, source_name)
    if sheet is None:
        sheet = read(data, file_name, remembered_mapping(session, source_name, mapping))
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
                 mapping: dict[str, str], two_legs: bool = False, priority: str = "", data: bytes | None = None,
                 sheet: ParsedSheet | None = None,
                 progress: Progress = NO_PROGRESS) -> tuple[LeadBatch, IntakeResult | None]:
    """Create the leads of a previewed sheet; the same sheet again returns its batch and creates nothing.

    `priority` is the batch's: rows without a priority column take it (a sheet pushed as urgent). A background
    job gives the file's `data` and the `sheet` it read: the file is then kept under var/uploads only now,
    for the feedback sheet (the upstream's own layout with the results), like every imported lead sheet."""
    require(user, LEAD_INTAKE)
    if priority and priority not in PRIORITIES:
        raise ValidationFailed.one("priority", N_("Choose one of the options."))
    if data is not None:
        sha256 = _store(settings, file_name, data)
    else:
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
    if sheet is None:
        sheet = read(data, file_name, mapping)
    batch = LeadBatch(source_id=source.id, channel="sheet", reference=Path(file_name).name[:100],
                      file_sha256=sha256, file_name=Path(file_name).name[:255], sheet_name=sheet.sheet_name,
                      header_row=sheet.header_row, unit_id=user.unit_id, received_by=current_actor.get().username,
                      priority=priority or None)
    session.add(batch)
    session.flush()
    items = [_input(row) for row in sheet.rows if row.ok]
    rejected = [(row.row, problem_text(row)) for row in sheet.rows if not row.ok]
    result = take_in(session, source, batch, items, rejected, rules=parse_rules(settings.lead_deadlines))
    progress.imported(len(items))
    remember_mapping(source, sheet.headers, sheet.mapping)
    return batch, result
