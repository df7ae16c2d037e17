"""Audit log: append-only, hash-chained rows written from session events and explicit reads.

Each row's hash is an HMAC (key from settings, kept outside the database) over its content and the
previous row's hash, so a changed, removed or inserted row breaks the chain from that point
(`verify_chain`), and someone with only database access cannot recompute a rewritten chain. The head is
anchored in signed files outside the database (`core.audit_anchor`), which catch a deleted tail or a
truncation the chain alone cannot see (issue 17). Appends are serialised (PostgreSQL advisory
lock; SQLite's BEGIN IMMEDIATE) so the chain stays linear under concurrent requests. Database
triggers (see the first migration) refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Integer, String, Text, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from fangkong.core.context import current_actor
from fangkong.core.db import Base, UTCDateTime, utcnow
from fangkong.core.errors import ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.paging import Page, paginate

GENESIS = "0" * 64
_PG_CHAIN_LOCK = 0x66616E67  # "fang": one advisory lock key for the chain
MASK = "***"


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32), index=True)
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(255))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def record(session: Session, action: str, object_type: str | None = None, object_id: object = None,
           **detail: Any) -> None:
    """Add one audit row to the session's transaction (reads, reveals, logins, exports); written at commit."""
    _pending(session).append(_entry(action, object_type, object_id, detail))


PURPOSE_REQUIRED = N_("Say why you need the full number (at least {n} characters).")
MIN_PURPOSE = 4


def record_reveal(session: Session, object_type: str, object_id: object, purpose: str, **detail: Any) -> None:
    """Audit a reveal of full numbers (a person file shown unmasked, an export with full ID numbers) with
    its stated purpose; raise ValidationFailed on the `purpose` field when none is given."""
    purpose = " ".join((purpose or "").split())
    if len(purpose) < MIN_PURPOSE:
        raise ValidationFailed.one("purpose", PURPOSE_REQUIRED, n=MIN_PURPOSE)
    entry = _entry("reveal", object_type, object_id, {"purpose": purpose[:255], **detail})
    entry["purpose"] = purpose[:255]  # in its column too: the auditor filters and reads it there
    _pending(session).append(entry)


def _pending(session: Session) -> list[dict[str, Any]]:
    return session.info.setdefault("audit_pending", [])


def _entry(action: str, object_type: str | None, object_id: object, detail: dict[str, Any]) -> dict[str, Any]:
    actor = current_actor.get()
    return {
        "at": utcnow(),
        "user_id": actor.user_id,
        "username": actor.username,
        "role": actor.role,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=_jsonable),
        "ip": actor.ip,
        "request_id": actor.request_id,
        "purpose": actor.purpose,
    }


def _jsonable(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class AuditKeyMissing(RuntimeError):
    """The session factory was made without the audit key: nothing can be chained (fail loudly)."""


def session_key(session: Session) -> bytes:
    """Return the chain's HMAC key given to the session's factory (`Database(url, audit_key=...)`)."""
    key = session.info.get("audit_key")
    if not key:
        raise AuditKeyMissing("Database(...) was opened without audit_key")
    return key.encode() if isinstance(key, str) else bytes(key)


def row_hash(key: bytes, prev_hash: str, row: dict[str, Any]) -> str:
    """Return the keyed chain hash of a row given the previous row's hash."""
    at = row["at"].astimezone(UTC).isoformat(timespec="microseconds")
    fields = [at, row["user_id"], row["username"], row["role"], row["action"], row["object_type"],
              row["object_id"], row["detail"], row["ip"], row["request_id"], row["purpose"]]
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, f"{prev_hash}\n{payload}".encode(), hashlib.sha256).hexdigest()


def _append(conn: Connection, entries: list[dict[str, Any]], key: bytes) -> None:
    if not entries:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")
    prev = conn.execute(_last_hash()).scalar()
    prev = prev or GENESIS
    for entry in entries:
        entry["prev_hash"] = prev
        entry["hash"] = prev = row_hash(key, prev, entry)
    conn.execute(_insert_entries(), entries)  # executemany: .values([...]) would be compiled anew every time


@functools.cache
def _insert_entries() -> Any:
    return insert(AuditEntry.__table__)


@functools.cache
def _last_hash() -> Any:
    return select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)


# --- change capture from session events -------------------------------------------------------

def _snapshot(obj: Any, changed_only: bool) -> dict[str, Any]:
    cls = type(obj)
    masked = set(getattr(cls, "__audit_masked__", ()))
    hidden = set(getattr(cls, "__audit_hidden__", ()))
    state = inspect(obj)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in hidden:
            continue
        hist = state.attrs[key].history
        if changed_only:
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            out[key] = [MASK, MASK] if key in masked else [old, new]
        else:
            value = state.attrs[key].value
            out[key] = MASK if key in masked and value is not None else value
    return out


def record_created(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Audit rows inserted through the Core table (fast paths the flush events do not see), writing the same
    "create" entry a flush of the ORM object would: the columns given, personal fields masked."""
    masked = set(getattr(model, "__audit_masked__", ()))
    keys = [a.key for a in inspect(model).column_attrs if a.key not in getattr(model, "__audit_hidden__", ())]
    table = model.__tablename__
    pending = _pending(session)
    for row in rows:
        snap = {k: MASK if k in masked and row[k] is not None else row[k] for k in keys if k in row}
        pending.append(_entry("create", table, row["id"], {"fields": snap}))


def _changes(session: Session) -> list[dict[str, Any]]:
    entries = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not getattr(type(obj), "__audited__", False):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            snap = _snapshot(obj, changed_only=action == "update")
            if action == "update" and not snap:
                continue
            ident = inspect(obj).identity
            object_id = ident[0] if ident else getattr(obj, "id", None)
            entries.append(_entry(action, type(obj).__tablename__, object_id, {"fields": snap}))
    return entries


def _after_flush(session: Session, _flush_context: object) -> None:
    _pending(session).extend(_changes(session))


def _before_commit(session: Session) -> None:
    """Chain and write the transaction's audit rows in one statement, as late as possible: the chain's
    lock is then held only for the commit itself, not for the whole request."""
    session.flush()
    entries = session.info.pop("audit_pending", [])
    if entries:
        _append(session.connection(), entries, session_key(session))


def _mark(session: Session, transaction: SessionTransaction) -> None:
    """Remember where a savepoint began in the pending entries, so its rollback drops only its own."""
    if transaction.nested:
        session.info.setdefault("audit_marks", {})[id(transaction)] = len(_pending(session))


def _discard(session: Session, transaction: SessionTransaction) -> None:
    """Drop the entries of what was rolled back: a savepoint's since it began, a transaction's all.

    A savepoint's rollback must not drop the entries of the enclosing transaction, which goes on and
    commits (SQLAlchemy fires after_rollback for savepoints too, hence this event and the marks).
    """
    marks = session.info.get("audit_marks", {})
    if transaction.nested:
        mark = marks.pop(id(transaction), None)
        if mark is not None:
            del _pending(session)[mark:]
    elif transaction.parent is None:
        session.info.pop("audit_pending", None)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the marks of a finished transaction's savepoints are of no more use
        session.info.pop("audit_marks", None)


def install(factory: Any) -> None:
    """Write audit rows for every change and recorded read of sessions made by `factory` (a sessionmaker)."""
    from sqlalchemy import event

    for name, listener in (("after_flush", _after_flush), ("before_commit", _before_commit),
                           ("after_transaction_create", _mark), ("after_soft_rollback", _discard),
                           ("after_transaction_end", _forget)):
        if not event.contains(factory, name, listener):
            event.listen(factory, name, listener)


# --- verification ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str | None = None
    anchored_id: int | None = None  # the head of the anchor checked against, if any


@dataclass(frozen=True)
class Anchor:
    """A checkpoint of the chain's head, kept outside the database (see core.audit_anchor)."""

    head_id: int
    head_hash: str
    at: str = ""


_HASHED = ("at", "user_id", "username", "role", "action", "object_type", "object_id", "detail", "ip",
           "request_id", "purpose")


def verify_chain(session: Session, batch: int = 5000, anchor: Anchor | None = None) -> ChainReport:
    """Recompute every row's keyed hash in id order and report the first row where the chain breaks.

    With an anchor, the anchored head must still be there with the anchored hash: a truncated table or
    a deleted tail recomputes as a valid (shorter) chain, and only the anchor shows it is not whole.
    """
    key = session_key(session)
    prev, count, last_id = GENESIS, 0, 0
    anchored = None if anchor is None else anchor.head_id
    while True:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for row in rows:
            bad = _check_row(key, prev, row, anchor)
            if bad:
                return ChainReport(False, count, row.id, bad, anchored)
            prev, last_id, count = row.hash, row.id, count + 1
        session.expunge_all()
    if anchor is not None and last_id < anchor.head_id:
        return ChainReport(False, count, last_id + 1, "entries up to the anchored head are missing "
                           "(the log was truncated or its newest entries deleted)", anchored)
    return ChainReport(ok=True, rows=count, anchored_id=anchored)


def _check_row(key: bytes, prev: str, row: AuditEntry, anchor: Anchor | None) -> str | None:
    if row.prev_hash != prev:
        return "prev_hash does not match the previous row"
    if row_hash(key, prev, {c: getattr(row, c) for c in _HASHED}) != row.hash:
        return "row content does not match its hash"
    if anchor is not None and row.id == anchor.head_id and row.hash != anchor.head_hash:
        return "the anchored head's hash differs (the chain was rewritten)"
    return None


# --- reading (auditor) -------------------------------------------------------------------------

@dataclass
class AuditFilter:
    username: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_query(flt: AuditFilter) -> Any:
    """Return the audit rows a filter selects, newest first (the auditor's page and its export)."""
    stmt = select(AuditEntry)
    if flt.username:
        stmt = stmt.where(AuditEntry.username == flt.username.strip())
    if flt.action:
        stmt = stmt.where(AuditEntry.action == flt.action.strip())
    if flt.object_type:
        stmt = stmt.where(AuditEntry.object_type == flt.object_type.strip())
    if flt.object_id:
        stmt = stmt.where(AuditEntry.object_id == flt.object_id.strip())
    if flt.since:
        stmt = stmt.where(AuditEntry.at >= flt.since)
    if flt.until:
        stmt = stmt.where(AuditEntry.at < flt.until)
    return stmt.order_by(AuditEntry.id.desc())


def search_entries(session: Session, user: Any, flt: AuditFilter, page: int = 1, page_size: int = 50) -> Page[Any]:
    """Return audit rows matching the filter, newest first (auditors only; the search is itself recorded)."""
    from fangkong.core.access import AUDIT_READ, require  # access imports models, which import this module

    require(user, AUDIT_READ)
    result = paginate(session, audit_query(flt), page, page_size)
    record(session, "audit_search", "audit_log", None, filter={k: v for k, v in flt.__dict__.items() if v})
    return result
