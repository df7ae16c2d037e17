"""The scheduler: the rules that must act without anyone opening a page (overdue leads escalate, the
daily report's deadline reminds, follow-up lists are made, roll-ups are rebuilt).

Each capability declares `Job`s; one leader runs them. On PostgreSQL the leader holds a session-level
advisory lock, so with several workers (or machines) exactly one evaluates the rules; a worker that
loses its connection loses the lock and another takes over. On SQLite (one process) the lock is a
no-op. `fangkong tick` runs every due job once, for cron. Jobs run as the `system` actor, so what they
do is attributed to the system in the audit log, never to whoever happened to be looking.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from fangkong.core.context import SYSTEM, acting_as
from fangkong.core.db import Database, utcnow
from fangkong.core.metrics import SCHEDULER_FAILURES, SCHEDULER_LAG
from fangkong.core.shared import BUS

log = logging.getLogger("fangkong.scheduler")
# The leader's advisory lock, in the two-key form with a class of its own: the single-key space belongs to
# the audit chain (core.audit), whose writers would otherwise wait for the leader forever.
LEADER_LOCK_CLASS, LEADER_LOCK_KEY = 0x73636864, 1  # "schd"


@dataclass(frozen=True)
class JobContext:
    settings: Any
    now: datetime
    platform: Any  # core.capability.Platform: the figures and hooks of every capability


@dataclass(frozen=True)
class Job:
    """A rule evaluated every `every_seconds`: `run(session, context)` returns what it did (a count)."""

    name: str
    every_seconds: int
    run: Callable[[Any, JobContext], int]


@dataclass
class JobRun:
    name: str
    at: datetime
    result: int | None = None
    error: str | None = None


def run_jobs(db: Database, settings: Any, jobs: Sequence[Job], platform: Any,
             now: datetime | None = None) -> list[JobRun]:
    """Run each job once in its own transaction; one failing job does not stop the others."""
    runs: list[JobRun] = []
    for job in jobs:
        at = now or utcnow()
        run = JobRun(job.name, at)
        try:
            with acting_as(SYSTEM), db.unit_of_work() as session:
                run.result = job.run(session, JobContext(settings, at, platform))
        except Exception as exc:  # a rule's bug must not stop the other rules; it is logged with its name
            log.exception("scheduler job %s failed", job.name, extra={"job": job.name})
            SCHEDULER_FAILURES.labels(job.name).inc()
            run.error = type(exc).__name__
        runs.append(run)
    return runs


class Scheduler:
    """A background thread that runs the jobs when due, while this process is the leader."""

    def __init__(self, db: Database, settings: Any, platform: Any, tick_seconds: float = 5.0) -> None:
        self.db, self.settings, self.platform, self.tick = db, settings, platform, tick_seconds
        self.jobs: tuple[Job, ...] = tuple(platform.jobs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dict[str, float] = {}
        self._lock_conn: Any = None
        self.runs = 0

    def start(self) -> None:
        if self.jobs and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            BUS.resign("scheduler")
        self._release()

    def _is_leader(self) -> bool:
        shared = BUS.lead("scheduler", max(15.0, self.tick * 3))  # Redis: one leader across machines
        if shared is not None:
            return shared
        if self.db.engine.dialect.name != "postgresql":
            return True
        try:
            if self._lock_conn is not None:  # leading: the lock lives as long as this connection
                self._lock_conn.execute(text("SELECT 1"))
                self._lock_conn.commit()
                return True
            self._lock_conn = self.db.engine.connect()
            held = self._lock_conn.execute(text("SELECT pg_try_advisory_lock(:c, :k)"),
                                           {"c": LEADER_LOCK_CLASS, "k": LEADER_LOCK_KEY}).scalar()
            self._lock_conn.commit()
            if not held:
                self._release()
            return bool(held)
        except Exception:  # the connection died: whoever holds the lock now leads
            self._release()
            return False

    def _release(self) -> None:
        if self._lock_conn is not None:
            try:
                self._lock_conn.close()  # closing the session releases its advisory locks
            except Exception:
                log.warning("scheduler: closing the leader connection failed")
            self._lock_conn = None

    def due(self, monotonic: float) -> list[Job]:
        return [j for j in self.jobs if monotonic - self._last.get(j.name, -1e18) >= j.every_seconds]

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._is_leader():
                now = time.monotonic()
                due = self.due(now)
                for job in due:  # how late each runs against its period (0 the first time)
                    last = self._last.get(job.name)
                    SCHEDULER_LAG.labels(job.name).set(max(0.0, now - last - job.every_seconds) if last else 0.0)
                if due:
                    run_jobs(self.db, self.settings, due, self.platform)
                    self.runs += 1
                    for job in due:
                        self._last[job.name] = now
            self._stop.wait(self.tick)
