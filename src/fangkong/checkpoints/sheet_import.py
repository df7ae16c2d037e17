"""Paper sheets typed up later: passages imported from Excel/CSV with a preview and row-level errors.

One row per person; consecutive rows with the same time and plate are one vehicle. Nothing is saved
unless every row is valid (no partial import), and each passage's client id is derived from the file
and its first row, so importing the same sheet twice stores nothing twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.checkpoints import passages, service
from fangkong.checkpoints.flags import load_risk_index
from fangkong.checkpoints.passages import PassageRequest
from fangkong.core import sheets
from fangkong.core.access import PASSAGE_WRITE
from fangkong.core.context import current_actor
from fangkong.core.db import utcnow
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
SHOWN = 300  # row problems the preview page lists
MISSING_COLUMNS = N_("The sheet needs the columns 姓名, 身份证号码 and 体温.")
BAD_VALUE = N_("Not a valid value: {value}")


@dataclass
class RowError:
    row: int
    field: str
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # `field` in this body is the attribute


@dataclass
class PassagePreview:
    sha256: str
    file_name: str
    passages: list[tuple[int, service.PassageInput]]  # (first sheet row, passage)
    errors: list[RowError]
    confirm: str = ""  # where the confirmation goes ("": the checkpoint's own confirm route)

    @property
    def persons(self) -> int:
        return sum(len(p.people) for _, p in self.passages)

    @property
    def count(self) -> int:
        return len(self.passages)

    def summary(self) -> dict[str, Any]:
        """Return what the preview page shows, as JSON (a background job keeps it in its row)."""
        return {"sha256": self.sha256, "file_name": self.file_name, "passages": self.count, "persons": self.persons,
                "errors": [vars(e) for e in self.errors[:SHOWN]]}


@dataclass
class Summary:
    """A background job's preview, as the import page shows it."""

    sha256: str
    file_name: str
    count: int
    persons: int
    errors: list[RowError]
    confirm: str

    @classmethod
    def of(cls, found: dict[str, Any], confirm: str) -> Summary:
        return cls(found.get("sha256", ""), found.get("file_name", ""), int(found.get("passages", 0)),
                   int(found.get("persons", 0)), [RowError(**e) for e in found.get("errors", [])], confirm)


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


def read_passages(data: bytes, file_name: str, sha256: str, progress: sheets.Progress = sheets.NO_PROGRESS
                  ) -> tuple[list[tuple[int, service.PassageInput]], list[RowError]]:
    def score(row: list[Any]) -> int:
        return len(sheets.guess_mapping(sheets.texts(row), ALIASES))

    grid, _name = sheets.read_grid(data, file_name, score)
    progress.read(len(grid))
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


Read = tuple[str, list[tuple[int, service.PassageInput]], list[RowError]]  # sha256, passages, row errors
CHUNK = 200  # passages registered at a time (one batch of statements each, as the API's group commit)


def read_sheet(file_name: str, data: bytes, progress: sheets.Progress = sheets.NO_PROGRESS) -> Read:
    """Read a sheet's passages (no database): a background job does it before opening a transaction."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        passages, errors = read_passages(data, file_name, sha, progress)
    except sheets.SheetError as exc:
        raise _sheet_error(exc) from None
    return sha, passages, errors


def preview_passages(session: Session, user: User, var_dir: Path, checkpoint_id: int, file_name: str,
                     data: bytes, found: Read | None = None, keep: bool = True,
                     progress: sheets.Progress = sheets.NO_PROGRESS) -> PassagePreview:
    """Read and check every row; nothing is saved (`found`: the sheet read already; `keep`: keep the upload
    under var/uploads for the confirmation)."""
    service.get_checkpoint(session, user, checkpoint_id, PASSAGE_WRITE)
    if keep:
        try:
            sheets.keep_upload(var_dir, file_name, data)
        except sheets.SheetError as exc:
            raise _sheet_error(exc) from None
    sha, passages, read_errors = found or read_sheet(file_name, data)
    errors = list(read_errors)
    risk = load_risk_index(session, utcnow())  # once: the preview shows errors, not flags
    for number, (first_row, passage) in enumerate(passages, 1):
        for e in service.check_codes(passage, risk).errors:
            index = int(e.field.split(".")[1]) if e.field.startswith("people.") else 0
            errors.append(RowError(first_row + index, e.field.rsplit(".", 1)[-1], e.message, e.params))
        if number % sheets.PROGRESS_EVERY == 0:
            progress.checked(first_row)
    progress.checked(passages[-1][0] if passages else 0)
    return PassagePreview(sha, file_name, passages, sorted(errors, key=lambda e: e.row))


def refusals(preview: PassagePreview) -> list[FieldError]:
    """Return every row at fault (nothing is saved while one is), by row and column."""
    return [FieldError(f"row {e.row}: {e.field}", e.message, e.params) for e in preview.errors]


def import_passages(session: Session, user: User, var_dir: Path, checkpoint_id: int, sha256: str,
                    file_name: str, preview: PassagePreview | None = None,
                    progress: sheets.Progress = sheets.NO_PROGRESS) -> int:
    """Save every passage of a previewed sheet, or none if any row is wrong; return how many are new.

    `preview`: the sheet as a background job read and checked it (else the kept upload is read here)."""
    service.get_checkpoint(session, user, checkpoint_id, PASSAGE_WRITE)
    if preview is None:
        try:
            data = sheets.kept_upload(var_dir, sha256, file_name)
        except sheets.SheetError as exc:
            raise _sheet_error(exc) from None
        preview = preview_passages(session, user, var_dir, checkpoint_id, file_name, data)
    if preview.errors:
        raise ValidationFailed(refusals(preview))
    actor = current_actor.get()
    created = 0
    for start in range(0, len(preview.passages), CHUNK):
        chunk = preview.passages[start:start + CHUNK]
        outcomes = passages.register_passages(session, [PassageRequest(user, checkpoint_id, passage, actor)
                                                        for _row, passage in chunk])
        for (row, _passage), outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, BaseException):  # one row refused: the whole sheet is (the transaction rolls back)
                if isinstance(outcome, ValidationFailed):
                    raise ValidationFailed([FieldError(f"row {row}: {e.field}", e.message, e.params)
                                            for e in outcome.errors]) from None
                raise outcome
            created += outcome[1]
        progress.imported(start + len(chunk))
    return created
