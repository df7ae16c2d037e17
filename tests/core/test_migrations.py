"""Models and migrations never drift (issue 14): a fresh database upgraded to head has exactly the tables,
columns and indexes the models declare."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fangkong.core.db import Base
from fangkong.models import load_all


def test_migrations_match_the_models(db_url: str) -> None:
    load_all()
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models and migrations differ; write a migration:\n" + "\n".join(map(str, diff))


def test_observation_keys_move_with_the_stored_figures_and_reports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Observation became its own capability (issue 14): what was stored as people.* reads as observation.*,
    and a downgrade gives the old keys back."""
    from alembic import command

    from fangkong.core.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'keys.db'}"
    upgrade(url, "0019")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO daily_figures (day, unit_id, key, value) VALUES "
                                 "('2022-04-01', 1, 'people.referrals', 3), ('2022-04-01', 1, 'leads.received', 5)"))
            conn.execute(sa.text(
                "INSERT INTO daily_reports (unit_id, day, zero_report, \"values\", note, version, submitted_at, "
                "submitted_by, late) VALUES (1, '2022-04-01', 0, :v, '', 1, '2022-04-01 10:00:00', 'x', 0)"),
                {"v": '{"people.under_observation": 7, "leads.received": 5}'})
        upgrade(url)
        with engine.connect() as conn:
            keys = set(conn.execute(sa.text("SELECT key FROM daily_figures")).scalars())
            values = conn.execute(sa.text("SELECT \"values\" FROM daily_reports")).scalar_one()
        assert keys == {"observation.referrals", "leads.received"}
        assert '"observation.under_observation": 7' in values and '"leads.received": 5' in values
        command.downgrade(alembic_config(url), "0019")
        with engine.connect() as conn:
            assert "people.referrals" in set(conn.execute(sa.text("SELECT key FROM daily_figures")).scalars())
    finally:
        engine.dispose()
