"""audit hardening: refuse TRUNCATE on the audit log (PostgreSQL)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:00:00

The row triggers of 0001 refuse UPDATE and DELETE, but TRUNCATE fires no row trigger: on PostgreSQL it
emptied the log and `audit verify` then reported an intact chain of 0 entries (issue 17). A statement
trigger refuses it. The application's role should also not own the tables (so it cannot drop these
triggers or the table); see README, "Database roles". SQLite has no TRUNCATE (its DELETE trigger
stands); the anchors outside the database catch what a file-level edit does.
"""

from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: TRUNCATE refused';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_PG_FUNCTION)
    op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_no_truncate()")
