"""The audit log: hash chain, tamper evidence, append-only, auditor's view, CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from fangkong.cli import app as cli
from fangkong.core.audit import AuditEntry, verify_chain


def _tamper(db, entry_id: int) -> None:  # type: ignore[no-untyped-def]
    """Change a row behind the application's back (an attacker with database access)."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
            conn.execute(text("UPDATE audit_log SET purpose = 'edited' WHERE id = :id"), {"id": entry_id})
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.execute(text("UPDATE audit_log SET purpose = 'edited' WHERE id = :id"), {"id": entry_id})


def test_chain_of_a_fresh_city_is_intact(db) -> None:
    with db.sessions() as s:
        report = verify_chain(s)
    assert report.ok and report.rows >= 1


def test_every_change_and_read_extends_a_valid_chain(personas, db) -> None:
    personas.browser("station").get("/people?q=王")
    personas.browser("admin").get("/admin/units")
    with db.sessions() as s:
        report = verify_chain(s)
        actions = set(s.execute(select(AuditEntry.action)).scalars())
    assert report.ok
    assert {"login", "search"} <= actions


def test_a_changed_row_breaks_the_chain_at_that_row(personas, db) -> None:
    personas.browser("station").get("/people?q=王")
    with db.sessions() as s:
        target = s.execute(select(AuditEntry.id).order_by(AuditEntry.id).offset(1).limit(1)).scalar_one()
    _tamper(db, target)
    with db.sessions() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_id == target


def test_the_database_refuses_to_update_or_delete_audit_rows(db) -> None:
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET purpose = 'x'"))
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def test_auditor_filters_the_log_and_verifies_the_chain(personas) -> None:
    personas.browser("station").get("/people?q=王")
    c, headers = personas.browser("auditor"), personas.headers("auditor")
    r = c.get("/api/v1/audit", params={"username": "station", "action": "search"}, headers=headers)
    assert r.status_code == 200 and r.json()["total"] >= 1
    assert all(item["username"] == "station" for item in r.json()["items"])
    assert c.get("/api/v1/audit/verify", headers=headers).json()["ok"] is True
    page = c.get("/audit/verify")
    assert 'data-testid="chain-ok"' in page.text
    assert c.get("/audit", params={"action": "login"}).status_code == 200


def test_bad_date_filter_is_a_clear_error(personas) -> None:
    r = personas.browser("auditor").get("/audit", params={"since": "yesterday"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text


def test_cli_audit_verify_reports_intact_and_broken_chains(db, settings, monkeypatch) -> None:
    monkeypatch.setenv("FANGKONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(settings.var_dir))
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    with db.sessions() as s:
        first = s.execute(select(AuditEntry.id).order_by(AuditEntry.id).limit(1)).scalar_one()
    _tamper(db, first)
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1 and "broken" in broken.output
