"""observation becomes its own capability: its figure, export and import keys move from people.* to
observation.* in the stored roll-ups, daily reports (and their revisions) and jobs

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-04 15:30:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None

FIGURES = ("under_observation", "centralised_quarantine", "home_quarantine", "health_monitoring",
           "observation_started", "released", "followups_due", "followups_done", "followups_missed", "referrals",
           "self_reports", "self_report_referrals")
JOBS = {"export_runs": ("observations",), "import_jobs": ("followups",)}


def _rename(old: str, new: str) -> None:
    bind = op.get_bind()
    for name in FIGURES:
        bind.execute(sa.text("UPDATE daily_figures SET key = :new WHERE key = :old"),
                     {"old": f"{old}.{name}", "new": f"{new}.{name}"})
    for table, names in JOBS.items():
        for name in names:
            bind.execute(sa.text(f"UPDATE {table} SET key = :new WHERE key = :old"),
                         {"old": f"{old}.{name}", "new": f"{new}.{name}"})
    moved = {f"{old}.{name}": f"{new}.{name}" for name in FIGURES}
    for table in ("daily_reports", "daily_report_revisions"):  # submitted values: JSON keyed by figure
        rows = bind.execute(sa.text(f"SELECT id, \"values\" FROM {table} WHERE \"values\" LIKE :p"),
                            {"p": f"%\"{old}.%"}).all()
        for row_id, text in rows:
            values = json.loads(text or "{}")
            renamed = {moved.get(k, k): v for k, v in values.items()}
            if renamed != values:
                bind.execute(sa.text(f"UPDATE {table} SET \"values\" = :v WHERE id = :id"),
                             {"v": json.dumps(renamed), "id": row_id})


def upgrade() -> None:
    _rename("people", "observation")


def downgrade() -> None:
    _rename("observation", "people")
