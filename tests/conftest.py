"""Test fixtures: a fresh database per test, on SQLite and on PostgreSQL, cloned from a template
that holds a small demo city; an app and HTTP client per test; named personas per role.

PostgreSQL tests skip with a visible notice when no server answers, unless
FANGKONG_REQUIRE_POSTGRES=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.settings import Settings, load_settings
from fangkong.demo.build import build_demo
from tests.support import Personas

PG_SERVER = os.environ.get("FANGKONG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("FANGKONG_REQUIRE_POSTGRES") == "1"
DEMO_SIZE, DEMO_SEED = 240, 7
BACKENDS = ["sqlite", "postgresql"]
TEST_AUDIT_KEY = "k" * 40  # the template and every clone share it, so their chains verify


def make_settings(var_dir: Path, url: str) -> Settings:
    return load_settings(var_dir=var_dir, database_url=url, secret_key="t" * 40, audit_key=TEST_AUDIT_KEY,
                         argon2_memory_kib=64,
                         argon2_time_cost=1, demo=True, scheduler=False)


def _pg_admin() -> sa.Engine | None:
    engine = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            return engine
    except sa.exc.OperationalError:
        engine.dispose()
        return None


def _pg_url(name: str) -> str:
    return PG_SERVER.rsplit("/", 1)[0] + "/" + name


class Backend:
    """Makes a fresh database per test by copying a migrated template with the demo city."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root
        self.tag = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
        self.admin = _pg_admin() if name == "postgresql" else None
        self.template = self._build_template()

    def _build_template(self) -> str:
        if self.name == "sqlite":
            url = f"sqlite:///{self.root / 'template.db'}"
        else:
            name = f"fk_tmpl_{self.tag}"
            with self.admin.connect() as conn:  # type: ignore[union-attr]
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = _pg_url(name)
        upgrade(url)
        db = Database(url, audit_key=TEST_AUDIT_KEY)
        build_demo(db, make_settings(self.root, url), size=DEMO_SIZE, seed=DEMO_SEED)
        db.dispose()
        return url

    def clone(self) -> str:
        if self.name == "sqlite":
            path = self.root / f"t_{uuid.uuid4().hex[:10]}.db"
            shutil.copyfile(self.template.split("///", 1)[1], path)
            return f"sqlite:///{path}"
        name = f"fk_t_{self.tag}_{uuid.uuid4().hex[:6]}"
        with self.admin.connect() as conn:  # type: ignore[union-attr]
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template.rsplit("/", 1)[1]}"')
        return _pg_url(name)

    def drop(self, url: str) -> None:
        if self.name == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(url.split("///", 1)[1] + suffix).unlink(missing_ok=True)
            return
        with self.admin.connect() as conn:  # type: ignore[union-attr]
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    def close(self) -> None:
        if self.admin is not None:
            self.drop(self.template)
            self.admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if request.param == "postgresql" and _pg_admin() is None:
        message = f"PostgreSQL not reachable at {PG_SERVER}"
        if REQUIRE_PG:
            pytest.fail(message + " and FANGKONG_REQUIRE_POSTGRES=1")
        pytest.skip(message)
    made = Backend(request.param, tmp_path_factory.mktemp(request.param))
    yield made
    made.close()


@pytest.fixture
def db_url(backend: Backend) -> Iterator[str]:
    url = backend.clone()
    yield url
    backend.drop(url)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(tmp_path, db_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url, audit_key=settings.audit_key)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    made = create_app(settings, db)
    yield made
    made.state.jobs.shutdown()  # exports and imports a test started finish before its database goes


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def personas(app) -> Personas:  # type: ignore[no-untyped-def]
    return Personas(app)
