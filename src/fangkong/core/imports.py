"""Big sheet uploads as background jobs (issue 17): stored, checked against the limits, then read, checked
and previewed, and on the user's confirmation imported, all in the "import" lane of the job runner.

A capability declares an `ImportSpec` per sheet upload (pushed leads, a pass bulk issue …). An upload past
`FANGKONG_UPLOAD_BACKGROUND_ROWS` rows or `FANGKONG_UPLOAD_BACKGROUND_KB` (counted by
`core.sheets.check_limits`, before anything parses it) becomes an `ImportJob`: its file is kept under
var/uploads/jobs (0600) and its progress page polls the row. The job goes

    queued → running (preview) → previewed ─ the user confirms → queued → running (import) → done
                               ↘ failed (refused: the preview page says why)            ↘ failed

Preview reads and checks without writing (`spec.preview`); the import reads again (`spec.prepare`, outside
any transaction: SQLite's write lock is taken only for the writing) and writes everything in one
transaction (`spec.write`) together with the job's "done", so it is all or nothing: a failure leaves
nothing written and says why in the user's language. The uploaded file is removed as soon as the job
is done or failed; jobs (and any file left behind) are purged after `FANGKONG_IMPORT_KEEP_HOURS` by
the retention purge (`purge_jobs`).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from fangkong.core import audit, sheets
from fangkong.core.access import require
from fangkong.core.context import Actor, acting_as, current_locale
from fangkong.core.db import Base, Database, UTCDateTime, utcnow
from fangkong.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.jobs import (
    DONE,
    FAILED,
    OPEN,
    QUEUED,
    RUNNING,
    JobColumns,
    JobKind,
    JobRunner,
    claim,
    fail_stale,
    worker_id,
)
from fangkong.core.models import User
from fangkong.core.sheets import Progress, SheetError, SheetSize

log = logging.getLogger("fangkong.imports")

PREVIEWED = "previewed"
PREVIEW, IMPORT = "preview", "import"
AUTO_CONFIRM = "confirm"  # an API upload's field: import at once when the preview refuses nothing
LANE = "import"
FAILED_HERE = N_("The import failed on our side. Nothing was saved: upload the sheet again.")
INTERRUPTED = N_("The import was interrupted (the server restarted). Nothing was saved: upload the sheet again.")
NOT_WAITING = N_("This import is not waiting for a confirmation.")
STATUS_LABELS = {QUEUED: N_("Queued"), RUNNING: N_("Under way"), PREVIEWED: N_("Waiting for your confirmation"),
                 DONE: N_("Imported"), FAILED: N_("Failed")}
PARAM_LENGTH = 4000  # a leads mapping (header → field, as JSON) is the longest field kept
MAX_WAITING = 5  # previews of one user kept waiting for a confirmation (each holds its sheet on disk)
SUPERSEDED = N_("Replaced by a newer upload before it was confirmed. Nothing was saved.")


class ImportJob(JobColumns, Base):
    __tablename__ = "import_jobs"

    file_name: Mapped[str] = mapped_column(String(255))  # as uploaded: its suffix says how to read it
    phase: Mapped[str] = mapped_column(String(12), default=PREVIEW)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_checked: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str | None] = mapped_column(Text)  # JSON: what the preview page shows (masked, bounded)
    result: Mapped[str | None] = mapped_column(Text)  # JSON: what was imported and where to see it
    errors: Mapped[str | None] = mapped_column(Text)  # JSON: why it was refused, field by field
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- what a capability declares -------------------------------------------------------------------

@dataclass(frozen=True)
class PreviewOutcome:
    """What a preview found: `summary` is what the preview page shows (JSON; identifiers masked; at most a
    few hundred rows); `refused` non-empty means nothing can be imported, and says why."""

    summary: dict[str, Any]
    rows: int
    ready: int
    refused: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class ImportOutcome:
    """What an import wrote: how many rows, where to see them (`href`), and ids for the API."""

    imported: int
    href: str
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportContext:
    """What a running import sees: its file and fields, its user's units of work, and its progress."""

    job_id: int
    key: str
    file_name: str
    data: bytes
    params: dict[str, str]
    settings: Any
    progress: Progress
    db: Database
    user_id: int

    @contextmanager
    def work(self) -> Iterator[tuple[Session, User]]:
        """Yield a unit of work as the job's user, who must still be active (committed at the end)."""
        with _holding(self.progress), self.db.unit_of_work() as session:
            user = session.get(User, self.user_id)
            if user is None or not user.active:
                raise Forbidden()
            yield session, user


@dataclass(frozen=True)
class ImportSpec:
    """One kind of sheet upload that may run in the background.

    `check(session, user, params)` refuses (ValidationFailed, Forbidden, NotFound) a role, a jurisdiction
    or fields before anything is stored, and again at the confirmation and inside the import's transaction.
    `preview(ctx)` reads and checks the sheet and writes nothing but audit rows; `prepare(ctx)` reads it
    again for the import (raising ValidationFailed if it may not be imported) and `write(ctx, session,
    user, prepared)` writes it in the job's transaction. `page(request, view, errors)` renders the preview (or
    the refusal) page for a job; `remap(form)` turns a posted form into fields for a new preview (the lead
    sheet's column mapping).
    """

    key: str  # "<capability>.<name>"
    title: str  # msgid
    permission: str
    form: str  # the upload page (to upload again); may name fields: /checkpoints/{checkpoint_id}/import
    params: Sequence[str]  # the upload form's fields kept with the job
    confirm_params: Sequence[str]  # the fields the confirmation may set (a checkbox: give it, "" for off)
    check: Callable[[Session, User, Mapping[str, str]], None]
    preview: Callable[[ImportContext], PreviewOutcome]
    prepare: Callable[[ImportContext], Any]
    write: Callable[[ImportContext, Session, User, Any], ImportOutcome]
    page: Callable[[Any, ImportView, list[FieldError]], Any]  # (request, view, errors) -> response
    remap: Callable[[Mapping[str, str]], dict[str, str]] | None = None


@dataclass(frozen=True)
class ImportView:
    """A job as its pages and the API show it (plain values, safe after the session ends)."""

    id: int
    key: str
    title: str
    form: str
    status: str
    phase: str
    file_name: str
    total: int
    read: int
    checked: int
    imported: int
    error: str | None
    errors: list[FieldError]
    summary: dict[str, Any]
    result: dict[str, Any]
    params: dict[str, str]
    created_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        """Return how far the current phase got: reading and checking, then writing when importing."""
        if self.status == DONE:
            return 100
        if self.status not in OPEN:
            return 0
        rows = max(self.total, self.read, 1)
        steps = (self.read, self.checked) + ((self.imported,) if self.phase == IMPORT else ())
        return min(99, sum(min(s, rows) for s in steps) * 100 // (rows * len(steps)))

    @property
    def stage(self) -> str:
        """Return the step under way: queued, reading, checking or importing."""
        if self.status == QUEUED:
            return "queued"
        if self.phase == IMPORT and (self.imported or (self.total and self.checked >= self.total)):
            return "importing"
        return "checking" if self.checked else "reading"

    @property
    def href(self) -> str | None:
        return self.result.get("href")


class Tracker(Progress):
    """A job's progress: counts kept in memory and written to its row at most twice a second.

    While the job's own transaction holds SQLite's write lock, another connection could not write the row
    (it would wait for the lock this thread holds): the counts then stay in memory until the end. On
    PostgreSQL they are written meanwhile from another connection."""

    EVERY = 0.5  # seconds between writes

    def __init__(self, db: Database, job_id: int) -> None:
        self.db, self.job_id = db, job_id
        self.counts = {"rows_read": 0, "rows_checked": 0, "rows_imported": 0}
        self.concurrent = db.engine.dialect.name != "sqlite"
        self.held, self.stopped, self._last, self._dirty = 0, False, 0.0, False

    def read(self, rows: int) -> None:
        self._set("rows_read", rows)

    def checked(self, rows: int) -> None:
        self._set("rows_checked", rows)

    def imported(self, rows: int) -> None:
        self._set("rows_imported", rows)

    def _set(self, name: str, rows: int) -> None:
        self.counts[name] = rows
        self._dirty = True
        if time.monotonic() - self._last >= self.EVERY:
            self.flush()

    def flush(self) -> None:
        if not self._dirty or self.stopped or (self.held and not self.concurrent):
            return
        with self.db.unit_of_work() as session:
            session.execute(update(ImportJob).where(ImportJob.id == self.job_id, ImportJob.status == RUNNING)
                            .values(updated_at=utcnow(), **self.counts))
        self._last, self._dirty = time.monotonic(), False


@contextmanager
def _holding(progress: Progress) -> Iterator[None]:
    """Tell a tracker that its job's thread is inside a transaction (see Tracker)."""
    if not isinstance(progress, Tracker):
        yield
        return
    progress.held += 1
    try:
        yield
    finally:
        progress.held -= 1


# --- the service -----------------------------------------------------------------------------------

def jobs_dir(var_dir: Path) -> Path:
    return sheets.uploads_dir(var_dir) / "jobs"


class Imports:
    """The declared sheet uploads, and their jobs in the "import" lane of the worker's job runner."""

    def __init__(self, specs: Sequence[ImportSpec], db: Database, settings: Any, runner: JobRunner) -> None:
        self.specs = {spec.key: spec for spec in specs}
        if len(self.specs) != len(specs):
            raise ValueError("import keys must be unique")
        self.db, self.settings, self.runner = db, settings, runner
        self.directory = jobs_dir(settings.var_dir)
        runner.add(JobKind(ImportJob, LANE, INTERRUPTED, self._remove_files))

    def spec(self, key: str) -> ImportSpec:
        try:
            return self.specs[key]
        except KeyError:
            raise ValidationFailed.one("key", N_("Choose one of the options.")) from None

    def path(self, job: ImportJob) -> Path:
        return self.directory / f"{job.token}{Path(job.file_name).suffix.lower()}"

    def in_background(self, size: SheetSize) -> bool:
        """Return whether an upload of this size is read as a background job (else in its request)."""
        return size.rows > self.settings.upload_background_rows or \
            size.bytes > self.settings.upload_background_kb * 1024

    # --- asking -----------------------------------------------------------------------------------------

    def submit(self, session: Session, user: User, key: str, raw: Mapping[str, str], file_name: str, data: bytes,
               size: SheetSize | None = None, ip: str | None = None, locale: str = "zh_CN") -> ImportJob:
        """Check the user, the fields and the file's limits, keep the file and queue its preview (started
        after commit). An API upload with `confirm=1` is imported right after a preview that refuses nothing."""
        spec = self.spec(key)
        require(user, spec.permission)
        params = {name: str(raw[name])[:PARAM_LENGTH] for name in spec.params if raw.get(name) is not None}
        if str(raw.get(AUTO_CONFIRM, "")).lower() in ("1", "true", "yes", "on"):
            params[AUTO_CONFIRM] = "1"
        spec.check(session, user, params)
        if size is None:
            size = sheet_size(data, file_name)
        self.runner.check_open(session, user.id)
        self._supersede(session, user.id)
        job = ImportJob(token=secrets.token_hex(16), user_id=user.id, key=key, file_name=_short(file_name),
                        params=json.dumps(params, ensure_ascii=False, sort_keys=True), status=QUEUED, phase=PREVIEW,
                        total=size.rows, ip=ip, locale=locale, worker=worker_id())
        session.add(job)
        session.flush()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.path(job)
        path.touch(mode=0o600)  # full ID numbers: readable by this service only, from the first byte
        path.write_bytes(data)
        audit.record(session, "upload", "import_jobs", job.id, sheet=key, rows=size.rows, bytes=size.bytes)
        return job

    def _supersede(self, session: Session, user_id: int) -> None:
        """Fail the user's oldest previews still waiting for a confirmation beyond the few kept, and remove
        their files: an upload never confirmed must not hold its sheet (and the disk) until the purge."""
        waiting = session.execute(select(ImportJob).where(ImportJob.user_id == user_id, ImportJob.status == PREVIEWED)
                                  .order_by(ImportJob.updated_at.desc()).offset(MAX_WAITING - 1)).scalars().all()
        for job in waiting:
            job.status, job.error, job.finished_at, job.summary = FAILED, SUPERSEDED, utcnow(), None
            self.path(job).unlink(missing_ok=True)

    def start(self, job_id: int) -> None:
        """Run the job in this worker's import lane (call after its row is committed)."""
        self.runner.submit(LANE, self.run, job_id)

    def confirm(self, session: Session, user: User, job_id: int, raw: Mapping[str, str]) -> ImportJob:
        """Queue the import of a previewed job with the confirmation's fields (started after commit)."""
        job, spec = self._waiting(session, user, job_id)
        params = {**json.loads(job.params),
                  **{n: str(raw[n] or "")[:PARAM_LENGTH] for n in spec.confirm_params if n in raw}}
        return self._requeue(session, user, job, spec, params, IMPORT)

    def repreview(self, session: Session, user: User, job_id: int, raw: Mapping[str, str]) -> ImportJob:
        """Queue a new preview of a previewed job's file with other fields (a corrected column mapping)."""
        job, spec = self._waiting(session, user, job_id)
        if spec.remap is None:
            raise NotFound()
        return self._requeue(session, user, job, spec, {**json.loads(job.params), **spec.remap(raw)}, PREVIEW)

    def _waiting(self, session: Session, user: User, job_id: int) -> tuple[ImportJob, ImportSpec]:
        job = self.own(session, user, job_id)
        spec = self.spec(job.key)
        require(user, spec.permission)
        if job.status != PREVIEWED:
            raise Conflict(NOT_WAITING)
        return job, spec

    def _requeue(self, session: Session, user: User, job: ImportJob, spec: ImportSpec, params: dict[str, str],
                 phase: str) -> ImportJob:
        spec.check(session, user, params)
        self.runner.check_open(session, user.id)
        moved = session.execute(update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == PREVIEWED).values(
            status=QUEUED, phase=phase, params=json.dumps(params, ensure_ascii=False, sort_keys=True),
            worker=worker_id(), updated_at=utcnow(), rows_read=0, rows_checked=0, rows_imported=0))
        if moved.rowcount != 1:  # type: ignore[attr-defined]  # confirmed twice at once: the first one won
            raise Conflict(NOT_WAITING)
        session.refresh(job)
        return job

    # --- running ----------------------------------------------------------------------------------------

    def run(self, job_id: int) -> None:
        """Run the job's current phase; any failure marks it failed (the reason in the log, not the data)."""
        try:
            again = self._run(job_id)
        except Exception as exc:  # the lane must survive a bad job, and the user must learn of it
            log.exception("import %s failed", job_id)
            self._fail(job_id, FAILED_HERE, [], detail=type(exc).__name__)
            return
        if again:
            self.run(job_id)  # an API upload that asked to be imported at once

    def _run(self, job_id: int) -> bool:
        with self.db.unit_of_work() as session:
            if not claim(session, ImportJob, job_id, updated_at=utcnow()):
                return False
            job = session.get(ImportJob, job_id)
            if job is None:
                return False
            spec, phase, path = self.spec(job.key), job.phase, self.path(job)
            actor = _actor(job, session.get(User, job.user_id))
            key, file_name, params, user_id = job.key, job.file_name, json.loads(job.params), job.user_id
            current_locale.set(job.locale)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self._fail(job_id, sheets.GONE, [])
            return False
        tracker = Tracker(self.db, job_id)
        ctx = ImportContext(job_id, key, file_name, data, params, self.settings, tracker, self.db, user_id)
        with acting_as(actor):
            try:
                if phase == PREVIEW:
                    return self._preview(ctx, spec, tracker, path)
                self._import(ctx, spec, tracker, path)
            except ValidationFailed as exc:
                self._fail(job_id, exc.errors[0].message if exc.errors else FAILED_HERE, exc.errors)
            except SheetError as exc:
                self._fail(job_id, exc.message, [FieldError("file", exc.message, exc.params)])
        return False

    def _preview(self, ctx: ImportContext, spec: ImportSpec, tracker: Tracker, path: Path) -> bool:
        outcome = spec.preview(ctx)
        tracker.stopped = True
        auto = ctx.params.get(AUTO_CONFIRM) == "1" and not outcome.refused
        with self.db.unit_of_work() as session:
            job = session.get(ImportJob, ctx.job_id)
            if job is None or job.status != RUNNING:
                return False
            job.summary = json.dumps(outcome.summary, ensure_ascii=False, default=str)
            job.total, job.updated_at = outcome.rows, utcnow()
            job.rows_read, job.rows_checked = max(tracker.counts["rows_read"], outcome.rows), outcome.rows
            if outcome.refused:
                self._refuse(session, job, outcome.refused[0].message, outcome.refused, None)
            elif auto:
                job.status, job.phase, job.rows_read, job.rows_checked = QUEUED, IMPORT, 0, 0
            else:
                job.status = PREVIEWED
        if outcome.refused:
            path.unlink(missing_ok=True)
        return auto

    def _import(self, ctx: ImportContext, spec: ImportSpec, tracker: Tracker, path: Path) -> None:
        prepared = spec.prepare(ctx)
        tracker.flush()
        with ctx.work() as (session, user):
            spec.check(session, user, ctx.params)  # still the user's role and jurisdiction, in this transaction
            outcome = spec.write(ctx, session, user, prepared)
            tracker.stopped = True  # PostgreSQL: the row is updated below, in this transaction
            now = utcnow()
            done = session.execute(update(ImportJob).where(ImportJob.id == ctx.job_id, ImportJob.status == RUNNING)
                                   .values(status=DONE, finished_at=now, updated_at=now, summary=None,
                                           rows_read=tracker.counts["rows_read"],
                                           rows_checked=tracker.counts["rows_checked"],
                                           rows_imported=outcome.imported, error=None,
                                           result=json.dumps({**outcome.result, "href": outcome.href,
                                                              "imported": outcome.imported},
                                                             ensure_ascii=False, default=str)))
            if done.rowcount != 1:  # type: ignore[attr-defined]  # failed meanwhile (lost): write nothing
                raise RuntimeError("import job is no longer running")
        path.unlink(missing_ok=True)

    def _fail(self, job_id: int, message: str, errors: Sequence[FieldError], detail: str | None = None) -> None:
        """Mark the job failed (nothing it was writing was committed) and remove its file."""
        with self.db.unit_of_work() as session:
            job = session.get(ImportJob, job_id)
            if job is None or job.status not in OPEN:
                return
            with acting_as(_actor(job, session.get(User, job.user_id))):
                self._refuse(session, job, message, errors, detail)
            path = self.path(job)
        path.unlink(missing_ok=True)

    @staticmethod
    def _refuse(session: Session, job: ImportJob, message: str, errors: Sequence[FieldError],
                detail: str | None) -> None:
        job.status, job.error, job.finished_at, job.updated_at = FAILED, message[:255], utcnow(), utcnow()
        job.errors = json.dumps([{"field": e.field, "message": e.message, "params": e.params} for e in errors[:200]],
                                ensure_ascii=False, default=str)
        audit.record(session, "import_failed", "import_jobs", job.id, sheet=job.key, phase=job.phase,
                     error=detail or message)

    def _remove_files(self, jobs: Sequence[ImportJob]) -> None:
        for job in jobs:
            self.path(job).unlink(missing_ok=True)

    # --- reading ----------------------------------------------------------------------------------------

    def own(self, session: Session, user: User, job_id: int) -> ImportJob:
        """Return the user's own job (anyone else's is not found)."""
        job = session.get(ImportJob, job_id)
        if job is None or job.user_id != user.id:
            raise NotFound()
        return job

    def view(self, job: ImportJob) -> ImportView:
        spec = self.specs.get(job.key)
        errors = [FieldError(e["field"], e["message"], e.get("params") or {}) for e in json.loads(job.errors or "[]")]
        params = json.loads(job.params or "{}")
        return ImportView(job.id, job.key, spec.title if spec else job.key, _form(spec, params), job.status,
                          job.phase, job.file_name, job.total, job.rows_read, job.rows_checked, job.rows_imported,
                          job.error, errors, json.loads(job.summary or "{}"), json.loads(job.result or "{}"),
                          params, job.created_at, job.finished_at)

    def recent(self, session: Session, user: User, limit: int = 20) -> list[ImportView]:
        jobs = session.execute(select(ImportJob).where(ImportJob.user_id == user.id)
                               .order_by(ImportJob.id.desc()).limit(limit)).scalars()
        return [self.view(job) for job in jobs]


def _short(file_name: str) -> str:
    """Return the upload's name as kept (255 characters at most, its suffix kept: it says how to read it)."""
    name = Path(file_name).name
    suffix = Path(name).suffix[:16]
    return name if len(name) <= 255 else name[:255 - len(suffix)] + suffix


def _form(spec: ImportSpec | None, params: Mapping[str, str]) -> str:
    """Return the upload page of a job (a spec's form may name its fields: /checkpoints/{checkpoint_id}/import)."""
    if spec is None:
        return "/"
    try:
        return spec.form.format(**params)
    except (KeyError, IndexError, ValueError):
        return "/"


def sheet_size(data: bytes, file_name: str) -> SheetSize:
    """Return an upload's size after checking its type and the limits (ValidationFailed on `file`)."""
    if Path(file_name).suffix.lower() not in sheets.SUFFIXES:
        raise ValidationFailed.one("file", sheets.WRONG_TYPE)
    try:
        return sheets.check_limits(data, file_name)
    except SheetError as exc:
        raise ValidationFailed.one("file", exc.message, **exc.params) from None


def _actor(job: ImportJob, user: User | None = None) -> Actor:
    if user is None:
        return Actor(username=f"user:{job.user_id}", user_id=job.user_id, ip=job.ip)
    return Actor(username=user.username, user_id=user.id, role=user.role, unit_id=user.unit_id, ip=job.ip)


# --- retention -------------------------------------------------------------------------------------

ORPHAN_AGE = timedelta(minutes=10)  # a file whose job row was never committed (a failed request)


def purge_jobs(session: Session, settings: Any, now: datetime) -> dict[str, int]:
    """Fail lost jobs, delete jobs finished (or left unconfirmed) more than `import_keep_hours` ago, and
    delete every uploaded file no open job needs; return the counts (a `Capability.retention` purger)."""
    directory = jobs_dir(settings.var_dir)
    fail_stale(session, ImportJob, now, INTERRUPTED, since=ImportJob.updated_at)
    old = session.execute(select(ImportJob).where(ImportJob.status.in_((DONE, FAILED, PREVIEWED)),
                                                  ImportJob.updated_at < now - timedelta(
                                                      hours=settings.import_keep_hours))).scalars().all()
    for job in old:
        session.delete(job)
    session.flush()
    needed = set(session.execute(select(ImportJob.token).where(
        ImportJob.status.in_((QUEUED, RUNNING, PREVIEWED)))).scalars())
    files = 0
    if directory.is_dir():
        for path in directory.iterdir():
            if path.is_file() and path.stem not in needed and path.stat().st_mtime < (now - ORPHAN_AGE).timestamp():
                path.unlink(missing_ok=True)
                files += 1
    return {"import_jobs": len(old), "import_files": files}
