"""Retention (PIPL: the shortest period the purpose needs), in one place for the whole platform.

Each capability declares what it purges (`Capability.retention`: a function of the session, the settings
and now that deletes what is past its period and returns counts by kind); core adds the uploaded sheets
kept in var/uploads (they hold full ID numbers). `purge` runs them all in one transaction and writes one
audit row with the counts; `fangkong purge` prints them and the scheduler runs it hourly (PURGE_JOB).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.db import utcnow
from fangkong.core.scheduler import Job, JobContext

Purger = Callable[[Session, Any, datetime], dict[str, int]]


def purge_uploads(var_dir: Path, days: int, now: datetime) -> int:
    """Delete uploaded sheets older than `days` (by the time they were written); return how many."""
    folder = var_dir / "uploads"
    if not folder.is_dir():
        return 0
    cutoff = now.timestamp() - days * 86400
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def purge(session: Session, settings: Any, purgers: Sequence[Purger], now: datetime | None = None) -> dict[str, int]:
    """Delete everything past its retention period; return the counts by kind (audited as one entry)."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    for purger in purgers:
        for kind, n in purger(session, settings, now).items():
            counts[kind] = counts.get(kind, 0) + n
    counts["uploads"] = purge_uploads(settings.var_dir, settings.upload_retention_days, now)
    audit.record(session, "purge", "retention", None, **counts)
    return counts


def _purge_job(session: Session, context: JobContext) -> int:
    return sum(purge(session, context.settings, context.platform.purgers, context.now).values())


PURGE_JOB = Job("core.purge", 3600, _purge_job)
