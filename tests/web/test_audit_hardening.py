"""Issue 17, finding 1: an audit log that cannot be silently truncated, cut short or rewritten."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from fangkong.cli import app as cli
from fangkong.core.audit import GENESIS, AuditEntry, row_hash, verify_chain
from fangkong.core.audit_anchor import ANCHOR_JOB, latest_anchor, verify_anchored, write_anchor
from fangkong.core.scheduler import run_jobs

FIELDS = ("at", "user_id", "username", "role", "action", "object_type", "object_id", "detail", "ip",
          "request_id", "purpose")


def _unprotected(conn) -> None:  # type: ignore[no-untyped-def]
    """Lift the append-only triggers, as an attacker with the database owner's rights would."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
    else:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")


def _anchor(db, settings):  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return write_anchor(s, settings.audit_key, settings.audit_anchor_file)


def _verify(db, settings):  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return verify_anchored(s, settings)


def _unkeyed(prev: str, row: dict) -> str:  # type: ignore[type-arg]
    """The chain hash before issue 17 (plain SHA-256): what an attacker could recompute."""
    at = row["at"].astimezone(UTC).isoformat(timespec="microseconds")
    payload = json.dumps([at, *(row[f] for f in FIELDS[1:])], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{payload}".encode()).hexdigest()


def _rewrite_from(db, first_id: int, hasher) -> None:  # type: ignore[no-untyped-def]
    """Change one row and recompute the chain from it on with `hasher(prev, row)`."""
    with db.engine.begin() as conn:
        _unprotected(conn)
        rows = conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.id)).mappings().all()
        prev = GENESIS
        for row in rows:
            data = dict(row)
            if row["id"] == first_id:
                data["purpose"] = "rewritten"
            if row["id"] >= first_id:
                new = hasher(prev, data)
                conn.execute(text("UPDATE audit_log SET purpose = :p, prev_hash = :prev, hash = :h WHERE id = :id"),
                             {"p": data["purpose"], "prev": prev, "h": new, "id": row["id"]})
                prev = new
            else:
                prev = row["hash"]


def test_truncate_is_refused_by_the_database(db) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE trigger is tested in test_audit.py")
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE audit_log")


def test_verify_fails_on_a_truncated_log(db, settings) -> None:
    _anchor(db, settings)
    with db.engine.begin() as conn:
        _unprotected(conn)
        conn.exec_driver_sql("DELETE FROM audit_log")
    report = _verify(db, settings)
    assert not report.ok and report.rows == 0 and "truncated" in (report.reason or "")


def test_verify_fails_on_a_deleted_tail_and_names_the_first_missing_entry(db, settings) -> None:
    anchor = _anchor(db, settings)
    with db.engine.begin() as conn:
        _unprotected(conn)
        conn.execute(text("DELETE FROM audit_log WHERE id > :cut"), {"cut": anchor.head_id - 20})
    report = _verify(db, settings)
    assert not report.ok and report.first_bad_id == anchor.head_id - 19


def test_a_deleted_tail_refilled_with_new_rows_fails_at_the_anchored_head(personas, db, settings) -> None:
    anchor = _anchor(db, settings)
    with db.engine.begin() as conn:
        _unprotected(conn)
        conn.execute(text("DELETE FROM audit_log WHERE id > :cut"), {"cut": anchor.head_id - 3})
        if conn.dialect.name == "postgresql":  # SQLite reuses the ids; make PostgreSQL do the same
            conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), :cut)"),
                         {"cut": anchor.head_id - 3})
    for _ in range(3):
        personas.browser("station").get("/people?q=王")
    report = _verify(db, settings)
    assert not report.ok and report.first_bad_id <= anchor.head_id


def test_a_chain_rewritten_with_the_unkeyed_hash_fails_at_the_rewritten_row(db, settings) -> None:
    with db.sessions() as s:
        target = s.execute(select(AuditEntry.id).order_by(AuditEntry.id).offset(5).limit(1)).scalar_one()
    _rewrite_from(db, target, _unkeyed)
    with db.sessions() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_id == target


def test_a_chain_rewritten_with_the_key_still_fails_against_the_anchor(db, settings) -> None:
    anchor = _anchor(db, settings)
    key = settings.audit_key.encode()
    _rewrite_from(db, anchor.head_id - 4, lambda prev, row: row_hash(key, prev, row))
    report = _verify(db, settings)
    assert not report.ok and report.first_bad_id == anchor.head_id and "rewritten" in (report.reason or "")


def test_an_edited_anchor_file_is_refused(db, settings) -> None:
    _anchor(db, settings)
    path = settings.audit_anchor_file
    data = json.loads(path.read_text())
    data["head_id"] = 1
    path.write_text(json.dumps(data) + "\n")
    report = _verify(db, settings)
    assert not report.ok and "not signed" in (report.reason or "")


def test_cli_anchor_then_verify_detects_a_deleted_tail(db, settings, monkeypatch) -> None:
    for name, value in (("DATABASE_URL", settings.database_url), ("VAR_DIR", str(settings.var_dir)),
                        ("AUDIT_KEY", settings.audit_key)):
        monkeypatch.setenv(f"FANGKONG_{name}", value)
    runner = CliRunner()
    anchored = runner.invoke(cli, ["audit", "anchor"])
    assert anchored.exit_code == 0 and "Anchored entry" in anchored.output
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output and "anchored head" in ok.output
    with db.engine.begin() as conn:
        _unprotected(conn)
        conn.exec_driver_sql("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)")
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1 and "broken at entry" in broken.output


def test_the_scheduler_anchors_the_head(db, settings) -> None:
    runs = run_jobs(db, settings, [ANCHOR_JOB], platform=None)
    assert runs[0].error is None and runs[0].result
    anchor = latest_anchor(settings.audit_key, settings.audit_anchor_file)
    assert anchor is not None and anchor.head_id == runs[0].result
    assert run_jobs(db, settings, [ANCHOR_JOB], platform=None)[0].result == 0  # not due again yet
