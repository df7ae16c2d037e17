"""Issue 14: no page does N+1. Every page each role opens is rendered on the demo city (lists of up to a
page of rows) while the statements sent to the database are counted; a page whose count grows with its
rows (one query per row) blows the budget at once."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.support import Personas
from tests.web import test_route_matrix as matrix
from tests.web.test_route_matrix import MATRIX, PUBLIC, _concrete

ids = matrix.ids
# statements per page: a list of 50 rows with a query per row needs more. The heaviest page today is
# the situation report (two queries per district: bounded by the city, not by rows).
BUDGET = 30
PAGES = sorted((template, path, allowed) for (method, template), (path, allowed) in MATRIX.items()
               if method == "GET" and not path.startswith("/api/") and allowed != PUBLIC
               and not template.endswith((".xlsx", ".csv", "/file", "/feedback", "/qr", ".png", "/data", "/count")))


@pytest.mark.parametrize(("template", "path", "allowed"), PAGES, ids=[p[0] for p in PAGES])
def test_page_statements_do_not_grow_with_its_rows(template: str, path: str, allowed, personas: Personas,
                                                     db, ids) -> None:  # type: ignore[no-untyped-def]
    role = "command" if "command" in allowed else sorted(allowed)[0]
    browser = personas.browser(role)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = browser.get(_concrete(path, ids))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code < 500
    assert len(statements) <= BUDGET, f"{template} as {role}: {len(statements)} statements\n" + "\n".join(
        s.split("\n")[0][:120] for s in statements[:60])
