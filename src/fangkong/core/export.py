"""Exports: every sheet and CSV the platform writes passes its data cells through `safe_cell`, so that
nothing a stranger typed (an arrival form, an upstream sheet, a follow-up note) becomes a live formula
in the reader's spreadsheet (CWE-1236, OWASP "CSV injection")."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
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


def xlsx_stream(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """Return a workbook of one sheet written in openpyxl's write-only mode (constant memory per row)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append(safe_row(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
