"""Passes issued in bulk from an enterprise's sheet of vehicles (staff): preview with an error per row,
then issue every row at once, signed, approved by the issuing officer. Nothing is issued while a row
is wrong (the sheet goes back to the enterprise to be corrected), and 100,000 rows issue in seconds:
rows go in through Core inserts with ids taken up front, so each token can name its pass before the
row is written (no second pass of UPDATEs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fangkong.core import audit, sheets
from fangkong.core.access import require
from fangkong.core.codes import CodeError, normalize_plate, parse_id_number
from fangkong.core.db import insert_rows, utcnow
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.passes import forms, xlsx
from fangkong.passes.access import PASS_ISSUE
from fangkong.passes.applications import check_validity, parse_day
from fangkong.passes.issuing import sign_rows
from fangkong.passes.models import Pass, PassApplication
from fangkong.passes.rules import PURPOSES, day_end, day_start
from fangkong.passes.tokens import KeyRing

MAX_ROWS = 100_000
CHUNK = 5000  # passes signed and inserted at a time
SHOWN_ERRORS = 200
ALIASES: dict[str, tuple[str, ...]] = {
    "plate": ("车牌号", "车牌", "车牌号码", "号牌号码", "plate"),
    "name": ("驾驶员", "驾驶员姓名", "司机", "司机姓名", "姓名", "driver", "name"),
    "id_number": ("驾驶员身份证号", "身份证号", "身份证号码", "证件号码", "idnumber", "id_number"),
    "valid_from": ("有效期起", "起始日期", "开始日期", "validfrom", "valid_from"),
    "valid_until": ("有效期止", "截止日期", "结束日期", "validuntil", "valid_until"),
    "route": ("路线", "通行路线", "线路", "route"),
}
NO_PLATE_COLUMN = N_("The sheet needs a plate column (车牌号).")
TOO_MANY_ROWS = N_("The sheet has more than {n} rows: split it.")
DUPLICATE_PLATE = N_("Plate {plate} is on row {row} already.")
BAD_VALUE = N_("Not a valid value: {value}")
NO_ROWS = N_("The sheet has no vehicles below its header.")


@dataclass
class BulkInput:
    """What applies to every vehicle of the sheet (a row may give its own validity and route)."""

    company: str = ""
    contact_phone: str = ""
    purpose: str = ""
    route: str = ""
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass
class RowError:
    row: int
    field: str
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # `field` in this body is the attribute


@dataclass
class Parsed:
    rows: list[dict[str, Any]]
    errors: list[RowError]
    error_count: int = 0

    @property
    def ready(self) -> int:
        """Vehicles that would be issued a pass."""
        return len(self.rows)


@dataclass
class Summary:
    """What the preview page shows of a sheet read in the background (the rows themselves are not kept)."""

    ready: int
    error_count: int
    errors: list[RowError]

    @classmethod
    def of(cls, found: dict[str, Any]) -> Summary:
        return cls(int(found.get("ready", 0)), int(found.get("error_count", 0)),
                   [RowError(**e) for e in found.get("errors", [])])


def _grid(data: bytes, file_name: str, progress: sheets.Progress) -> list[list[Any]]:
    if data.startswith(b"PK"):
        sheets.check_limits(data, file_name)  # the archive's declared sizes, rows and columns first
        grid = []
        for row in xlsx.iter_rows(data, MAX_ROWS + sheets.HEADER_SCAN):
            grid.append(row)
            if len(grid) % sheets.PROGRESS_EVERY == 0:
                progress.read(len(grid))
        progress.read(len(grid))
        return grid
    grid = sheets.read_grids(data, file_name)[0][1]  # CSV (and the clear errors for old or locked workbooks)
    progress.read(len(grid))
    return grid


def _score(row: list[Any]) -> int:
    return len(sheets.guess_mapping(sheets.texts(row), ALIASES))


def parse_sheet(data: bytes, file_name: str, header: BulkInput,
                progress: sheets.Progress = sheets.NO_PROGRESS) -> Parsed:
    """Return the sheet's vehicles, normalised, and every row's problems (the first 200 kept in full)."""
    grid = _grid(data, file_name, progress)
    start = sheets.find_header(grid, _score)
    mapping = sheets.guess_mapping(sheets.texts(grid[start]), ALIASES)
    if "plate" not in mapping.values():
        raise sheets.SheetError(NO_PLATE_COLUMN)
    body = grid[start + 1:]
    if len(body) > MAX_ROWS:
        raise sheets.SheetError(TOO_MANY_ROWS, n=MAX_ROWS)
    parsed = Parsed([], [])
    seen: dict[str, int] = {}
    columns = {name: col for col, name in mapping.items()}
    for offset, raw in enumerate(body):
        if offset % sheets.PROGRESS_EVERY == 0:
            progress.checked(offset)
        if sheets.is_blank(raw):
            continue
        number = start + offset + 2  # 1-based, as Excel shows it
        problems: list[RowError] = []
        row = _row(number, raw, columns, header, problems)
        plate = row.get("plate")
        if plate and plate in seen:
            problems.append(RowError(number, "plate", DUPLICATE_PLATE, {"plate": plate, "row": seen[plate]}))
        elif plate:
            seen[plate] = number
        if problems:
            parsed.error_count += 1
            if len(parsed.errors) < SHOWN_ERRORS:
                parsed.errors.extend(problems)
        else:
            parsed.rows.append(row)
    progress.checked(len(body))
    return parsed


def refusals(parsed: Parsed) -> list[FieldError]:
    """Return why a sheet may not be issued (every row at fault, by row and column), or nothing."""
    if not parsed.rows and not parsed.error_count:
        return [FieldError("file", NO_ROWS)]
    return [FieldError(f"rows.{e.row}.{e.field}", e.message, e.params) for e in parsed.errors] \
        if parsed.error_count else []


def _cell(raw: list[Any], columns: dict[str, int], name: str) -> Any:
    col = columns.get(name)
    return raw[col] if col is not None and col < len(raw) else None


def _row(number: int, raw: list[Any], columns: dict[str, int], header: BulkInput,
         problems: list[RowError]) -> dict[str, Any]:
    """Return one vehicle's pass fields from a sheet row, reporting each cell at fault."""
    row: dict[str, Any] = {"plate": None, "holder_name": None, "holder_id_number": None}
    cell = _cell(raw, columns, "plate")
    try:
        row["plate"] = normalize_plate(str(cell or "")).number
    except CodeError as exc:
        problems.append(RowError(number, "plate", exc.message, exc.params))
    name = " ".join(str(_cell(raw, columns, "name") or "").split())
    if len(name) > 50:
        problems.append(RowError(number, "name", forms.TOO_LONG, {"n": 50}))
    row["holder_name"] = name or None
    id_text = str(_cell(raw, columns, "id_number") or "").strip()
    if id_text:
        try:
            row["holder_id_number"] = parse_id_number(id_text).number
        except CodeError as exc:
            problems.append(RowError(number, "id_number", exc.message, exc.params))
    row["valid_from"] = _day(number, raw, columns, "valid_from", header.valid_from, problems)
    row["valid_until"] = _day(number, raw, columns, "valid_until", header.valid_until, problems)
    if row["valid_from"] and row["valid_until"]:
        errors: list[FieldError] = []
        check_validity(errors, row["valid_from"], row["valid_until"], None)
        problems.extend(RowError(number, e.field, e.message, e.params) for e in errors)
    route = " ".join(str(_cell(raw, columns, "route") or "").split())
    row["route"] = (route or header.route)[:200]
    return row


def _day(number: int, raw: list[Any], columns: dict[str, int], name: str, default: date | None,
         problems: list[RowError]) -> date | None:
    value = _cell(raw, columns, name)
    if value is None or str(value).strip() == "":
        if default is None:
            problems.append(RowError(number, name, forms.REQUIRED))
        return default
    try:
        return sheets.parse_datetime(value).date()
    except CodeError as exc:
        problems.append(RowError(number, name, exc.message, exc.params))
        return None


HEADER_FIELDS = ("company", "contact_phone", "purpose", "route", "valid_from", "valid_until")


def header_of(fields: Mapping[str, Any]) -> tuple[BulkInput, list[FieldError]]:
    """Return the fields that apply to every row, as a form or a job's fields give them, and the dates that
    are not dates."""
    errors: list[FieldError] = []

    def day(name: str) -> date | None:
        text = str(fields.get(name) or "").strip()
        return parse_day(errors, name, text) if text else None

    header = BulkInput(company=str(fields.get("company") or ""), contact_phone=str(fields.get("contact_phone") or ""),
                       purpose=str(fields.get("purpose") or ""), route=str(fields.get("route") or ""),
                       valid_from=day("valid_from"), valid_until=day("valid_until"))
    return header, errors


def check_header(header: BulkInput) -> None:
    errors: list[FieldError] = []
    forms.clean_text(errors, "company", header.company, 100, required=True)
    forms.clean_phone(errors, "contact_phone", header.contact_phone)
    forms.clean_text(errors, "route", header.route, 200)
    if header.purpose not in PURPOSES:
        errors.append(FieldError("purpose", forms.CHOOSE))
    check_validity(errors, header.valid_from, header.valid_until, None)
    if errors:
        raise ValidationFailed(errors)


def preview(user: User, header: BulkInput, data: bytes, file_name: str, var_dir: Path) -> tuple[Parsed, str]:
    """Check the header fields and every row; keep the upload for the confirmation; return (rows, sha256)."""
    require(user, PASS_ISSUE)
    check_header(header)
    try:
        sha = sheets.keep_upload(var_dir, file_name, data)
        return parse_sheet(data, file_name, header), sha
    except sheets.SheetError as exc:
        raise ValidationFailed.one("file", exc.message, **exc.params) from None


def issue(session: Session, user: User, ring: KeyRing, header: BulkInput, data: bytes, file_name: str,
          retention_days: int, parsed: Parsed | None = None,
          progress: sheets.Progress = sheets.NO_PROGRESS) -> PassApplication:
    """Issue a pass for every vehicle of the sheet (all rows valid, or nothing), signed, in one transaction.

    `parsed`: the sheet as a background job read it before taking the write lock (else it is read here)."""
    require(user, PASS_ISSUE)
    check_header(header)
    if parsed is None:
        try:
            parsed = parse_sheet(data, file_name, header)
        except sheets.SheetError as exc:
            raise ValidationFailed.one("file", exc.message, **exc.params) from None
    if parsed.error_count or not parsed.rows:
        first = parsed.errors[0] if parsed.errors else RowError(0, "file", NO_PLATE_COLUMN)
        raise ValidationFailed.one("file", first.message, **first.params)
    now = utcnow()
    application = _bulk_application(session, user, header, parsed.rows, now, retention_days)
    rows = _pass_rows(application, user, header, parsed.rows, now)
    ids = _reserve_ids(session, len(rows))
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    for start in range(0, len(rows), CHUNK):  # in parts, so that a job can say how far it got
        part = rows[start:start + CHUNK]
        sign_rows(ring, part)
        insert_rows(session, Pass, part)
        audit.record_created(session, Pass, part)
        progress.imported(start + len(part))
    audit.record(session, "issue_bulk", "pass_applications", application.id, passes=len(rows), file=file_name[:100])
    return application


def _bulk_application(session: Session, user: User, header: BulkInput, rows: list[dict[str, Any]],
                      now: datetime, retention_days: int) -> PassApplication:
    start, end = min(r["valid_from"] for r in rows), max(r["valid_until"] for r in rows)
    application = PassApplication(
        reference=forms.new_reference(), source="bulk", company=" ".join(header.company.split())[:100],
        contact_phone=forms.clean_phone([], "contact_phone", header.contact_phone) or "", address="",
        purpose=header.purpose, route=" ".join(header.route.split())[:200], wanted_from=day_start(start),
        wanted_until=day_end(end), unit_id=user.unit_id, status="approved", decided_at=now,
        decided_by=user.username, purge_after=day_end(end) + timedelta(days=retention_days))
    session.add(application)
    session.flush()
    return application


def _pass_rows(application: PassApplication, user: User, header: BulkInput, rows: list[dict[str, Any]],
               now: datetime) -> list[dict[str, Any]]:
    return [{"application_id": application.id, "kind": "vehicle", "plate": r["plate"], "holder_name": r["holder_name"],
             "holder_id_number": r["holder_id_number"], "purpose": header.purpose, "route": r["route"],
             "valid_from": day_start(r["valid_from"]), "valid_until": day_end(r["valid_until"]),
             "unit_id": user.unit_id, "issued_at": now, "revoked_at": None, "revoked_by": None,
             "revoke_reason": None} for r in rows]


def _reserve_ids(session: Session, n: int) -> list[int]:
    """Take n new pass ids: from the sequence on PostgreSQL; on SQLite after the largest id, safe because
    this transaction holds the database's write lock (BEGIN IMMEDIATE) until it commits."""
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(text("SELECT nextval(pg_get_serial_sequence('passes', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": n}).scalars())
    last = session.execute(select(Pass.id).order_by(Pass.id.desc()).limit(1)).scalar() or 0
    return list(range(last + 1, last + 1 + n))
