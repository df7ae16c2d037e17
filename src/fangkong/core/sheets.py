"""Reading sheets people type up and pass around: .xlsx or .csv (UTF-8 or GB18030), with title rows
above the header and varied column names. Capabilities give their fields' aliases; this finds the
sheet, the header row and the column of each field. Pure: bytes in, a grid and a mapping out."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fangkong.core.clock import LOCAL_TZ, OUT_OF_RANGE, event_bounds, in_event_range, local_time
from fangkong.core.codes import CodeError, fold
from fangkong.core.export import looks_like_formula
from fangkong.core.i18n import N_

NOT_A_SHEET = N_("This file is not a readable Excel (.xlsx) or CSV sheet.")
NO_HEADER = N_("No header row found: name the columns (姓名, 身份证号码, 联系电话, 现住址 …).")
HEADER_SCAN = 15


SHOWN = 300  # row problems an import's preview page lists


@dataclass
class RowError:
    """One problem with one row of an uploaded sheet, as its preview page lists it (and a job keeps as JSON)."""

    row: int
    field: str
    message: str  # msgid, translated with `params` when shown
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # `field` in this body is the attribute


class SheetError(ValueError):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message, self.params = message, params


class Progress:
    """Where a long reading or import reports how far it got: rows read, checked (normalised, validated)
    and imported, each a running total. This one does nothing (an upload read in its request);
    `core.imports` keeps a background job's counts for its progress page."""

    def read(self, rows: int) -> None:
        """Report the rows read from the file so far."""

    def checked(self, rows: int) -> None:
        """Report the rows checked so far."""

    def imported(self, rows: int) -> None:
        """Report the rows written so far (inside the import's transaction)."""


NO_PROGRESS = Progress()
PROGRESS_EVERY = 500  # rows between reports: cheap calls, and the job writes at most twice a second


def clean_header(value: Any) -> str:
    return re.sub(r"\s+", "", fold(str(value or ""))).strip("：:*").lower()


def guess_mapping(headers: list[str], aliases: dict[str, tuple[str, ...]],
                  remembered: dict[str, str] | None = None) -> dict[int, str]:
    """Return column index -> field, by a remembered mapping first, then by the aliases."""
    index = {clean_header(alias): fld for fld, names in aliases.items() for alias in names}
    remembered = {clean_header(k): v for k, v in (remembered or {}).items() if v in aliases}
    mapping: dict[int, str] = {}
    for col, header in enumerate(headers):
        key = clean_header(header)
        fld = remembered.get(key) or index.get(key)
        if fld and fld not in mapping.values():
            mapping[col] = fld
    return mapping


Score = Callable[[list[Any]], int]
Grid = list[list[Any]]
OLD_EXCEL = N_("This is an old Excel (.xls) file: open it in Excel or WPS, save it as .xlsx and upload that.")
PROTECTED = N_("This workbook is password-protected: remove the password, save it and upload it again.")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_grids(data: bytes, filename: str) -> list[tuple[str | None, Grid]]:
    """Return (sheet name, rows) for every worksheet (one for CSV); cells merged down a column are filled.

    The limits (`check_limits`) are checked first, from the archive's directory and a streamed count of
    rows: a sheet that would take a gigabyte to load is refused before openpyxl sees it.
    """
    check_limits(data, filename)
    if data.startswith(b"PK"):
        return _xlsx_grids(data)
    if data.startswith(_OLE):  # a compound file: an old .xls, or an encrypted (password-protected) .xlsx
        raise SheetError(PROTECTED if "EncryptionInfo".encode("utf-16-le") in data[:1 << 20] else OLD_EXCEL)
    if filename.lower().endswith((".csv", ".txt")):
        return [(None, _csv_grid(data))]
    raise SheetError(NOT_A_SHEET)


def read_grid(data: bytes, filename: str, score: Score) -> tuple[Grid, str | None]:
    """Return the rows of the worksheet that best looks like ours, and its name."""
    best: tuple[int, Grid, str | None] | None = None
    for name, grid in read_grids(data, filename):
        points = max((score(r) for r in grid[:HEADER_SCAN]), default=0)
        if best is None or points > best[0]:
            best = (points, grid, name)
    if best is None:
        raise SheetError(NOT_A_SHEET)
    return best[1], best[2]


# --- limits, before parsing (issue 17, finding 4) --------------------------------------------------

MB = 1024 * 1024
TOO_MUCH_UNPACKED = N_("This workbook unpacks to more than {mb} MB. Split it into smaller files.")
TOO_MANY_ROWS = N_("The sheet has more than {n} rows. Split it into smaller files.")
TOO_MANY_COLUMNS = N_("The sheet has more than {n} columns. Remove the columns that are not needed.")
_DIMENSION = re.compile(rb'<dimension[^>]*ref="[A-Z]+[0-9]+:([A-Z]+)([0-9]+)"')
_WIDE_CELL = re.compile(rb'<c [^>]*r="([A-Z]{3,})[0-9]')  # a column past ZZ (702): counted exactly below
_ROW_TAG = b"<row"


@dataclass(frozen=True)
class SheetLimits:
    """What an uploaded sheet may be; set from the settings once (`configure_limits`)."""

    max_bytes: int = 20 * MB
    max_inflated: int = 256 * MB  # all parts of an .xlsx together, as its directory declares them
    max_rows: int = 200_000
    max_columns: int = 200

    @property
    def max_shared_strings(self) -> int:
        return self.max_inflated // 4


LIMITS = SheetLimits()


def configure_limits(limits: SheetLimits) -> None:
    """Set the upload limits (create_app calls it with the settings)."""
    global LIMITS
    LIMITS = limits


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


@dataclass(frozen=True)
class SheetSize:
    """What `check_limits` saw of an upload: its bytes, and its rows (row tags or lines; the largest
    worksheet's), known before anything parses it."""

    bytes: int
    rows: int


def check_limits(data: bytes, filename: str, limits: SheetLimits | None = None) -> SheetSize:
    """Raise SheetError when an upload is past a limit: its size, its unpacked size (each part's declared
    size: zipfile never inflates past it), its shared strings, its rows or its columns. Cheap: the archive's
    directory, then each worksheet's XML streamed once through a counter (stopping at the first excess).
    Return its size, which decides whether it is read in the request or as a background job."""
    limits = limits or LIMITS
    if len(data) > limits.max_bytes:
        raise SheetError(TOO_BIG, mb=limits.max_bytes // MB)
    if data.startswith(b"PK"):
        return SheetSize(len(data), _check_xlsx(data, limits))
    if not data.startswith(_OLE):
        return SheetSize(len(data), _check_text(data, limits))
    return SheetSize(len(data), 0)


def _check_text(data: bytes, limits: SheetLimits) -> int:
    lines = data.count(b"\n")
    if lines > limits.max_rows:
        raise SheetError(TOO_MANY_ROWS, n=limits.max_rows)
    for line in data[:1 << 16].splitlines()[:20]:
        if max(line.count(b","), line.count(b"\t")) >= limits.max_columns:
            raise SheetError(TOO_MANY_COLUMNS, n=limits.max_columns)
    return lines + (0 if data.endswith(b"\n") or not data else 1)


def _check_xlsx(data: bytes, limits: SheetLimits) -> int:
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = book.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SheetError(NOT_A_SHEET) from exc
    if len(members) > 10_000 or sum(m.file_size for m in members) > limits.max_inflated:
        raise SheetError(TOO_MUCH_UNPACKED, mb=limits.max_inflated // MB)
    rows = 0
    for member in members:
        name = member.filename.lower()
        if name.endswith("sharedstrings.xml") and member.file_size > limits.max_shared_strings:
            raise SheetError(TOO_MUCH_UNPACKED, mb=limits.max_inflated // MB)
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            rows = max(rows, _check_worksheet(book, member, limits))
    return rows


def _check_worksheet(book: zipfile.ZipFile, member: zipfile.ZipInfo, limits: SheetLimits) -> int:
    """Count the rows of one worksheet's XML as it streams by (a row tag never spans more than a chunk's
    carry-over), and read its declared dimension and any cell past column ZZ."""
    rows, carry, first = 0, b"", True
    try:
        with book.open(member) as handle:
            while chunk := handle.read(1 << 20):
                text = carry + chunk
                if first and (dim := _DIMENSION.search(text[:4096])):
                    if _column_number(dim.group(1)) > limits.max_columns:
                        raise SheetError(TOO_MANY_COLUMNS, n=limits.max_columns)
                    if int(dim.group(2)) > limits.max_rows + 1000:  # a header and title rows over the limit
                        raise SheetError(TOO_MANY_ROWS, n=limits.max_rows)
                first = False
                rows += text.count(_ROW_TAG) - carry.count(_ROW_TAG)
                if rows > limits.max_rows + 1000:
                    raise SheetError(TOO_MANY_ROWS, n=limits.max_rows)
                wide = _WIDE_CELL.search(text)
                if wide and _column_number(wide.group(1)) > limits.max_columns:
                    raise SheetError(TOO_MANY_COLUMNS, n=limits.max_columns)
                carry = text[-64:]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise SheetError(NOT_A_SHEET) from exc
    return rows


def _xlsx_grids(data: bytes) -> list[tuple[str | None, Grid]]:
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), data_only=True)  # not read_only: merged ranges are needed
    except Exception as exc:  # a corrupt package fails in zipfile, XML parsing or openpyxl itself
        raise SheetError(NOT_A_SHEET) from exc
    # Only the cells that hold a value: styled empty rows down to row 1,048,576 cost nothing.
    return [(ws.title, _grid({pos: c.value for pos, c in ws._cells.items() if c.value is not None},
                             [(r.min_row, r.min_col, r.max_row) for r in ws.merged_cells.ranges]))
            for ws in book.worksheets]


def _grid(cells: dict[tuple[int, int], Any], merged: list[tuple[int, int, int]]) -> Grid:
    """Return the rows 1..last as lists of values from {(row, column): value} (both 1-based); a cell merged
    down a column (first row, column, last row) holds for every row it spans."""
    if not cells:
        return []
    last = max(r for r, _ in cells)
    for min_row, col, max_row in merged:
        value = cells.get((min_row, col))
        if value is not None and max_row > min_row:
            for r in range(min_row + 1, min(max_row, last) + 1):
                cells[(r, col)] = value
    rows: dict[int, dict[int, Any]] = {}
    for (r, c), value in cells.items():
        rows.setdefault(r, {})[c] = value
    grid: Grid = []
    for r in range(1, last + 1):
        row = rows.get(r)
        line: list[Any] = [None] * max(row) if row else []
        for c, value in (row or {}).items():
            line[c - 1] = value
        grid.append(line)
    return grid


def _csv_grid(data: bytes) -> Grid:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetError(NOT_A_SHEET)
    head = text[:4096]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise SheetError(NOT_A_SHEET) from exc


def find_header(grid: list[list[Any]], score: Score) -> int:
    """Return the index of the header row: the row of the first 15 matching most fields (at least 2)."""
    scores = [(score(row), -i) for i, row in enumerate(grid[:HEADER_SCAN])]
    if not scores or max(scores)[0] < 2:
        raise SheetError(NO_HEADER)
    return -max(scores)[1]


def texts(row: list[Any]) -> list[str]:
    return [str(v).strip() if v is not None else "" for v in row]


def is_blank(row: list[Any]) -> bool:
    return all(v is None or str(v).strip() == "" for v in row)


SUFFIXES = (".xlsx", ".csv")
WRONG_TYPE = N_("Upload an Excel (.xlsx) or CSV file.")
TOO_BIG = N_("The file is larger than {mb} MB.")
GONE = N_("The uploaded file is no longer available; upload it again.")


def uploads_dir(var_dir: Path) -> Path:
    return var_dir / "uploads"


def keep_upload(var_dir: Path, file_name: str, data: bytes) -> str:
    """Keep an uploaded sheet under var/uploads by its SHA-256 (previews and confirmations read it back)."""
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUFFIXES:
        raise SheetError(WRONG_TYPE)
    if len(data) > LIMITS.max_bytes:
        raise SheetError(TOO_BIG, mb=LIMITS.max_bytes // MB)
    sha = hashlib.sha256(data).hexdigest()
    folder = uploads_dir(var_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha}{suffix}"
    if not path.exists():
        path.write_bytes(data)
        path.chmod(0o600)
    return sha


def kept_upload(var_dir: Path, sha256: str, file_name: str) -> bytes:
    """Return a kept upload's bytes, or raise SheetError if it is gone (or the name is not ours)."""
    suffix = Path(file_name).suffix.lower()
    path = uploads_dir(var_dir) / f"{sha256}{suffix}"
    if suffix not in SUFFIXES or len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256) \
            or not path.exists():
        raise SheetError(GONE)
    return path.read_bytes()


BAD_DATE = N_("Not a date: {value}")
EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE_TEXT = re.compile(
    r"^(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?(?:\s*[T ]?\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})"
    r"(?:\s*[:：分]\s*(\d{1,2}))?\s*秒?)?$")


def parse_datetime(cell: Any) -> datetime:
    """Return a local timestamp from an Excel date, an Excel serial day number or text such as
    2020年2月3日 14:30, 2020/2/3 or 2020-02-03 14:30:00; within the plausible span of events (core.clock)."""
    moment = _cell_datetime(cell)
    if not in_event_range(moment):
        earliest, latest = event_bounds()
        raise CodeError(OUT_OF_RANGE, earliest=local_time(earliest), latest=local_time(latest))
    return moment


def _cell_datetime(cell: Any) -> datetime:
    if isinstance(cell, datetime):
        return cell.replace(tzinfo=LOCAL_TZ) if cell.tzinfo is None else cell
    if isinstance(cell, date):
        return datetime(cell.year, cell.month, cell.day, tzinfo=LOCAL_TZ)
    if isinstance(cell, int | float) and 20000 < float(cell) < 80000:  # an Excel serial day number
        return (EXCEL_EPOCH + timedelta(days=float(cell))).replace(tzinfo=LOCAL_TZ)
    text = fold(str(cell)).strip()
    match = _DATE_TEXT.match(text)
    if match:
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
        try:
            return datetime(y, mo, d, h, mi, s, tzinfo=LOCAL_TZ)
        except ValueError:
            pass
    raise CodeError(BAD_DATE, value=str(cell)[:40])




# --- writing --------------------------------------------------------------------------------------

def text_cells(sheet: Any, values: list[Any]) -> list[Any]:
    """Return a row for `sheet.append` in which every text starting like a formula (= + - @) is a text cell
    marked with a quote prefix: a name, company or route typed by the public as `=HYPERLINK(…)` or
    `@SUM(…)` is shown as typed and never evaluated, not even after someone edits the cell in Excel."""
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for value in values:
        if looks_like_formula(value):  # core.export: the one test of what a spreadsheet takes for a formula
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            out.append(cell)
        else:
            out.append(value)
    return out
