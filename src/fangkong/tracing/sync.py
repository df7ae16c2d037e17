"""The platform's own presence records into the store: one replaceable part per local calendar day.

Every source capability keeps its stays in its own tables, committed with the request that made them;
a sync asks each source for a day's stays and rewrites that day's part. Today and yesterday are always
rewritten (a late commit, a check-out, a correction); older days once, then they are final. Days before
the horizon are never fetched: tracing looks back days, not months. Platform persons are keyed
"p:<person file id>" so that they never collide with the keys of imported files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.presence import PresenceRecord
from fangkong.core.scheduler import Job, JobContext
from fangkong.tracing.store import PresenceStore

Source = Callable[[Session, datetime, datetime], Sequence[PresenceRecord]]
PERSON_PREFIX = "p:"
LABEL_PREFIX = "platform:"
OPEN_DAYS = 2  # today and yesterday are rewritten on every sync


def platform_key(person_id: int) -> str:
    """Return the store key of a person file."""
    return f"{PERSON_PREFIX}{person_id}"


def person_file_id(key: object) -> int | None:
    """Return the person file id behind a store key, or None for a key from an imported file."""
    if isinstance(key, str) and key.startswith(PERSON_PREFIX) and key[len(PERSON_PREFIX):].isdigit():
        return int(key[len(PERSON_PREFIX):])
    return None


@dataclass(frozen=True)
class SyncResult:
    days: tuple[date, ...]
    records: int


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, LOCAL_TZ)
    return start, start + timedelta(days=1)


def _keyed(record: PresenceRecord) -> PresenceRecord:
    person = platform_key(record.person) if isinstance(record.person, int) else record.person
    return PresenceRecord(person, record.place, record.place_kind, record.t_in, record.t_out, record.source)


def days_to_sync(store: PresenceStore, today: date, horizon_days: int) -> list[date]:
    """Return the days a sync rewrites: the open days, and every day of the horizon not yet written."""
    done = store.labels()
    days = [today - timedelta(days=n) for n in range(horizon_days, -1, -1)]
    return [d for d in days if (today - d).days < OPEN_DAYS or LABEL_PREFIX + d.isoformat() not in done]


def sync_platform(session: Session, store: PresenceStore, sources: Sequence[Source], today: date | None = None,
                  horizon_days: int = 31) -> SyncResult:
    """Rewrite the store's platform parts from every source, day by day; return what was written."""
    today = today or datetime.now(LOCAL_TZ).date()
    days, total = days_to_sync(store, today, horizon_days), 0
    for day in days:
        start, end = _bounds(day)
        records = [_keyed(r) for source in sources for r in source(session, start, end)]
        open_until = int((start + timedelta(days=OPEN_DAYS)).timestamp())  # rewritten until then: stays in the delta
        total += store.append(records, label=LABEL_PREFIX + day.isoformat(), open_until=open_until)  # 0 if unchanged
    return SyncResult(tuple(days), total)


COMPACT_HOURS = range(1, 5)  # local hours when the scheduler folds the day's parts into the main layer


def compact_job(session: Session, context: JobContext) -> int:
    """Scheduler job: at night, fold the parts that can no longer change into the main layer."""
    if context.now.astimezone(LOCAL_TZ).hour not in COMPACT_HOURS:
        return 0
    store = PresenceStore(context.settings.presence_dir)
    now = int(context.now.timestamp())
    return store.compact(now) if store.needs_compaction(now) else 0


def purge_presence(session: Session, settings: Any, now: datetime) -> dict[str, int]:
    """Drop store parts whose records all ended FANGKONG_PRESENCE_RETENTION_DAYS ago (core.retention)."""
    cutoff = now - timedelta(days=settings.presence_retention_days)
    store = PresenceStore(settings.presence_dir)
    removed = store.purge_before(int(cutoff.timestamp()))
    if removed:  # rebuild the main layer here, not in the next trace request (other workers load it from disk)
        store.compact(int(now.timestamp()))
    return {"presence_records": removed}


COMPACT_JOB = Job("presence.compact", 3600, compact_job)
