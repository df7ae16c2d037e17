"""Group commit: requests enqueue their rows, one writer thread writes each batch in one transaction and
answers every request only after the commit. The public check-ins and the checkpoints' passages use it.

Why a thread, not a task: the writing is blocking database work, and a thread outlives any one event
loop (the test client starts one per request). The request side awaits an asyncio future that the
writer resolves with `call_soon_threadsafe`. No artificial wait beyond a 2 ms gather when the queue is
short: while one batch commits, the next one gathers, so a batch is one row at low load and hundreds at
peak. A transaction costs about the same for one row as for twenty (statements, round trips, the audit
chain's lock and insert), so the cost per row falls as the load rises.

Nothing acknowledged is lost: a request gets its answer only from a committed transaction. A failed
batch is retried row by row, so one bad row fails alone; a request whose writer does not answer in time
is told to try again, and its retry (same client id) is idempotent. A batch function may also answer a
row with an exception (a validation error, say) without failing the others: that row wrote nothing.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from fangkong.core.db import Database
from fangkong.core.metrics import WRITER_BATCH, watch_queue

log = logging.getLogger("fangkong.group_commit")
Row = TypeVar("Row")
Result = TypeVar("Result")

IDLE_EXIT_SECONDS = 30.0  # an idle writer thread ends; the next submit starts another
# Gather window (like PostgreSQL's commit_delay): when a batch would be tiny, wait this long for company.
# At moderate load this halves the CPU per row for at most 2 ms more latency.
GATHER_SECONDS = 0.002
SMALL_BATCH = 8


class NotSaved(RuntimeError):
    """The row's transaction failed (logged); the client may retry with the same client id."""


class GroupCommit(Generic[Row, Result]):
    """One writer thread per instance; `write(session, rows)` writes a batch inside its transaction and
    returns one result (or exception) per row, in order."""

    def __init__(self, db: Database, write: Callable[[Session, list[Row]], list[Result | BaseException]],
                 name: str, batch_max: int = 500,
                 idle_work: Callable[[], None] | None = None, idle_every: float = 2.0) -> None:
        self.db, self.write, self.name, self.batch_max = db, write, name, batch_max
        self.idle_work, self.idle_every = idle_work, idle_every
        self._queue: queue.SimpleQueue[tuple[Row, asyncio.AbstractEventLoop, asyncio.Future[Result]] | None] = \
            queue.SimpleQueue()  # None wakes the thread up
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_idle = 0.0
        self._dirty = False  # rows written since the idle work last ran
        self._closed = False
        self.batches = 0  # counters for the benchmarks and tests
        self.rows = 0
        watch_queue(name, self._queue.qsize)
        # The writer shares the GIL with the event loop; with the default 5 ms switch interval a request
        # waiting on it would wait up to 5 ms per hand-over, which shows in the p99.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))

    async def submit(self, row: Row, timeout: float = 10.0) -> Result:
        """Queue one row and return its result once its transaction has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.put((row, loop, future))
        self._ensure_thread()
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the thread (app shutdown); a later submit starts it again."""
        self._closed = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
        self._closed = False

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            try:
                first = self._queue.get(timeout=0.05 if self._closed else self.idle_every)
            except queue.Empty:
                first = None
            if first is None:
                if self._closed or (not self._idle() and time.monotonic() - idle_since > IDLE_EXIT_SECONDS):
                    with self._lock:
                        if self._queue.empty():
                            self._thread = None
                            return
                continue
            idle_since = time.monotonic()
            batch = [first]
            if self._queue.qsize() < SMALL_BATCH and not self._closed:
                time.sleep(GATHER_SECONDS)
            while len(batch) < self.batch_max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            self._write(batch)

    def _idle(self) -> bool:
        """Run the idle work after writes, at most every `idle_every` seconds; True if it ran."""
        if self.idle_work is None or not self._dirty or time.monotonic() - self._last_idle < self.idle_every:
            return False
        self._last_idle, self._dirty = time.monotonic(), False
        try:
            self.idle_work()
        except Exception:  # never let the idle work stop the writer
            log.exception("%s: idle work failed", self.name)
        return True

    def _write(self, batch: list[tuple[Row, asyncio.AbstractEventLoop, asyncio.Future[Result]]]) -> None:
        rows = [row for row, _, _ in batch]
        WRITER_BATCH.labels(self.name).observe(len(rows))
        try:
            results = self._commit(rows)
        except Exception:
            if len(batch) == 1:
                log.exception("%s: row not saved", self.name)
                results = [NotSaved()]
            else:  # isolate the bad row: the others must not fail with it
                log.warning("%s: batch of %d failed; retrying row by row", self.name, len(batch))
                results = []
                for row in rows:
                    try:
                        results.extend(self._commit([row]))
                    except Exception:
                        log.exception("%s: row not saved", self.name)
                        results.append(NotSaved())
        for (_, loop, future), result in zip(batch, results, strict=True):
            loop.call_soon_threadsafe(_settle, future, result)

    def _commit(self, rows: list[Row]) -> list[Result | BaseException]:
        with self.db.sessions() as session, session.begin():
            results = self.write(session, rows)
            if len(results) != len(rows):  # before the commit: a broken batch function writes nothing
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(rows)} rows")
        self.batches += 1
        self.rows += sum(1 for r in results if not isinstance(r, BaseException))
        self._dirty = True
        return results


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():  # the request gave up waiting (timeout); its retry will find the row
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
