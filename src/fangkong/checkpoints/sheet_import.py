"""Paper sheets typed up later: passages imported from Excel/CSV with a preview and row-level errors.

One row per person; consecutive rows with the same time and plate are one vehicle. Nothing is saved
unless every row is valid (no partial import), and each passage's client id is derived from the file
and its first row, so importing the same sheet twice stores nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.checkpoints import passages, service
from fangkong.core import sheets
from fangkong.core.access import PASSAGE_WRITE
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import User

ALIASES: dict[str, tuple[str, ...]] = {
    "at": ("时间", "登记时间", "检查时间", "通行时间", "time"),
    "plate": ("车牌", "车牌号", "车牌号码", "plate"),
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "公民身份号码", "idnumber"),
    "temperature_c": ("体温", "体温℃", "体温(℃)", "体温（℃）", "温度", "temperature"),
    "disposition": ("处置", "处置结果", "处理结果", "处置情况", "disposition"),
    "origin": ("来源地", "出发地", "来自", "origin"),
    "destination": ("目的地", "去往", "destination"),
    "reason": ("事由", "来兰事由", "reason"),
}
DISPOSITION_WORDS = (("referred", ("移交", "卫健", "送医")), ("turned_back", ("劝返", "返回")),
                     ("quarantined", ("隔离",)), ("passed", ("放行", "通过", "正常")))
MISSING_COLUMNS = N_("The sheet needs the columns 姓名, 身份证号码 and 体温.")
BAD_VALUE = N_("Not a valid value: {value}")


@dataclass
class RowError:
    row: int
    field: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class PassagePreview:
    sha256: str
    file_name: str
    passages: list[tuple[int, service.PassageInput]]  # (first sheet row, passage)
    errors: list[RowError]

    @property
    def persons(self) -> int:
        return sum(len(p.people) for _, p in self.passages)


def _disposition(text: Any) -> str:
    words = str(text or "").strip()
    if not words:
        return "passed"
    return next((key for key, options in DISPOSITION_WORDS if any(w in words for w in options)), "?")


def _float(value: Any) -> float | None:
    try:
        return float(str(value).replace("℃", "").strip()) if value not in (None, "") else None
    except ValueError:
        return -1.0


def read_passages(data: bytes, file_name: str, sha256: str) -> tuple[list[tuple[int, service.PassageInput]],
                                                                     list[RowError]]:
    def score(row: list[Any]) -> int:
        return len(sheets.guess_mapping(sheets.texts(row), ALIASES))

    grid, _name = sheets.read_grid(data, file_name, score)
    header = sheets.find_header(grid, score)
    mapping = sheets.guess_mapping(sheets.texts(grid[header]), ALIASES)
    if not {"name", "id_number", "temperature_c"} <= set(mapping.values()):
        raise sheets.SheetError(MISSING_COLUMNS)
    passages: list[tuple[int, service.PassageInput]] = []
    errors: list[RowError] = []
    last_key: tuple[Any, ...] | None = None
    for number, raw in enumerate(grid[header + 1:], start=header + 2):
        if sheets.is_blank(raw):
            continue
        cell = {fld: raw[col] if col < len(raw) else None for col, fld in mapping.items()}
        at: datetime | None = None
        if cell.get("at") not in (None, ""):
            try:
                at = sheets.parse_datetime(cell["at"])
            except ValueError as exc:
                errors.append(RowError(number, "at", getattr(exc, "message", BAD_VALUE), getattr(exc, "params", {})))
        plate = str(cell.get("plate") or "").strip()
        person = service.PersonInput(name=str(cell.get("name") or ""), id_number=str(cell.get("id_number") or ""),
                                     temperature_c=_float(cell.get("temperature_c")),
                                     disposition=_disposition(cell.get("disposition")), role="passenger")
        key = (at, plate)
        if plate and key == last_key:
            passages[-1][1].people.append(person)
            continue
        person.role = "driver" if plate else "walker"
        passages.append((number, service.PassageInput(
            client_id=f"sheet:{sha256[:40]}:{number}", plate=plate, at=at, origin=str(cell.get("origin") or ""),
            destination=str(cell.get("destination") or ""), reason=str(cell.get("reason") or ""),
            people=[person])))
        last_key = key
    return passages, errors


def _sheet_error(exc: sheets.SheetError) -> ValidationFailed:
    return ValidationFailed([FieldError("file", exc.message, exc.params)])


def preview_passages(session: Session, user: User, var_dir: Path, checkpoint_id: int, file_name: str,
                     data: bytes) -> PassagePreview:
    """Read and check every row; nothing is saved."""
    service.get_checkpoint(session, user, checkpoint_id, PASSAGE_WRITE)
    try:
        sha = sheets.keep_upload(var_dir, file_name, data)
        passages, errors = read_passages(data, file_name, sha)
    except sheets.SheetError as exc:
        raise _sheet_error(exc) from None
    for first_row, passage in passages:
        checked = service.check_passage(session, passage)
        for e in checked.errors:
            index = int(e.field.split(".")[1]) if e.field.startswith("people.") else 0
            errors.append(RowError(first_row + index, e.field.rsplit(".", 1)[-1], e.message, e.params))
    return PassagePreview(sha, file_name, passages, sorted(errors, key=lambda e: e.row))


def import_passages(session: Session, user: User, var_dir: Path, checkpoint_id: int, sha256: str,
                    file_name: str) -> int:
    """Save every passage of a previewed sheet, or none if any row is wrong; return how many are new."""
    service.get_checkpoint(session, user, checkpoint_id, PASSAGE_WRITE)
    try:
        data = sheets.kept_upload(var_dir, sha256, file_name)
    except sheets.SheetError as exc:
        raise _sheet_error(exc) from None
    preview = preview_passages(session, user, var_dir, checkpoint_id, file_name, data)
    if preview.errors:
        raise ValidationFailed([FieldError(f"row {e.row}: {e.field}", e.message, e.params) for e in preview.errors])
    created = 0
    for _row, passage in preview.passages:
        _passage, new = passages.register_passage(session, user, checkpoint_id, passage)
        created += new
    return created
