"""The audit log: hash chain, tamper evidence, append-only, auditor's view, CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from fangkong.cli import app as cli
from fangkong.core.audit import AuditEntry, record, verify_chain
from fangkong.core.models import Unit


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


def _audited_units(db) -> set[str]:  # type: ignore[no-untyped-def]
    """The codes of the units whose creation is in the log (ids are reused after a rollback; codes say which)."""
    with db.sessions() as s:
        details = s.execute(select(AuditEntry.detail).where(AuditEntry.object_type == "units",
                                                            AuditEntry.action == "create")).scalars()
        return {json.loads(d)["fields"]["code"] for d in details}


def test_a_rolled_back_savepoint_keeps_the_audit_of_what_its_transaction_commits(db) -> None:
    with db.sessions() as s, s.begin():
        kept = Unit(code="T-KEPT", name="留下", kind="station", path="/")
        s.add(kept)
        s.flush()
        record(s, "reveal", "units", kept.id)
        with pytest.raises(RuntimeError), s.begin_nested():
            gone = Unit(code="T-GONE", name="撤回", kind="station", path="/")
            s.add(gone)
            s.flush()
            raise RuntimeError("one sign-in loses a race")
        with s.begin_nested():  # a savepoint released normally keeps its entries
            s.add(Unit(code="T-LATER", name="其后", kind="station", path="/"))
    units = _audited_units(db)
    assert {"T-KEPT", "T-LATER"} <= units and "T-GONE" not in units
    with db.sessions() as s:
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "reveal",
                                                  AuditEntry.object_id == str(kept.id))).scalar_one()
        assert verify_chain(s).ok


def test_a_rolled_back_transaction_writes_no_audit(db) -> None:
    with db.sessions() as s:
        s.begin()
        s.add(Unit(code="T-ROLLED", name="回滚", kind="station", path="/"))
        s.flush()
        s.rollback()
        with s.begin():
            s.add(Unit(code="T-NEXT", name="下一个", kind="station", path="/"))
    units = _audited_units(db)
    assert "T-NEXT" in units and "T-ROLLED" not in units


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
    monkeypatch.setenv("FANGKONG_AUDIT_KEY", settings.audit_key)
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    with db.sessions() as s:
        first = s.execute(select(AuditEntry.id).order_by(AuditEntry.id).limit(1)).scalar_one()
    _tamper(db, first)
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1 and "broken" in broken.output
