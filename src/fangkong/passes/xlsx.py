"""A streaming reader for the first worksheet of a large .xlsx (100,000 vehicles in a few seconds).

core.sheets loads the whole workbook through openpyxl, which keeps merged ranges and guesses the best
sheet but took about 20 s for 100,000 rows on this machine; an enterprise's vehicle list is one plain
table, so here the sheet's XML is parsed as a stream (ElementTree's expat), row by row, with bounds on
the rows and on the bytes inflated from the archive (a zip bomb stops at the bound, not at the memory).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import ParseError, iterparse

from fangkong.core.sheets import NOT_A_SHEET, SheetError

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAX_INFLATED = 400 * 1024 * 1024  # bytes of XML a sheet may inflate to (100,000 rows take about 30 MB)
_COLUMN = re.compile(r"[A-Z]+")


class _Bounded(io.RawIOBase):
    """A file that refuses to be read past a number of bytes (the inflated XML of one part)."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner, self.left = inner, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(min(len(buffer), 1 << 16))
        self.left -= len(data)
        if self.left < 0:
            raise SheetError(NOT_A_SHEET)
        buffer[: len(data)] = data
        return len(data)


def _column(ref: str | None, default: int) -> int:
    if not ref:
        return default
    letters = _COLUMN.match(ref)
    if letters is None:
        return default
    index = 0
    for ch in letters.group():
        index = index * 26 + ord(ch) - 64
    return index - 1


def _text(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(NS + "t"))


def _first_sheet(book: zipfile.ZipFile) -> str:
    """Return the archive path of the workbook's first sheet."""
    names = set(book.namelist())
    try:
        with book.open("xl/workbook.xml") as handle:
            sheet = next(e for _, e in iterparse(handle) if e.tag == NS + "sheet")
        rel_id = sheet.get(REL_NS + "id")
        with book.open("xl/_rels/workbook.xml.rels") as handle:
            target = next(e.get("Target") for _, e in iterparse(handle)
                          if e.tag == PKG_REL + "Relationship" and e.get("Id") == rel_id)
    except (KeyError, StopIteration, ParseError):
        target = None
    path = None if target is None else target.lstrip("/") if target.startswith("/xl/") else "xl/" + target
    if path in names:
        return path
    candidates = sorted(n for n in names if n.startswith("xl/worksheets/sheet"))
    if not candidates:
        raise SheetError(NOT_A_SHEET)
    return candidates[0]


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in book.namelist():
        return []
    out = []
    with book.open("xl/sharedStrings.xml") as raw:
        for _, element in iterparse(io.BufferedReader(_Bounded(raw, MAX_INFLATED))):
            if element.tag == NS + "si":
                out.append(_text(element))
                element.clear()
    return out


def _value(cell: Any, shared: list[str]) -> Any:
    kind = cell.get("t")
    if kind == "inlineStr":
        return _text(cell)
    value = cell.find(NS + "v")
    if value is None or value.text is None:
        return None
    text = value.text
    if kind == "s":
        return shared[int(text)]
    if kind in ("str", "e"):
        return text
    if kind == "b":
        return text == "1"
    number = float(text)
    return int(number) if number.is_integer() and abs(number) < 1e15 else number


def iter_rows(data: bytes, max_rows: int) -> Iterator[list[Any]]:
    """Yield the first sheet's rows as lists of values (empty rows included, so numbers match Excel's),
    at most `max_rows` + 1 of them: one past the bound tells the caller the sheet is too long."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        shared = _shared_strings(book)
        sheet = _first_sheet(book)
        with book.open(sheet) as raw:
            expected = 1
            for _, element in iterparse(io.BufferedReader(_Bounded(raw, MAX_INFLATED))):
                if element.tag != NS + "row":
                    continue
                number = int(element.get("r") or expected)
                while expected < number and expected <= max_rows + 1:
                    yield []
                    expected += 1
                if expected > max_rows + 1:
                    return
                row: list[Any] = []
                for position, cell in enumerate(element.iter(NS + "c")):
                    column = _column(cell.get("r"), position)
                    row.extend([None] * (column - len(row) + 1) if column >= len(row) else [])
                    row[column] = _value(cell, shared)
                element.clear()
                yield row
                expected += 1
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, ParseError, KeyError, ValueError, IndexError,
            EOFError) as exc:
        raise SheetError(NOT_A_SHEET) from exc
