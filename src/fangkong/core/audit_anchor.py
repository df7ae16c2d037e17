"""Anchors of the audit chain: signed checkpoints of its head, kept in a file outside the database.

The keyed chain shows a row was changed, removed in the middle or inserted; it cannot show that the
newest rows were deleted or the table emptied, since what remains is a valid shorter chain (issue 17).
An anchor records the head (id and hash) at a moment, signed with the audit key; `verify_chain`
checks the head is still there with that hash. Keep `var/` (or a copy of the file) on another machine:
someone who can rewrite both the database and this file, and holds the key, is beyond its reach.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.audit import Anchor, AuditEntry, ChainReport, verify_chain
from fangkong.core.db import utcnow
from fangkong.core.scheduler import Job, JobContext


class AnchorForged(ValueError):
    """An anchor line's signature does not match: the file was edited."""


def _signature(key: str, body: dict[str, Any]) -> str:
    payload = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hmac.new(key.encode(), b"fangkong-audit-anchor\n" + payload.encode(), hashlib.sha256).hexdigest()


def write_anchor(session: Session, key: str, path: Path) -> Anchor | None:
    """Append a signed checkpoint of the chain's head to `path` and return it (None: the log is empty)."""
    head = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    if head is None:
        return None
    rows = session.execute(select(func.count(AuditEntry.id))).scalar_one()
    body = {"at": utcnow().isoformat(timespec="seconds"), "head_id": head.id, "head_hash": head.hash, "rows": rows}
    line = json.dumps({**body, "sig": _signature(key, body)}, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())  # an anchor lost in a crash would leave the newest rows unguarded
    return Anchor(head.id, head.hash, body["at"])


def latest_anchor(key: str, path: Path) -> Anchor | None:
    """Return the newest anchor in `path`, or None if there is none; raise AnchorForged on a bad signature."""
    if not path.exists():
        return None
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        return None
    data = json.loads(lines[-1])
    sig = data.pop("sig", "")
    if not hmac.compare_digest(sig, _signature(key, data)):
        raise AnchorForged(f"the newest anchor in {path} is not signed with the audit key")
    return Anchor(int(data["head_id"]), str(data["head_hash"]), str(data["at"]))


def anchor_due(settings: Any, now: float) -> bool:
    """Return whether the newest anchor is older than `audit_anchor_minutes` (or there is none)."""
    path: Path = settings.audit_anchor_file
    return not path.exists() or now - path.stat().st_mtime >= settings.audit_anchor_minutes * 60


def anchor_job(session: Session, ctx: JobContext) -> int:
    """Scheduler job: anchor the chain's head when the last anchor is old enough; return the head id."""
    if not anchor_due(ctx.settings, ctx.now.timestamp()):
        return 0
    anchor = write_anchor(session, ctx.settings.audit_key, ctx.settings.audit_anchor_file)
    return 0 if anchor is None else anchor.head_id


# Checked every minute; how often it writes is the setting (the job table's periods are fixed).
ANCHOR_JOB = Job("audit.anchor", 60, anchor_job)


def verify_anchored(session: Session, settings: Any) -> ChainReport:
    """Verify the chain against the newest anchor of `settings` (a forged anchor file is a broken chain)."""
    try:
        anchor = latest_anchor(settings.audit_key, settings.audit_anchor_file)
    except AnchorForged as exc:
        return ChainReport(False, 0, None, str(exc))
    return verify_chain(session, anchor=anchor)
