"""Database: engine, session factory and the declarative base shared by every capability."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import DateTime, MetaData, Table, TypeDecorator, create_engine, event
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:  # DeclarativeBase says FromClause; every model here declares __tablename__, so a Table
        __table__: ClassVar[Table]


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Return an engine; SQLite gets WAL, foreign keys and serialised write transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so that it can be BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every request may append to the audit hash chain; taking the write lock up front
        # avoids SQLITE_BUSY on upgrade and keeps the chain linear. A long read (an export) says it
        # only reads, and takes no lock: writers go on meanwhile (WAL).
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


READ_ONLY = "fangkong_read_only"


def session_factory(engine: Engine, audit_key: str | None = None) -> sessionmaker[Session]:
    """Return the session factory; its sessions carry the audit chain's key in `info` (core.audit)."""
    return sessionmaker(engine, expire_on_commit=False, info={"audit_key": audit_key})


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session whose work commits at the end, or rolls back on any error."""
    with factory() as session, session.begin():
        yield session


class Database:
    """The engine and session factory of one database, with the audit listener installed."""

    def __init__(self, url: str, audit_key: str | None = None, **engine_kwargs: Any) -> None:
        """Open `url`; `audit_key` (settings.audit_key) keys the audit chain: without it, writing fails."""
        from fangkong.core import audit  # audit's table needs Base from this module

        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = session_factory(self.engine, audit_key)
        audit.install(self.sessions)

    def unit_of_work(self) -> Any:
        return unit_of_work(self.sessions)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Yield a session for a long read that writes nothing (rolled back at the end); on SQLite it
        takes no write lock, so requests keep writing while it runs."""
        with self.sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


SMALL_BATCH = 50  # up to this many rows, one INSERT … RETURNING is one round trip and cheap to render


def insert_returning_ids(
    session: Session, model: type[Base], rows: list[dict[str, Any]], chunk: int = 1000
) -> list[int]:
    """Insert rows in bulk and return their new ids in the rows' order (SQLite and PostgreSQL).

    Goes through the Core table, not the ORM: the ORM's bulk insert splits rows whose None values
    differ into separate statements, which made a 10,000-row import issue thousands of INSERTs.
    A few rows (a checkpoint passage's people) go in one INSERT … RETURNING: one round trip.
    """
    from sqlalchemy import insert, text

    table = model.__table__
    if len(rows) > SMALL_BATCH and session.get_bind().dialect.name == "postgresql":
        # Take the ids from the sequence first, then insert with psycopg's pipelined executemany: rendering
        # one huge multi-row INSERT … RETURNING costs more in the driver than the database spends on it.
        # The sequence is named in the same statement: one round trip (a small request inserts a few rows).
        taken = list(session.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                                          "FROM generate_series(1, :n)"), {"t": table.name, "n": len(rows)}).scalars())
        insert_rows(session, model, [{**row, "id": new_id} for row, new_id in zip(rows, taken, strict=True)])
        return taken
    ids: list[int] = []
    conn = session.connection()  # Core: the ORM's execution layer adds nothing here
    for start in range(0, len(rows), chunk):
        result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                              rows[start:start + chunk])
        ids.extend(result.scalars().all())
    return ids


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]], chunk: int = 5000) -> None:
    """Insert rows in bulk through the Core table (one executemany per chunk)."""
    from sqlalchemy import insert

    table = model.__table__
    for start in range(0, len(rows), chunk):
        session.execute(insert(table), rows[start:start + chunk])


def one_of(session: Session, column: Any, values: list[Any]) -> Any:
    """Return `column IN values`; on PostgreSQL as `= ANY(array)`, one parameter however many values."""
    import sqlalchemy as sa

    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=sa.ARRAY(column.type)))
    return column.in_(values)


def in_chunks(session: Session, values: list[Any]) -> list[list[Any]]:
    """Split values for IN lists: SQLite caps bound parameters; PostgreSQL takes them as one array."""
    size = (len(values) or 1) if session.get_bind().dialect.name == "postgresql" else 900
    return [values[start:start + size] for start in range(0, len(values), size)]


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """Return the number of rows an UPDATE or DELETE (without RETURNING) matched.

    Session.execute types every result as a Result; for these statements it is a CursorResult, which the
    SQLAlchemy 2.0.44 changelog says to cast to (https://github.com/sqlalchemy/sqlalchemy/issues/12913).
    """
    return cast(CursorResult[*tuple[Any, ...]], result).rowcount
