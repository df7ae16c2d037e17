"""Background work a user asked for (list exports, sheet imports): one mechanism for both.

Not the scheduler's `Job`s (core.scheduler), which are rules the leader evaluates by itself. Here a
job is a row that a request creates (so its status, progress and outcome survive a restart and any
worker can show them) and a task in one of this worker's lanes: a thread per lane, so a long export
never waits behind an import, and two imports never queue for SQLite's write lock inside one process.

Every job table shares `JobColumns`. A job is claimed with a compare-and-swap (queued → running), so
it runs once; it names the worker (host and process id) that will run it, so a worker that starts
again marks the jobs of a dead worker on its host failed instead of leaving them "running" forever
(`JobRunner.recover`); the purges fail what is open longer than `STALE_AFTER` on any host. A user has
at most `MAX_OPEN_PER_USER` jobs queued or running at once, exports and imports together.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from fangkong.core.db import Database, UTCDateTime, utcnow
from fangkong.core.errors import TooManyAttempts
from fangkong.core.i18n import N_

log = logging.getLogger("fangkong.jobs")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
OPEN = (QUEUED, RUNNING)
MAX_OPEN_PER_USER = 3  # jobs of one user queued or running at once (an export may read a million rows)
STALE_AFTER = timedelta(hours=2)  # a job still open then has lost its worker (on any host)
BUSY = N_("You have {n} exports or imports under way. Wait until one is finished, then try again.")


def worker_id() -> str:
    """Return this process's name as jobs record it: host, process id and a nonce of this incarnation (a
    restarted container often gets the same process id again)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{_incarnation()}"


@functools.cache
def _incarnation() -> str:
    return secrets.token_hex(4)


class JobColumns:
    """The columns every background job keeps (a mixin for its table)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # names its file on disk
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))  # what it does: "<capability>.<name>"
    params: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255))  # msgid, shown translated
    ip: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    worker: Mapped[str | None] = mapped_column(String(64))  # host:pid of the worker that runs it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its table, the lane it runs in, the error a lost job gets, and what to remove from
    disk when a job is failed for its lost worker (a half-written export, an uploaded sheet)."""

    model: type[Any]  # a mapped class with JobColumns
    lane: str
    lost: str  # msgid
    cleanup: Callable[[Sequence[Any]], None] = field(default=lambda _jobs: None)


class JobRunner:
    """This worker's lanes (one thread each) and the rules every kind of job shares."""

    def __init__(self, db: Database, kinds: Sequence[JobKind] = ()) -> None:
        self.db = db
        self.kinds: list[JobKind] = list(kinds)
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def add(self, kind: JobKind) -> None:
        if all(k.model is not kind.model for k in self.kinds):
            self.kinds.append(kind)

    def submit(self, lane: str, task: Callable[..., Any], *args: Any) -> None:
        """Run `task(*args)` in the lane's thread (call after the job's row is committed)."""
        with self._lock:
            pool = self._pools.get(lane)
            if pool is None:
                pool = self._pools[lane] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=lane)
        pool.submit(task, *args)

    def shutdown(self) -> None:
        """Wait for the jobs under way (a job cut short would be failed at the next start)."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=False)

    # --- rules -----------------------------------------------------------------------------------------

    def open_jobs(self, session: Session, user_id: int, now: datetime | None = None) -> int:
        """Return how many jobs of the user are queued or running (not counting lost ones)."""
        since = (now or utcnow()) - STALE_AFTER
        return sum(session.execute(select(func.count(kind.model.id)).where(
            kind.model.user_id == user_id, kind.model.status.in_(OPEN),
            kind.model.created_at >= since)).scalar_one() for kind in self.kinds)

    def check_open(self, session: Session, user_id: int) -> None:
        """Raise TooManyAttempts (429) when the user already has the most jobs under way."""
        if self.open_jobs(session, user_id) >= MAX_OPEN_PER_USER:
            raise TooManyAttempts(BUSY, retry_after=30, n=MAX_OPEN_PER_USER)

    def recover(self, now: datetime | None = None) -> int:
        """Fail the open jobs of workers of this host that are gone (called when a worker starts: a kill -9,
        a crash or a restart left them "running"); return how many were failed."""
        now = now or utcnow()
        failed = 0
        for kind in self.kinds:
            with self.db.unit_of_work() as session:
                rows = session.execute(select(kind.model).where(kind.model.status.in_(OPEN))).scalars().all()
                lost = [job for job in rows if job.worker and is_gone(job.worker)]
                for job in lost:
                    job.status, job.error, job.finished_at = FAILED, kind.lost, now
                failed += len(lost)
            if lost:
                log.warning("failed %d %s job(s) of a worker that is gone", len(lost), kind.lane)
                kind.cleanup(lost)
        return failed


def is_gone(worker: str) -> bool:
    """True for a worker of this host whose process is no longer alive, or is an earlier incarnation of
    this process's id. Workers of other hosts are judged by `STALE_AFTER` instead."""
    host, pid_text, nonce = [*worker.split(":"), "", ""][:3]
    if host != socket.gethostname()[:40] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return nonce != _incarnation()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def claim(session: Session, model: type[Any], job_id: int, **values: Any) -> bool:
    """Move a queued job to running for this worker; False if it was not queued (another took it, or it
    was cancelled or failed meanwhile)."""
    result = session.execute(update(model).where(model.id == job_id, model.status == QUEUED)
                             .values(status=RUNNING, worker=worker_id(), **values))
    return result.rowcount == 1  # type: ignore[attr-defined]


def fail_stale(session: Session, model: type[Any], now: datetime, error: str,
               since: Any = None) -> list[Any]:
    """Fail the jobs of `model` open since before now - STALE_AFTER (by `since`, a column: created_at unless
    given); return them."""
    column = since if since is not None else model.created_at
    stale = session.execute(select(model).where(model.status.in_(OPEN), column < now - STALE_AFTER)).scalars().all()
    for job in stale:
        job.status, job.error, job.finished_at = FAILED, error, now
    return list(stale)
