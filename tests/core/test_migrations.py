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
