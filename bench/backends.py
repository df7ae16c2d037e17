"""Run a benchmark on the embedded database and on PostgreSQL (a throwaway database), in one process."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

PG = os.environ.get("FANGKONG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")  # pick one while developing


def on_each_backend(bench: Callable[[str, str, Path], None]) -> None:
    """Call bench(url, label, var_dir) for SQLite, then for a fresh PostgreSQL database if one answers."""
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in BACKENDS:
            bench(f"sqlite:///{tmp}/bench.db", "SQLite", Path(tmp))
        if "postgresql" not in BACKENDS:
            return
        admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
        name = f"fk_bench_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.OperationalError as exc:
            print(f"PostgreSQL not reachable, skipped: {exc.__class__.__name__}")
            return
        try:
            bench(PG.rsplit("/", 1)[0] + "/" + name, "PostgreSQL", Path(tmp))
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
