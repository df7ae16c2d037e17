"""Dispatching a case's contacts as urgent leads (issue 22): the plan the user confirms, and the run.

A case can have hundreds of new close contacts and thousands of secondary ones. Before they go out the
page shows how many leads go to which station (`plan_dispatch`: the leads capability's own placement,
`leads.intake.plan_leads`, so the counts are the ones the dispatch makes). The confirmed plan is kept
with a digest; the run refuses to start when the contacts changed meanwhile (a new trace, a strike,
another dispatch), and says so.

The run is a job of the platform's job runner (core/jobs.py, lane "dispatch", beside the exports and
imports): a row with status and progress that any worker can show, claimed queued → running by
compare and swap, failed when its worker is gone. It is written in parts of at least `PART` contacts,
each in its own transaction (the leads, the contacts' lead ids and their risk statuses together, and
the progress), so a failure leaves every contact dispatched whole or not at all, and all in one lead
batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import TRACE_RUN
from fangkong.core.codes import CodeError, normalize_id_number
from fangkong.core.context import Actor, acting_as
from fangkong.core.db import Database, utcnow
from fangkong.core.errors import Conflict, NotFound
from fangkong.core.i18n import N_
from fangkong.core.jobs import DONE, FAILED, QUEUED, RUNNING, JobKind, JobRunner, claim, worker_id
from fangkong.core.models import Unit, User
from fangkong.leads.dispatch import Placement
from fangkong.leads.intake import RawLead, plan_leads, submit_leads
from fangkong.leads.models import Lead
from fangkong.observation.status import change_status, status_of
from fangkong.people.models import CASES, Person
from fangkong.tracing.cases import LEAD_KIND, SOURCE_NAME, get_case, moment
from fangkong.tracing.models import Exposure, TraceCase, TraceDispatch

log = logging.getLogger("fangkong.tracing.dispatch")

KIND = {1: "close_contact", 2: "secondary_contact"}
PART = 25  # contacts per transaction at least: the progress moves every part, SQLite's write lock is held briefly
MAX_PARTS = 40  # and at most so many parts (18,000 secondary contacts go in parts of 450)
STALE_AFTER = timedelta(minutes=10)  # a run not moved for so long has lost its worker (on any host)
LANE, KEY = "dispatch", "tracing.dispatch"
PLAN_CHANGED = N_("The contacts changed since you confirmed (traced again, struck or dispatched). "
                  "Check the new counts and confirm again.")
RUN_FAILED = N_("The dispatch stopped: the contacts not yet dispatched are still listed. Try again.")
INTERRUPTED = N_("The dispatch was interrupted (the server restarted). Check the counts and dispatch again.")
ALREADY_RUNNING = N_("A dispatch of this case is under way.")
JOB_KIND = JobKind(TraceDispatch, LANE, INTERRUPTED)  # registered with the app's runner at start
# What the confirmation calls each kind of destination (units are named by their own names).
DESTINATIONS = {"station": N_("Station"), "district": N_("District (it dispatches to its station)"),
                "unknown": N_("Command centre's manual queue (address not recognised)"),
                "outside": N_("Outside the city (closed and fed back at once)"),
                "repeated": N_("Already a lead there (no new lead)"),
                "skipped": N_("Cannot be dispatched (no ID number, nor name and phone)")}


@dataclass(frozen=True)
class Destination:
    """One row of the confirmation: where leads go and how many."""

    kind: str  # station | district | unknown | outside | repeated | skipped
    unit_id: int | None
    name: str  # the unit's name ("" for the manual queue, outside the city, skipped)
    count: int


@dataclass(frozen=True)
class DispatchPlan:
    case_id: int
    rows: list[Exposure]  # the contacts to dispatch, in id order
    raws: list[RawLead | None]  # their leads (None: not enough to make one)
    placements: list[Placement | None]  # where each goes (None: skipped)
    destinations: list[Destination]
    digest: str

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def skipped(self) -> int:
        return sum(1 for raw in self.raws if raw is None)

    def unit_of(self) -> dict[int, int | None]:
        """Return exposure id → the unit its lead would go to (None: skipped or outside the city)."""
        return {row.id: p.unit_id if p else None for row, p in zip(self.rows, self.placements, strict=True)}


def raw_lead(row: Exposure, contact: Person | None, index: Person) -> RawLead | None:
    """Return the urgent lead a contact becomes, or None when there is too little to make one."""
    note = f"病例#{index.id} 流调：{LEAD_KIND[row.hop]}"
    if row.hop == 1 and row.first_exposure:
        note += f"，首次接触 {row.first_exposure.isoformat(timespec='minutes')}"
    if contact is not None:
        if not contact.id_number and not contact.phone:
            return None  # a lead needs the ID number, or the name and the phone
        return RawLead(name=contact.name, id_number=contact.id_number or "", phone=contact.phone or "",
                       current_address=contact.current_address or "", kind=LEAD_KIND[row.hop], priority="urgent",
                       note=note)
    try:  # an imported file's key: usable when it is an ID number (the intake makes the person file)
        number = normalize_id_number(row.contact_key)
    except CodeError:
        return None
    return RawLead(id_number=number, kind=LEAD_KIND[row.hop], priority="urgent", note=note)


def pending(case: TraceCase) -> list[Exposure]:
    """Return the contacts not struck and not yet dispatched, in id order."""
    return sorted((e for e in case.exposures if e.struck_at is None and e.lead_id is None), key=lambda e: e.id)


def plan_rows(session: Session, index: Person, case: TraceCase, rows: Sequence[Exposure],
              people: dict[int, Person]) -> DispatchPlan:
    """Return the plan for these contacts (their person files already loaded in `people`)."""
    raws = [raw_lead(row, people.get(row.person_id) if row.person_id else None, index) for row in rows]
    wanted = [raw for raw in raws if raw is not None]
    placed = iter(plan_leads(session, SOURCE_NAME, wanted) if wanted else [])
    placements = [next(placed) if raw is not None else None for raw in raws]
    raws = [raw if p is not None else None for raw, p in zip(raws, placements, strict=True)]  # refused: skipped
    counts = Counter((p.kind, p.unit_id) if p is not None else ("skipped", None) for p in placements)
    ids = {unit_id for _kind, unit_id in counts if unit_id is not None}
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}
    destinations = sorted((Destination(kind, unit_id, names.get(unit_id, "") if unit_id is not None else "", n)
                           for (kind, unit_id), n in counts.items()),
                          key=lambda d: (d.kind in ("repeated", "skipped", "outside"), -d.count, d.name))
    digest = hashlib.sha256(json.dumps([(row.id, p.kind if p else "", p.unit_id if p else None)
                                        for row, p in zip(rows, placements, strict=True)]).encode()).hexdigest()
    return DispatchPlan(case.id, list(rows), raws, placements, destinations, digest)


def plan_dispatch(session: Session, user: User, person_id: int) -> DispatchPlan:
    """Return where the case's new contacts would go as leads, counted by unit (404 outside the jurisdiction)."""
    person, case = get_case(session, user, person_id)
    if case is None:
        raise NotFound()
    rows = pending(case)
    ids = {r.person_id for r in rows if r.person_id}
    people = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(ids))).scalars()} if ids else {}
    return plan_rows(session, person, case, rows, people)


@dataclass(frozen=True)
class DispatchResult:
    dispatched: int
    statuses_set: int
    skipped: int  # contacts without a person file or an ID number to make one from


def dispatch_part(session: Session, user: User, index: Person, case: TraceCase, rows: Sequence[Exposure],
                  raws: Sequence[RawLead | None], profile: str, batch_id: int | None = None
                  ) -> tuple[DispatchResult, int | None]:
    """Dispatch some of a case's contacts as urgent leads and mark their status; return the counts and the
    leads' batch (pass it again for the next part of the same dispatch)."""
    todo = [(row, raw) for row, raw in zip(rows, raws, strict=True)
            if raw is not None and row.lead_id is None and row.struck_at is None]
    skipped = sum(1 for raw in raws if raw is None)
    if not todo:
        return DispatchResult(0, 0, skipped), batch_id
    batch, result = submit_leads(session, user, SOURCE_NAME, "tracing", [raw for _row, raw in todo],
                                 reference=f"case-{case.id}", action=TRACE_RUN, batch_id=batch_id)
    now = utcnow()
    leads = {lead.id: lead for lead in session.execute(select(Lead).where(Lead.id.in_(result.lead_ids))).scalars()}
    statuses = 0
    for (row, _raw), lead_id in zip(todo, result.lead_ids, strict=True):
        row.lead_id, row.dispatched_at = lead_id, now
        row.person_id = row.person_id or leads[lead_id].person_id
        if row.person_id and _mark_status(session, user, row, index, profile):
            statuses += 1
    session.flush()
    return DispatchResult(len(todo), statuses, skipped), batch.id


def dispatch_contacts(session: Session, user: User, person_id: int, profile: str) -> DispatchResult:
    """Dispatch every new contact as an urgent lead to the station of its address; mark its risk status
    (all in the caller's transaction: the API's synchronous dispatch)."""
    plan = plan_dispatch(session, user, person_id)
    person, case = get_case(session, user, person_id)
    assert case is not None
    result, _batch = dispatch_part(session, user, person, case, plan.rows, plan.raws, profile)
    if result.dispatched:
        audit.record(session, "trace_dispatch", "trace_cases", case.id, leads=result.dispatched,
                     statuses=result.statuses_set, skipped=result.skipped)
    return result


def _mark_status(session: Session, user: User, row: Exposure, index: Person, profile: str) -> bool:
    """Set close / secondary contact, pending verification, unless the person already has a status at
    least as serious (a case, or close contact when this is a secondary)."""
    current = status_of(session, user, row.person_id).current  # type: ignore[arg-type]
    wanted = KIND[row.hop]
    if current is not None and (current.status in CASES or current.status in {wanted, "close_contact"}
                                or current.status == "suspected"):
        return False
    change_status(session, user, row.person_id, wanted,  # type: ignore[arg-type]
                  f"流调待核实：病例#{index.id} 的{LEAD_KIND[row.hop]}", _evidence(row),
                  row.last_exposure if row.hop == 1 else None, profile_name=profile)
    return True


def _evidence(row: Exposure) -> str:
    if row.hop == 2:
        return "经 " + "、".join(link.via_key for link in row.links)
    return "；".join(f"{e['place']} {moment(int(e['start'])).isoformat(timespec='minutes')}"
                    for e in json.loads(row.evidence or "[]"))[:500]


# --- the run ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunView:
    """A dispatch run as its page shows it (plain values)."""

    id: int
    person_id: int
    status: str
    total: int
    done: int
    statuses_set: int
    skipped: int
    error: str | None
    destinations: list[Destination]

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0

    @property
    def open(self) -> bool:
        return self.status in (QUEUED, RUNNING)


def _stale(run: TraceDispatch) -> bool:
    return run.status in (QUEUED, RUNNING) and run.updated_at < utcnow() - STALE_AFTER


def run_view(run: TraceDispatch, person_id: int) -> RunView:
    plan = json.loads(run.plan or "[]")
    status, error = (FAILED, INTERRUPTED) if _stale(run) else (run.status, run.error)
    return RunView(run.id, person_id, status, run.total, run.done, run.statuses_set, run.skipped, error,
                   [Destination(**d) for d in plan])


def open_run(session: Session, case_id: int) -> TraceDispatch | None:
    """Return the case's dispatch under way, if any (a run that lost its worker does not count)."""
    runs = session.execute(select(TraceDispatch).where(TraceDispatch.case_id == case_id,
                                                       TraceDispatch.status.in_((QUEUED, RUNNING)))
                           .order_by(TraceDispatch.id.desc())).scalars()
    return next((run for run in runs if not _stale(run)), None)


def request_run(session: Session, user: User, person_id: int, digest: str, ip: str | None) -> TraceDispatch:
    """Queue a dispatch of the plan the user confirmed (409 when it changed, or one is under way)."""
    plan = plan_dispatch(session, user, person_id)
    if open_run(session, plan.case_id) is not None:
        raise Conflict(ALREADY_RUNNING)
    if digest != plan.digest:
        raise Conflict(PLAN_CHANGED)
    destinations = [d.__dict__ for d in plan.destinations]
    run = TraceDispatch(token=secrets.token_hex(16), key=KEY, user_id=user.id, params=json.dumps({"person": person_id}),
                        case_id=plan.case_id, digest=plan.digest, total=plan.total - plan.skipped,
                        skipped=plan.skipped, ip=ip, plan=json.dumps(destinations, ensure_ascii=False),
                        worker=worker_id())
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, user: User, run_id: int) -> RunView:
    """Return a run for its page (404 when its case is not visible to the user)."""
    run = session.get(TraceDispatch, run_id)
    if run is None:
        raise NotFound()
    case = session.get(TraceCase, run.case_id)
    assert case is not None
    person, _case = get_case(session, user, case.person_id)
    return run_view(run, person.id)


def start_run(runner: JobRunner, db: Database, run_id: int, person_id: int, profile: str, actor: Actor) -> None:
    """Run a queued dispatch in the runner's "dispatch" lane (call after its row is committed)."""
    runner.submit(LANE, execute_run, db, run_id, person_id, profile, actor)


def execute_run(db: Database, run_id: int, person_id: int, profile: str, actor: Actor) -> None:
    """Write a queued run part by part (after its row is committed; any failure marks it failed)."""
    try:
        _execute(db, run_id, person_id, profile, actor)
    except Exception as exc:  # the user must learn of it; the log has the reason, not the data
        log.exception("dispatch run %s failed", run_id)
        error = exc.detail if isinstance(exc, Conflict) else RUN_FAILED
        with db.unit_of_work() as session:
            session.execute(update(TraceDispatch).where(TraceDispatch.id == run_id).values(
                status=FAILED, error=error, finished_at=utcnow(), updated_at=utcnow()))


def _execute(db: Database, run_id: int, person_id: int, profile: str, actor: Actor) -> None:
    with acting_as(actor):
        with db.unit_of_work() as session:
            if not claim(session, TraceDispatch, run_id, updated_at=utcnow()):
                return  # not queued any more: another worker took it, or it was failed meanwhile
            run = session.get(TraceDispatch, run_id)
            assert run is not None
            plan = plan_dispatch(session, _user(session, actor), person_id)
            if plan.digest != run.digest:
                raise Conflict(PLAN_CHANGED)
            ids = [row.id for row, raw in zip(plan.rows, plan.raws, strict=True) if raw is not None]
        batch_id: int | None = None
        dispatched = statuses = 0
        size = max(PART, -(-len(ids) // MAX_PARTS))
        for start in range(0, len(ids), size):
            with db.unit_of_work() as session:
                user = _user(session, actor)
                person, case = get_case(session, user, person_id)
                assert case is not None
                rows = list(session.execute(select(Exposure).where(Exposure.id.in_(ids[start:start + size]))
                                            .order_by(Exposure.id)).scalars())
                people = {p.id: p for p in session.execute(select(Person).where(
                    Person.id.in_({r.person_id for r in rows if r.person_id}))).scalars()}
                raws = [raw_lead(r, people.get(r.person_id) if r.person_id else None, person) for r in rows]
                result, batch_id = dispatch_part(session, user, person, case, rows, raws, profile, batch_id)
                dispatched, statuses = dispatched + result.dispatched, statuses + result.statuses_set
                session.execute(update(TraceDispatch).where(TraceDispatch.id == run_id).values(
                    done=min(start + size, len(ids)), statuses_set=statuses, updated_at=utcnow()))
        with db.unit_of_work() as session:
            session.execute(update(TraceDispatch).where(TraceDispatch.id == run_id).values(
                status=DONE, done=len(ids), finished_at=utcnow(), updated_at=utcnow()))
            run = session.get(TraceDispatch, run_id)
            assert run is not None
            audit.record(session, "trace_dispatch", "trace_cases", run.case_id, leads=dispatched, statuses=statuses,
                         skipped=run.skipped, run=run_id)


def _user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        raise NotFound()
    return user
