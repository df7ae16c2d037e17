"""Issue 17, finding 7: denied attempts leave a trace, and a scan cannot flood the audit log."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from fangkong.core.audit import AuditEntry
from fangkong.core.web.denied import BURST, DeniedBudget


def _denied(db, username: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    with db.sessions() as s:
        rows = s.execute(select(AuditEntry.detail).where(AuditEntry.action == "denied",
                                                          AuditEntry.username == username)).scalars()
        return [json.loads(d) for d in rows]


def test_a_person_outside_reach_is_a_404_that_is_audited(personas, db) -> None:
    r = personas.browser("station").get("/api/v1/persons/99999999")
    assert r.status_code == 404
    rows = _denied(db, "station")
    assert rows and rows[-1]["status"] == 404 and rows[-1]["path"] == "/api/v1/persons/99999999"


def test_a_role_refused_by_a_guard_is_audited(personas, db) -> None:
    r = personas.browser("auditor").get("/api/v1/persons/review")
    assert r.status_code == 403
    assert [row["status"] for row in _denied(db, "auditor")] == [403]


def test_an_id_sweep_writes_a_bounded_number_of_rows(personas, db) -> None:
    c = personas.browser("district")
    for person_id in range(99999000, 99999000 + 3 * BURST):
        assert c.get(f"/api/v1/persons/{person_id}").status_code == 404
    assert len(_denied(db, "district")) == BURST
    with db.sessions() as s:
        assert s.execute(select(func.count()).where(AuditEntry.action == "denied")).scalar_one() == BURST


def test_the_budget_reports_what_it_left_out() -> None:
    budget = DeniedBudget(burst=2, window=60)
    assert [budget.admit("u", now) for now in (0, 1, 2, 3)] == [0, 0, None, None]
    assert budget.admit("u", 61) == 2


def test_risk_status_reads_are_audited(personas, db) -> None:
    headers = personas.headers("health")
    c = personas.browser("health")
    person_id = c.get("/api/v1/persons", headers=headers).json()["items"][0]["id"]
    assert c.get(f"/api/v1/persons/{person_id}/status", headers=headers).status_code == 200
    with db.sessions() as s:
        reads = s.execute(select(AuditEntry.object_id).where(AuditEntry.action == "read",
                                                             AuditEntry.object_type == "risk_status")).scalars()
        assert str(person_id) in set(reads)
