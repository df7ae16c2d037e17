"""Paper work: a day's follow-up sheet for a station or a care team as Excel, and the filled-in sheet
read back (preview with row errors; saved all or nothing). The 随访编号 column ties a row to its
follow-up; rows left without a temperature are skipped (not yet done), not refused, and so are rows
already recorded with the same temperature (the sheet may go back and forth)."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core import audit, sheets
from fangkong.core.access import FOLLOWUP_RECORD, require
from fangkong.core.codes import fold, mask_id_number, mask_phone
from fangkong.core.errors import DomainError, FieldError, ValidationFailed
from fangkong.core.export import safe_row
from fangkong.core.i18n import N_, translations
from fangkong.core.models import User
from fangkong.observation import followups
from fangkong.observation.followups import FollowUpInput, FollowUpRow
from fangkong.observation.status import OBSERVATION_KINDS

HEADER = ("随访编号", "姓名", "证件号码", "联系电话", "现住址", "辖区", "观察方式", "随访方式", "观察第几天",
          "今日检测", "体温(℃)", "症状", "检测结果", "备注")
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("随访编号", "编号", "followup", "id"),
    "name": ("姓名", "name"),
    "temperature_c": ("体温(℃)", "体温", "体温℃", "体温（℃）", "temperature"),
    "symptoms": ("症状", "有无症状", "symptoms"),
    "test_result": ("检测结果", "核酸结果", "核酸检测结果", "test"),
    "note": ("备注", "note"),
}
MISSING_COLUMNS = N_("The sheet needs the columns 随访编号 and 体温(℃).")
UNKNOWN_ROW = N_("No follow-up {value} in your lists.")
DONE_ALREADY = N_("Already recorded on the platform with another temperature.")
BAD_NUMBER = N_("Not a number: {value}")
NONE_WORDS = {"", "无", "没有", "否", "正常", "none", "no", "-", "—", "/"}
TEST_WORDS = {"阴性": "negative", "阴": "negative", "negative": "negative", "阳性": "positive", "阳": "positive",
              "positive": "positive", "待出": "pending", "未出": "pending", "待检": "pending", "pending": "pending"}


def _zh(msgid: str) -> str:
    return translations("zh_CN").gettext(msgid)


def export_sheet(session: Session, user: User, day: date, unit_id: int | None = None,
                 observation_id: int | None = None, only_mine: bool = False) -> tuple[bytes, int]:
    """Return the day's follow-up sheet (.xlsx) for the scope, and how many rows it has; the export is audited."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    listing = followups.day_list(session, user, day, unit_id, only_mine, observation_id)
    book = Workbook()
    ws = book.active
    ws.title = day.isoformat()
    symptom_words = "、".join(_zh(v) for v in followups.SYMPTOMS.values())
    ws.append([f"随访登记表 {day.isoformat()}（体温 34–43 ℃；症状写 无 或 {symptom_words}；"
               "检测结果写 阴性/阳性/待出）"])
    ws.append(list(HEADER))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in listing.rows:
        ws.append(safe_row(_cells(row)))
    for col, width in zip("ABCDEFGHIJKLMN", (10, 10, 22, 15, 36, 18, 12, 10, 10, 9, 9, 24, 10, 24), strict=True):
        ws.column_dimensions[col].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    audit.record(session, "export", "follow_ups", None, day=day.isoformat(), rows=len(listing.rows))
    return buffer.getvalue(), len(listing.rows)


def _cells(row: FollowUpRow) -> list[Any]:
    f = row.follow_up
    done = f.done_at is not None
    symptoms = "、".join(_zh(followups.SYMPTOMS[c]) for c in f.symptoms.split(",") if c) or ("无" if done else "")
    return [f.id, row.person_name, mask_id_number(row.id_number) if row.id_number else "",
            mask_phone(row.phone) if row.phone else "", row.address or "", row.unit_name,
            _zh(OBSERVATION_KINDS.get(row.kind, row.kind)), _zh(followups.METHODS[f.method]), f.day_no,
            "是" if f.test_due else "", f.temperature_c if done else None, symptoms,
            _zh(followups.TEST_RESULTS[f.test_result]) if f.test_result else "", f.note or ""]




@dataclass
class SheetPreview:
    sha256: str
    file_name: str
    rows: list[tuple[int, int, FollowUpInput]]  # (sheet row, follow-up id, findings)
    skipped: int
    errors: list[sheets.RowError]
    confirm: str = "/followups/import/confirm"  # where the confirmation goes (a job's: /imports/<id>/confirm)

    @property
    def count(self) -> int:
        return len(self.rows)

    def summary(self) -> dict[str, Any]:
        """Return what the preview page shows, as JSON (a background job keeps it in its row)."""
        return {"sha256": self.sha256, "file_name": self.file_name, "rows": self.count, "skipped": self.skipped,
                "errors": [vars(e) for e in self.errors[:sheets.SHOWN]]}


@dataclass
class Summary:
    """A background job's preview, as the import page shows it."""

    sha256: str
    file_name: str
    count: int
    skipped: int
    errors: list[sheets.RowError]
    confirm: str

    @classmethod
    def of(cls, found: dict[str, Any], confirm: str) -> Summary:
        return cls(found.get("sha256", ""), found.get("file_name", ""), int(found.get("rows", 0)),
                   int(found.get("skipped", 0)), [sheets.RowError(**e) for e in found.get("errors", [])], confirm)


def _symptoms(text: str) -> tuple[list[str], str | None]:
    words = {fold(_zh(label)): code for code, label in followups.SYMPTOMS.items()} | \
            {code: code for code in followups.SYMPTOMS}
    codes, unknown = [], None
    for word in (w.strip() for w in re.split(r"[，,、;；/\s]+", fold(text))):
        if word.lower() in NONE_WORDS:
            continue
        if word in ("发热", "发烧"):
            continue  # fever is the temperature column's
        code = words.get(word) or words.get(word.lower())
        if code is None:
            unknown = unknown or word
        else:
            codes.append(code)
    return codes, unknown


def _row(number: int, cell: dict[str, Any], errors: list[sheets.RowError]) -> tuple[int, FollowUpInput] | None:
    raw_id = str(cell.get("id") or "").strip().removesuffix(".0")
    temperature = cell.get("temperature_c")
    if not raw_id.isdigit() or len(raw_id) > 9:
        errors.append(sheets.RowError(number, "id", UNKNOWN_ROW, {"value": raw_id[:20]}))
        return None
    if temperature in (None, "") and not any(cell.get(k) for k in ("symptoms", "test_result", "note")):
        return None  # not done yet
    data = FollowUpInput(note=str(cell.get("note") or "").strip())
    try:
        data.temperature_c = float(str(temperature).replace("℃", "").strip()) if temperature not in (None, "") \
            else None
    except ValueError:
        errors.append(sheets.RowError(number, "temperature_c", BAD_NUMBER, {"value": str(temperature)[:20]}))
        return None
    data.symptoms, unknown = _symptoms(str(cell.get("symptoms") or ""))
    if unknown:
        errors.append(sheets.RowError(number, "symptoms", followups.UNKNOWN_SYMPTOM, {"value": unknown[:20]}))
    result = fold(str(cell.get("test_result") or "")).strip()
    data.test_result = TEST_WORDS.get(result.lower(), "" if result.lower() in NONE_WORDS else "?")
    return int(raw_id), data


Read = tuple[list[tuple[int, int, FollowUpInput]], int, list[sheets.RowError]]  # rows, skipped, errors


def read_rows(data: bytes, file_name: str, progress: sheets.Progress = sheets.NO_PROGRESS) -> Read:
    def score(row: list[Any]) -> int:
        return len(sheets.guess_mapping(sheets.texts(row), ALIASES))

    grid, _name = sheets.read_grid(data, file_name, score)
    progress.read(len(grid))
    header = sheets.find_header(grid, score)
    mapping = sheets.guess_mapping(sheets.texts(grid[header]), ALIASES)
    if not {"id", "temperature_c"} <= set(mapping.values()):
        raise sheets.SheetError(MISSING_COLUMNS)
    rows: list[tuple[int, int, FollowUpInput]] = []
    errors: list[sheets.RowError] = []
    skipped = 0
    for number, raw in enumerate(grid[header + 1:], start=header + 2):
        if sheets.is_blank(raw):
            continue
        cell = {fld: raw[col] if col < len(raw) else None for col, fld in mapping.items()}
        found = _row(number, cell, errors)
        if found is None:
            skipped += not any(e.row == number for e in errors)
            continue
        rows.append((number, *found))
    return rows, skipped, errors


def read_sheet(file_name: str, data: bytes, progress: sheets.Progress = sheets.NO_PROGRESS) -> Read:
    """Read a sheet's rows (no database): a background job does it before opening a transaction."""
    try:
        return read_rows(data, file_name, progress)
    except sheets.SheetError as exc:
        raise ValidationFailed([FieldError("file", exc.message, exc.params)]) from None


def preview_sheet(session: Session, user: User, var_dir: Path, file_name: str, data: bytes,
                  rows_read: Read | None = None, keep: bool = True,
                  progress: sheets.Progress = sheets.NO_PROGRESS) -> SheetPreview:
    """Read and check every row against the user's follow-ups; nothing is saved (`rows_read`: the sheet read
    already; `keep`: keep the upload under var/uploads for the confirmation)."""
    require(user, FOLLOWUP_RECORD)
    sha = hashlib.sha256(data).hexdigest()
    if keep:
        try:
            sha = sheets.keep_upload(var_dir, file_name, data)
        except sheets.SheetError as exc:
            raise ValidationFailed([FieldError("file", exc.message, exc.params)]) from None
    rows, skipped, read_errors = rows_read or read_sheet(file_name, data)
    errors = list(read_errors)
    today = followups.local_today()
    already: set[int] = set()
    for checked, (number, follow_up_id, found) in enumerate(rows, 1):
        if checked % sheets.PROGRESS_EVERY == 0:
            progress.checked(number)
        try:
            row = followups.get_follow_up(session, user, follow_up_id, FOLLOWUP_RECORD)
        except DomainError:
            errors.append(sheets.RowError(number, "id", UNKNOWN_ROW, {"value": follow_up_id}))
            continue
        if row.follow_up.done_at is not None:
            # The exported sheet carries what was recorded already: the same again is skipped, a change refused.
            if found.temperature_c is None or round(found.temperature_c, 1) != row.follow_up.temperature_c:
                errors.append(sheets.RowError(number, "temperature_c", DONE_ALREADY))
            already.add(number)
            continue
        if row.follow_up.day > today:
            errors.append(sheets.RowError(number, "id", followups.NOT_YET, {"day": row.follow_up.day.isoformat()}))
        errors += [sheets.RowError(number, e.field, e.message, e.params) for e in followups.check_input(found)]
    progress.checked(rows[-1][0] if rows else 0)
    rows = [r for r in rows if r[0] not in already]
    return SheetPreview(sha, file_name, rows, skipped + len(already), sorted(errors, key=lambda e: e.row))


def refusals(preview: SheetPreview) -> list[FieldError]:
    """Return every row at fault (nothing is saved while one is), by row and column."""
    return [FieldError(f"row {e.row}: {e.field}", e.message, e.params) for e in preview.errors]


def import_sheet(session: Session, user: User, var_dir: Path, sha256: str, file_name: str,
                 preview: SheetPreview | None = None, progress: sheets.Progress = sheets.NO_PROGRESS) -> int:
    """Record every row of a previewed sheet, or none if any row is wrong; return how many were recorded.

    `preview`: the sheet as a background job read and checked it (else the kept upload is read here)."""
    require(user, FOLLOWUP_RECORD)
    if preview is None:
        try:
            data = sheets.kept_upload(var_dir, sha256, file_name)
        except sheets.SheetError as exc:
            raise ValidationFailed([FieldError("file", exc.message, exc.params)]) from None
        preview = preview_sheet(session, user, var_dir, file_name, data)
    if preview.errors:
        raise ValidationFailed(refusals(preview))
    for done, (_number, follow_up_id, found) in enumerate(preview.rows, 1):
        followups.record_follow_up(session, user, follow_up_id, found)
        if done % sheets.PROGRESS_EVERY == 0:
            progress.imported(done)
    progress.imported(len(preview.rows))
    return len(preview.rows)
