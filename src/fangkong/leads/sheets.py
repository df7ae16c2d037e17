"""Reading lead sheets as upstreams push them: title rows above the header, merged cells, varied
column names, full-width digits, numbers that Excel mangled, dates as dates, serials or text.

Pure: bytes in, normalised rows with row-level problems out. Nothing here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fangkong.core import sheets
from fangkong.core.codes import CodeError, fold, normalize_id_number, normalize_mobile
from fangkong.core.i18n import N_
from fangkong.core.sheets import SheetError

FIELDS = ("name", "id_number", "phone", "current_address", "origin", "pushed_at", "kind", "priority", "note")
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "人员姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证", "证件号", "idnumber", "id"),
    "phone": ("手机", "手机号", "手机号码", "联系电话", "电话", "联系方式", "phone", "mobile"),
    "current_address": ("现住址", "现居住地址", "居住地址", "现住地址", "住址", "现居住地", "详细地址", "address"),
    "origin": ("来源地", "来自", "出发地", "来兰前所在地", "来源", "origin"),
    "pushed_at": ("推送时间", "下发时间", "时间", "推送日期", "pushedat"),
    "kind": ("线索类型", "类型", "人员类型", "线索类别", "kind"),
    "priority": ("紧急程度", "优先级", "等级", "priority"),
    "note": ("备注", "说明", "其他", "note"),
}
PRIORITY_WORDS = {"urgent": ("紧急", "加急", "特急", "急"), "express": ("立即", "5分钟", "五分钟"),
                  "normal": ("一般", "普通", "常规")}
FOOTER_WORDS = ("合计", "制表", "审核", "填表", "总计")

NO_IDENTITY = N_("The sheet needs an ID number column, or both a name and a phone column.")
EXCEL_NUMBER = N_("Excel stored this ID number as a number and lost its last digits; re-export the column as text.")
UNKNOWN_PERSON = N_("No valid ID number, nor a name and a phone: the person cannot be identified.")



@dataclass(frozen=True)
class RowProblem:
    field: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SheetRow:
    row: int
    raw: list[Any]
    values: dict[str, Any]
    problems: list[RowProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ParsedSheet:
    filename: str
    sheet_name: str | None
    header_row: int
    headers: list[str]
    mapping: dict[int, str]
    unmapped: list[str]
    rows: list[SheetRow]


def guess_mapping(headers: list[str], remembered: dict[str, str] | None = None) -> dict[int, str]:
    """Return column index -> field, by the source's remembered mapping first, then by the aliases."""
    return sheets.guess_mapping(headers, ALIASES, remembered)


def read_sheet(data: bytes, filename: str, remembered: dict[str, str] | None = None) -> ParsedSheet:
    """Return the sheet's header, mapping and normalised rows; raise SheetError if it cannot be read."""
    def score(row: list[Any]) -> int:
        return len(guess_mapping(sheets.texts(row), remembered))

    grid, sheet_name = sheets.read_grid(data, filename, score)
    header_index = sheets.find_header(grid, score)
    headers = sheets.texts(grid[header_index])
    mapping = guess_mapping(headers, remembered)
    fields = set(mapping.values())
    if "id_number" not in fields and not {"name", "phone"} <= fields:
        raise SheetError(NO_IDENTITY)
    rows = []
    for offset, raw in enumerate(grid[header_index + 1:], start=header_index + 2):
        if sheets.is_blank(raw) or _footer(raw, mapping):
            continue
        rows.append(_row(offset, raw, mapping))
    unmapped = [h for i, h in enumerate(headers) if i not in mapping and h]
    return ParsedSheet(filename, sheet_name, header_index + 1, headers, mapping, unmapped, rows)


def _footer(raw: list[Any], mapping: dict[int, str]) -> bool:
    text = "".join(str(v) for v in raw if v is not None)
    identity = [raw[i] for i, f in mapping.items() if f in ("id_number", "phone") and i < len(raw) and raw[i]]
    return not identity and any(word in text for word in FOOTER_WORDS)


def _row(number: int, raw: list[Any], mapping: dict[int, str]) -> SheetRow:
    values: dict[str, Any] = dict.fromkeys(FIELDS)
    problems: list[RowProblem] = []
    for index, fld in mapping.items():
        cell = raw[index] if index < len(raw) else None
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        try:
            values[fld] = NORMALISERS[fld](cell)
        except CodeError as exc:
            problems.append(RowProblem(fld, exc.message, exc.params))
    if not any(p.field == "id_number" for p in problems) and not values["id_number"] and not (
            values["name"] and values["phone"]):
        problems.append(RowProblem("row", UNKNOWN_PERSON))
    return SheetRow(number, raw, values, problems)


def _text(cell: Any) -> str:
    return re.sub(r"\s+", " ", fold(str(cell))).strip()


def _name(cell: Any) -> str:
    text = _text(cell)
    # "张 三" → "张三": spaces between Chinese characters are typing noise; keep them in Latin names.
    return re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", text)


def _id_number(cell: Any) -> str:
    if isinstance(cell, bool):
        raise CodeError(EXCEL_NUMBER)
    if isinstance(cell, int | float):
        digits = f"{int(cell)}" if float(cell).is_integer() else str(cell)
        if len(digits) != 15:  # Excel keeps 15 significant digits: an 18-digit number has lost its tail
            raise CodeError(EXCEL_NUMBER)
        return normalize_id_number(digits)
    text = fold(str(cell)).strip()
    if re.fullmatch(r"[0-9.]+[eE]\+?[0-9]+", text):
        raise CodeError(EXCEL_NUMBER)
    return normalize_id_number(text)


def _phone(cell: Any) -> str:
    if isinstance(cell, int | float) and float(cell).is_integer():
        cell = str(int(cell))
    return normalize_mobile(str(cell))


def _priority(cell: Any) -> str | None:
    text = _text(cell)
    for level in ("express", "urgent", "normal"):
        if any(word in text for word in PRIORITY_WORDS[level]):
            return level
    return None


NORMALISERS: dict[str, Any] = {
    "name": _name, "id_number": _id_number, "phone": _phone, "current_address": _text, "origin": _text,
    "pushed_at": sheets.parse_datetime, "kind": _text, "priority": _priority, "note": _text,
}
