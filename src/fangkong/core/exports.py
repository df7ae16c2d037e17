"""Exports of list pages: the same filters as the page, written in the background, masked, audited.

A capability declares an `ExportSpec` per list it lets users download (persons, observations, arrivals,
passages, on-time rates, the audit log). Asking for an export creates an `ExportRun` row and hands it
to this worker's export thread; the page shows its progress (rows written of rows counted) and then a
download link. The rows are read in one read-only transaction and written with XlsxWriter in its
constant-memory mode (whatever the size), every cell through `core.export.safe_cell`.

Personal data is masked (ID numbers, phones) unless the user may reveal it and states a purpose; such
an export is audited as a reveal with that purpose, any other as an export. The file stays on disk for
`export_keep_hours` and only its owner may download it (each download audited too).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from fangkong.core import audit
from fangkong.core.access import PERSON_REVEAL, can, require
from fangkong.core.context import Actor, acting_as, current_locale
from fangkong.core.db import Base, Database, utcnow
from fangkong.core.errors import Forbidden, NotFound, ValidationFailed
from fangkong.core.export import SheetWriter
from fangkong.core.i18n import N_, gettext
from fangkong.core.jobs import (
    DONE,
    FAILED,
    MAX_OPEN_PER_USER,
    QUEUED,
    RUNNING,
    STALE_AFTER,
    JobColumns,
    JobKind,
    JobRunner,
    claim,
    fail_stale,
    worker_id,
)
from fangkong.core.models import User
from fangkong.core.scheduler import Job, JobContext

__all__ = ["DONE", "FAILED", "MAX_OPEN_PER_USER", "QUEUED", "RUNNING", "STALE_AFTER", "ExportRun", "ExportSpec",
           "Exports", "RunView", "purge"]

log = logging.getLogger("fangkong.exports")

PROGRESS_EVERY = 2000  # rows between progress writes
MAX_ROWS = 1_048_000  # one sheet's limit (1,048,576) less the header
INTERRUPTED = N_("The export was interrupted. Ask for it again.")
STATUS_LABELS = {QUEUED: N_("Queued"), RUNNING: N_("Writing"), DONE: N_("Ready to download"), FAILED: N_("Failed")}


@dataclass(frozen=True)
class ExportSpec:
    """One downloadable list.

    `count(session, user, params)` validates the filters (raises ValidationFailed in the user's
    language) and returns how many rows the export will hold; `rows(session, user, params, reveal)`
    yields them in the page's order, with identifiers masked unless `reveal`.
    """

    key: str  # "<capability>.<list>"
    title: str  # msgid: the sheet's title and the file's name
    permission: str  # the action a user needs to read the list
    columns: Sequence[str]  # msgids of the header
    params: Sequence[str]  # the filter names the list page passes (others are ignored)
    count: Callable[[Session, User, Mapping[str, str]], int]
    rows: Callable[[Session, User, Mapping[str, str], bool], Iterable[Sequence[Any]]]
    personal: bool = True  # holds personal data (masked unless revealed with a purpose)
    revealable: bool = False  # full identifiers may be exported by a role that may reveal them


class ExportRun(JobColumns, Base):
    __tablename__ = "export_runs"

    purpose: Mapped[str | None] = mapped_column(String(255))  # set: identifiers in full (a reveal)
    done: Mapped[int] = mapped_column(Integer, default=0)  # rows written


@dataclass(frozen=True)
class RunView:
    id: int
    key: str
    title: str
    status: str
    total: int
    done: int
    error: str | None
    revealed: bool
    created_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


class Exports:
    """The registry of declared exports; they are written in the "export" lane of the worker's job runner."""

    def __init__(self, specs: Sequence[ExportSpec], db: Database, directory: Path,
                 runner: JobRunner | None = None) -> None:
        self.specs = {spec.key: spec for spec in specs}
        if len(self.specs) != len(specs):
            raise ValueError("export keys must be unique")
        self.db, self.directory = db, directory
        self.runner = runner or JobRunner(db)
        self.runner.add(JobKind(ExportRun, "export", INTERRUPTED, self._remove_partial))

    def spec(self, key: str) -> ExportSpec:
        try:
            return self.specs[key]
        except KeyError:
            raise ValidationFailed.one("key", N_("Choose one of the options.")) from None

    def path(self, run: ExportRun) -> Path:
        return self.directory / f"{run.token}.xlsx"

    # --- asking --------------------------------------------------------------------------------------

    def request(self, session: Session, user: User, key: str, raw: Mapping[str, str], purpose: str = "",
                ip: str | None = None, locale: str = "zh_CN") -> ExportRun:
        """Check the user and the filters, count the rows and queue the run (started after commit)."""
        spec = self.spec(key)
        require(user, spec.permission)
        params = {name: str(raw.get(name, ""))[:64] for name in spec.params if raw.get(name)}
        purpose = " ".join(purpose.split())[:255]
        if purpose:
            if not (spec.personal and spec.revealable):
                raise ValidationFailed.one("purpose", N_("This list has no identifiers to reveal."))
            if not can(user, PERSON_REVEAL):
                raise Forbidden()
            if len(purpose) < audit.MIN_PURPOSE:
                raise ValidationFailed.one("purpose", audit.PURPOSE_REQUIRED, n=audit.MIN_PURPOSE)
        self.runner.check_open(session, user.id)  # exports and imports together
        total = spec.count(session, user, params)
        if total > MAX_ROWS:
            raise ValidationFailed.one("export", N_("Too many rows for one sheet: narrow the filters."))
        run = ExportRun(token=secrets.token_hex(16), user_id=user.id, key=key, ip=ip,
                        params=json.dumps(params, ensure_ascii=False, sort_keys=True), purpose=purpose or None,
                        total=total, locale=locale, worker=worker_id())
        session.add(run)
        session.flush()
        return run

    def start(self, run_id: int) -> None:
        """Write the run in this worker's export lane (call after the run's row is committed)."""
        self.runner.submit("export", self.write, run_id)

    def shutdown(self) -> None:
        self.runner.shutdown()

    def _remove_partial(self, runs: Sequence[ExportRun]) -> None:
        for run in runs:
            self.path(run).with_suffix(".part").unlink(missing_ok=True)

    # --- writing -------------------------------------------------------------------------------------

    def write(self, run_id: int) -> None:
        """Write one run's file; any failure marks the run failed (the reason in the log, not the data)."""
        try:
            self._write(run_id)
        except Exception as exc:  # the thread must survive a bad run, and the user must learn of it
            log.exception("export %s failed", run_id)
            self._finish(run_id, FAILED, error=N_("The export failed. Try again, or narrow the filters."),
                         detail=type(exc).__name__)

    def _write(self, run_id: int) -> None:
        with self.db.unit_of_work() as session:
            if not claim(session, ExportRun, run_id):
                return
            run = session.get(ExportRun, run_id)
            if run is None:
                return
            spec, params, reveal = self.spec(run.key), json.loads(run.params), bool(run.purpose)
            path, user_id = self.path(run), run.user_id
            current_locale.set(run.locale)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        try:
            written = self._rows_to(partial, spec, params, reveal, run_id, user_id)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, path)
        self._finish(run_id, DONE, done=written)

    def _rows_to(self, partial: Path, spec: ExportSpec, params: dict[str, str], reveal: bool, run_id: int,
                 user_id: int) -> int:
        with self.db.reading() as session:  # nothing is written here: on SQLite writers go on meanwhile
            user = session.get(User, user_id)
            if user is None or not user.active:
                raise Forbidden()
            sheet = SheetWriter(partial, gettext(spec.title), [gettext(c) for c in spec.columns])
            try:
                with acting_as(_actor(user)):
                    for row in spec.rows(session, user, params, reveal):
                        sheet.append(row)
                        if sheet.rows % PROGRESS_EVERY == 0:
                            self._progress(run_id, sheet.rows)
            finally:
                sheet.close()
        return sheet.rows

    def _progress(self, run_id: int, done: int) -> None:
        with self.db.unit_of_work() as session:
            session.execute(update(ExportRun).where(ExportRun.id == run_id).values(done=done))

    def _finish(self, run_id: int, status: str, done: int | None = None, error: str | None = None,
                detail: str | None = None) -> None:
        with self.db.unit_of_work() as session:
            run = session.get(ExportRun, run_id)
            if run is None:
                return
            user = session.get(User, run.user_id)
            run.status, run.finished_at, run.error = status, utcnow(), error
            if done is not None:
                run.done = done
            if user is None:
                return
            with acting_as(_actor(user, run.ip)):
                if status != DONE:
                    audit.record(session, "export_failed", "exports", run.id, list=run.key, error=detail)
                elif run.purpose:
                    audit.record_reveal(session, "exports", run.id, run.purpose, list=run.key,
                                        filters=json.loads(run.params), rows=run.done)
                else:
                    audit.record(session, "export", "exports", run.id, list=run.key, filters=json.loads(run.params),
                                 rows=run.done)
                session.flush()

    # --- reading -------------------------------------------------------------------------------------

    def view(self, run: ExportRun) -> RunView:
        spec = self.specs.get(run.key)
        return RunView(run.id, run.key, spec.title if spec else run.key, run.status, run.total, run.done,
                       run.error, bool(run.purpose), run.created_at, run.finished_at)

    def own_run(self, session: Session, user: User, run_id: int) -> ExportRun:
        """Return the user's own run (anyone else's is not found)."""
        run = session.get(ExportRun, run_id)
        if run is None or run.user_id != user.id:
            raise NotFound()
        return run

    def recent(self, session: Session, user: User, limit: int = 20) -> list[RunView]:
        runs = session.execute(select(ExportRun).where(ExportRun.user_id == user.id)
                               .order_by(ExportRun.id.desc()).limit(limit)).scalars()
        return [self.view(r) for r in runs]

    def download(self, session: Session, user: User, run_id: int) -> tuple[Path, str]:
        """Return the file and its name for the owner of a finished run (audited)."""
        run = self.own_run(session, user, run_id)
        path = self.path(run)
        if run.status != DONE or not path.exists():
            raise NotFound()
        audit.record(session, "download", "exports", run.id, list=run.key)
        title = self.specs[run.key].title if run.key in self.specs else run.key
        return path, f"{title}-{run.created_at:%Y%m%d-%H%M}.xlsx"


def purge(session: Session, directory: Path, now: datetime, keep: timedelta) -> int:
    """Remove exports older than `keep` (file and row) and fail runs that lost their worker (a restart,
    a kill -9); return how many files were removed."""
    removed = 0
    for run in session.execute(select(ExportRun).where(ExportRun.created_at < now - keep,
                                                       ExportRun.status.in_((DONE, FAILED)))).scalars():
        path = directory / f"{run.token}.xlsx"
        if path.exists():
            path.unlink()
            removed += 1
        session.delete(run)
    fail_stale(session, ExportRun, now, INTERRUPTED)
    return removed


def _actor(user: User, ip: str | None = None) -> Actor:
    return Actor(username=user.username, user_id=user.id, role=user.role, unit_id=user.unit_id, ip=ip)


def _purge(session: Session, ctx: JobContext) -> int:
    return purge(session, ctx.settings.export_dir, ctx.now, timedelta(hours=ctx.settings.export_keep_hours))


EXPORT_PURGE_JOB = Job("exports.purge", 3600, _purge)  # exported files live `export_keep_hours`, then go
