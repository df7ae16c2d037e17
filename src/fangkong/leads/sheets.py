"""Reading lead sheets as upstreams push them: title rows above the header, merged cells, varied
column names, full-width digits, numbers that Excel mangled, dates as dates, serials or text.

Pure: bytes in, normalised rows with row-level problems out. Nothing here touches the database.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from fangkong.core import sheets
from fangkong.core.clock import LOCAL_TZ
from fangkong.core.codes import CodeError, birth_date_in, fold, normalize_id_number, normalize_mobile
from fangkong.core.i18n import N_
from fangkong.core.sheets import NO_HEADER, OLD_EXCEL, PROTECTED, SheetError, clean_header

__all__ = [
    "ALIASES", "EXCEL_NUMBER", "FIELDS", "NO_IDENTITY", "OLD_EXCEL", "PROTECTED", "UNKNOWN_PERSON", "ParsedSheet",
    "RowProblem", "SheetError", "SheetRow", "guess_mapping", "read_sheet",
]

FIELDS = ("name", "id_number", "phone", "current_address", "origin", "pushed_at", "kind", "priority", "note")
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "人员姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证", "证件号", "身份证件号码",
                  "idnumber", "id_number", "id"),
    "phone": ("手机", "手机号", "手机号码", "联系电话", "电话", "电话号码", "联系方式", "phone", "mobile"),
    "current_address": ("现住址", "现居住地址", "居住地址", "现住地址", "住址", "现居住地", "详细地址", "现居地",
                        "居住地", "家庭住址", "address", "current_address"),
    "origin": ("来源地", "来自", "出发地", "来兰前所在地", "来源", "origin"),
    "pushed_at": ("推送时间", "下发时间", "时间", "推送日期", "下发日期", "日期", "pushedat", "pushed_at"),
    "kind": ("线索类型", "类型", "人员类型", "线索类别", "人员类别", "类别", "kind"),
    "priority": ("紧急程度", "优先级", "等级", "级别", "核查时限", "时限", "priority"),
    "note": ("备注", "说明", "其他", "备注信息", "note"),
}
PRIORITY_WORDS = (  # checked in this order: the first level with a word in the cell wins
    ("express", ("express", "立即", "马上", "5分钟", "五分钟", "10分钟", "十分钟")),
    ("normal", ("normal", "不紧急", "非紧急", "不急", "一般", "普通", "常规", "当日", "当天", "当晚", "24时", "低")),
    ("urgent", ("urgent", "紧急", "加急", "特急", "急", "2小时", "两小时", "重要", "高")),
)
FOOTER_WORDS = ("合计", "总计", "小计", "制表人", "填表人", "审核人")  # anywhere in the row
FOOTER_STARTS = ("注:", "说明:", "备注:", "制表", "填表", "填报", "审核", "负责人", "联系人", "单位:")  # its first text
NOTHING = {"无", "/", "\\", "-", "--", "—", "——", "暂无", "不详", "未知", "空", "null", "none", "n/a", "na", "#n/a"}

NO_IDENTITY = N_("The sheet needs an ID number column, or both a name and a phone column.")
EXCEL_NUMBER = N_("Excel stored this ID number as a number and lost its last digits; re-export the column as text.")
UNKNOWN_PERSON = N_("No valid ID number, nor a name with a phone or a birth date: the person cannot be identified.")


@dataclass(frozen=True)
class RowProblem:
    field: str  # canonical field name, or "row"
    message: str  # msgid
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # `field` in this body is the attribute


@dataclass
class SheetRow:
    row: int  # 1-based, as a person sees it in Excel
    raw: list[Any]  # the row's cell values (a vertically merged cell repeats its value in the rows it spans)
    values: dict[str, Any]
    problems: list[RowProblem]

    @property
    def ok(self) -> bool:
        """The row is imported: it identifies someone. A bad field alone never refuses a row (issue 21):
        it is flagged, and the row is matched on what is valid."""
        return not any(p.field == "row" for p in self.problems)

    @property
    def flags(self) -> list[RowProblem]:
        """Fields that were given but are not valid (imported without them, shown to the officer)."""
        return [p for p in self.problems if p.field != "row"]


@dataclass
class ParsedSheet:
    filename: str
    sheet_name: str | None  # None for CSV
    header_row: int  # 1-based
    headers: list[str]
    mapping: dict[int, str]  # column index (0-based) -> field
    unmapped: list[str]
    rows: list[SheetRow]


# ---------------------------------------------------------------------------------------------- mapping

_ALIAS = {clean_header(alias): fld for fld, names in ALIASES.items() for alias in names}
_BRACKETS = re.compile(r"[(（\[【<《].*?[)）\]】>》]")


def _loose(key: str) -> str:
    """Return a cleaned header without notes in brackets and leading numbering: "1.身份证号码(18位)" → 身份证号码."""
    return re.sub(r"^[0-9]+[.、)]", "", _BRACKETS.sub("", key)).strip("：:*#")


def guess_mapping(headers: list[str], remembered: dict[str, str] | None = None) -> dict[int, str]:
    """Return column index -> field: the source's remembered mapping first, then the aliases, then the aliases
    with bracketed notes dropped. Each field takes one column. A remembered header mapped to "" is left unmapped."""
    keys = [clean_header(h) for h in headers]
    mapping: dict[int, str] = {}
    skipped: set[int] = set()
    fld: str | None  # a field name; None: no alias matched
    if remembered:
        known = {clean_header(k): v for k, v in remembered.items()}
        for col, key in enumerate(keys):
            if key and key in known:
                fld = known[key]
                if fld in FIELDS and fld not in mapping.values():
                    mapping[col] = fld
                elif not fld:
                    skipped.add(col)
    for look in (lambda k: _ALIAS.get(k), lambda k: _ALIAS.get(_loose(k))):
        for col, key in enumerate(keys):
            if key and col not in mapping and col not in skipped:
                fld = look(key)
                if fld and fld not in mapping.values():
                    mapping[col] = fld
    return mapping


# ---------------------------------------------------------------------------------------------- reading

def _header_texts(row: list[Any]) -> list[str]:
    return [" ".join(fold(str(v)).split()) if v is not None else "" for v in row]


def read_sheet(data: bytes, filename: str, remembered: dict[str, str] | None = None,
               progress: sheets.Progress = sheets.NO_PROGRESS) -> ParsedSheet:
    """Return the sheet's header, mapping and normalised rows; raise SheetError if it cannot be read.

    xlsx: the worksheet whose header (within its first 15 rows) maps the most fields; csv: UTF-8 (with or
    without BOM), else GB18030. The header is the row of the first 15 that maps the most fields (at least 2)."""
    best: tuple[int, int, str | None, sheets.Grid] | None = None  # score, header index, sheet name, grid
    for name, grid in sheets.read_grids(data, filename):
        for index, row in enumerate(grid[:sheets.HEADER_SCAN]):
            points = len(guess_mapping(_header_texts(row), remembered)) if row else 0
            if best is None or points > best[0]:
                best = (points, index, name, grid)
    if best is None or best[0] < 2:
        raise SheetError(NO_HEADER)
    _points, header_index, sheet_name, grid = best
    progress.read(len(grid))
    headers = _header_texts(grid[header_index])
    mapping = guess_mapping(headers, remembered)
    fields = set(mapping.values())
    if "id_number" not in fields and not {"name", "phone"} <= fields:
        raise SheetError(NO_IDENTITY)
    header_keys = {col: clean_header(headers[col]) for col in mapping}
    # Pushed sheets repeat values down a column (push time, kind, origin): normalise each value once per sheet.
    normalisers = {fld: functools.lru_cache(maxsize=4096, typed=True)(fn) for fld, fn in NORMALISERS.items()}
    key_col = next(col for col, fld in mapping.items() if fld == ("id_number" if "id_number" in fields else "phone"))
    rows = []
    for number, raw in enumerate(grid[header_index + 1:], start=header_index + 2):
        if number % sheets.PROGRESS_EVERY == 0:
            progress.checked(number)
        cells = {col: _present(raw[col]) if col < len(raw) else None for col in mapping}
        if all(v is None for v in cells.values()) or _footer(raw, cells, mapping):
            continue
        if _repeats_header(cells, header_keys, key_col):
            continue  # the header repeated (sheets pasted one below the other)
        rows.append(_row(number, raw, cells, mapping, normalisers))
    unmapped = [h for i, h in enumerate(headers) if i not in mapping and h]
    progress.checked(len(grid))
    return ParsedSheet(filename, sheet_name, header_index + 1, headers, mapping, unmapped, rows)


def _present(cell: Any) -> Any:
    """Return the cell, or None if it is empty or only says "none" (无, /, -, 暂无 …)."""
    if isinstance(cell, str):
        text = cell.strip()
        if not text or (len(text) <= 5 and fold(text).lower().replace(" ", "") in NOTHING):
            return None
    return cell


_DIGIT = re.compile(r"[0-9０-９]")


def _repeats_header(cells: dict[int, Any], header_keys: dict[int, str], key_col: int) -> bool:
    """True for a copy of the header row: no digit in the ID number (or phone) column, and two or more cells
    that read like their column's header."""
    key = cells[key_col]
    if not isinstance(key, str) or _DIGIT.search(key):
        return False
    return sum(1 for col, v in cells.items() if v is not None and clean_header(v) == header_keys[col]) >= 2


def _footer(raw: list[Any], cells: dict[int, Any], mapping: dict[int, str]) -> bool:
    """A row under the data (合计, 制表人：, 注：…) with nothing in the ID number or phone column."""
    if any(cells[col] is not None for col, fld in mapping.items() if fld in ("id_number", "phone")):
        return False
    texts = [fold(str(v)) for v in raw if v is not None and str(v).strip()]
    return bool(texts) and (texts[0].startswith(FOOTER_STARTS) or any(w in t for t in texts for w in FOOTER_WORDS))


def _row(number: int, raw: list[Any], cells: dict[int, Any], mapping: dict[int, str],
         normalisers: Mapping[str, Callable[[Any], Any]]) -> SheetRow:
    values: dict[str, Any] = dict.fromkeys(FIELDS)
    problems: list[RowProblem] = []
    for col, fld in mapping.items():
        cell = cells[col]
        if cell is None:
            continue
        try:
            values[fld] = normalisers[fld](cell)
        except CodeError as exc:
            problems.append(RowProblem(fld, exc.message, dict(exc.params)))
            if fld == "id_number":  # a wrong check digit or a cut number still tells the birth date
                values["birth_date"] = birth_date_in(_SPACE.sub("", fold(str(cell))))
    if not identifies(values["id_number"], values["name"], values["phone"], values.get("birth_date")):
        problems.append(RowProblem("row", UNKNOWN_PERSON, {}))
    return SheetRow(number, list(raw), values, problems)


def identifies(id_number: str | None, name: str | None, phone: str | None, birth_date: object) -> bool:
    """A lead names someone when it has a valid ID number, or a name with a phone or a birth date (read
    from an ID number that failed its check)."""
    return bool(id_number or (name and (phone or birth_date)))


# ---------------------------------------------------------------------------------------------- fields

_SPACE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_GAP = re.compile(f"(?<=[{_HAN}]) (?=[{_HAN}])")
_HAN_DOT = re.compile(f"(?<=[{_HAN}]) ?[.•・‧·] ?(?=[{_HAN}])")
_SCIENTIFIC = re.compile(r"[0-9]+(?:\.[0-9]*)?[eE][+]?[0-9]+")
_FLOAT_TEXT = re.compile(r"([0-9]+)\.0*")


def _text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return _SPACE.sub(" ", fold(str(cell))).strip()


def _name(cell: Any) -> str:
    # "张 三" → "张三" (spaces between Chinese characters are typing noise); "买买提.艾力" → "买买提·艾力";
    # Latin names keep their spaces.
    return _HAN_DOT.sub("·", _HAN_GAP.sub("", _text(cell)))


def _id_number(cell: Any) -> str:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        if isinstance(cell, float) and not cell.is_integer():
            return normalize_id_number(str(cell))
        digits = str(int(cell))
        if len(digits) >= 16:  # Excel keeps 15 significant digits: a longer number has lost its tail
            raise CodeError(EXCEL_NUMBER)
        return normalize_id_number(digits)  # a 15-digit (old) number is exact
    text = _SPACE.sub("", fold(str(cell))).lstrip("'`")
    if _SCIENTIFIC.fullmatch(text):  # "6.20102E+17": the number as Excel showed it
        raise CodeError(EXCEL_NUMBER)
    whole = _FLOAT_TEXT.fullmatch(text)
    if whole:  # "620102198001011000.0": a number written out as text
        if len(whole.group(1)) >= 16:
            raise CodeError(EXCEL_NUMBER)
        text = whole.group(1)
    return normalize_id_number(text)


def _phone(cell: Any) -> str:
    if isinstance(cell, int | float) and not isinstance(cell, bool) and float(cell).is_integer():
        cell = int(cell)
    text = _SPACE.sub("", fold(str(cell)))
    try:
        return normalize_mobile(text)
    except CodeError:
        parts = [p for p in re.split(r"[/,;、|]", text) if p]  # "138…/139…": the first mobile number
        for part in parts if len(parts) > 1 else ():
            try:
                return normalize_mobile(part)
            except CodeError:
                continue
        raise


def _datetime(cell: Any) -> datetime:
    if isinstance(cell, datetime):
        return cell.replace(tzinfo=LOCAL_TZ) if cell.tzinfo is None else cell.astimezone(LOCAL_TZ)
    if isinstance(cell, date):
        return datetime(cell.year, cell.month, cell.day, tzinfo=LOCAL_TZ)
    if isinstance(cell, int | float) and not isinstance(cell, bool) and 20000 < cell < 80000:
        # an Excel serial day number (1954–2119), to the second
        return (sheets.EXCEL_EPOCH + timedelta(seconds=round(cell * 86400))).replace(tzinfo=LOCAL_TZ)
    if isinstance(cell, time | bool | int | float):
        raise CodeError(sheets.BAD_DATE, value=str(cell)[:40])
    text = re.sub(r"(?<=[0-9])\s*[点時]", "时", fold(str(cell)).strip())
    try:
        return sheets.parse_datetime(text[:-1] if text.endswith("分") else text)  # 14时30分 as 14时30
    except CodeError:
        try:
            stamp = datetime.fromisoformat(fold(str(cell)).strip())
        except ValueError:
            raise CodeError(sheets.BAD_DATE, value=str(cell)[:40]) from None
        return stamp.replace(tzinfo=LOCAL_TZ) if stamp.tzinfo is None else stamp.astimezone(LOCAL_TZ)


def _priority(cell: Any) -> str | None:
    text = _SPACE.sub("", fold(str(cell))).lower()
    for level, words in PRIORITY_WORDS:
        if any(word in text for word in words):
            return level
    return None


NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "name": _name, "id_number": _id_number, "phone": _phone, "current_address": _text, "origin": _text,
    "pushed_at": _datetime, "kind": _text, "priority": _priority, "note": _text,
}
