"""Access in one place: what each role may do, and the jurisdiction filter on every query.

A user sees its unit's subtree (an agency unit, such as a health commission, works in its parent's
jurisdiction). Objects outside it are reported as not found, never as forbidden.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from fangkong.core.errors import Forbidden, NotFound
from fangkong.core.i18n import N_
from fangkong.core.models import Role, Unit, UnitKind, User

PERSON_READ = "person.read"
PERSON_WRITE = "person.write"
PERSON_REVEAL = "person.reveal"
PERSON_STATUS = "person.status"  # risk status; which statuses a role may set is people.status's rule
PERSON_MERGE = "person.merge"  # review queue of possible duplicates, merge and un-merge of person files
UNIT_MANAGE = "unit.manage"
USER_MANAGE = "user.manage"
USER_GRANT = "user.grant"  # give a role with personal-data access: command only, never admin (issue 17)
AUDIT_READ = "audit.read"
LEAD_INTAKE = "lead.intake"  # import sheets, API batches, manual entry
LEAD_READ = "lead.read"
LEAD_VERIFY = "lead.verify"
LEAD_DISPATCH = "lead.dispatch"  # assign from the manual queue, re-dispatch
LEAD_FEEDBACK = "lead.feedback"
CHECKPOINT_MANAGE = "checkpoint.manage"  # checkpoints, posts, risk areas
CHECKPOINT_READ = "checkpoint.read"  # flows, recent passages, lane planning
PASSAGE_WRITE = "passage.write"
REFERRAL_READ = "referral.read"
REFERRAL_ACK = "referral.ack"
TRACE_RUN = "trace.run"  # trace a case, add or strike contacts, dispatch them as leads
CARE_MANAGE = "care.manage"  # form care teams (N包1) for persons under observation
FOLLOWUP_READ = "followup.read"  # follow-up lists, missed lists, counts; community: its own teams' persons
FOLLOWUP_RECORD = "followup.record"  # record a follow-up; community only for the persons of its teams
REGISTRATION_READ = "registration.read"  # arrivals and gatherings registered by the public (issue 6)
VENUE_READ = "venue.read"  # the venue registry and its counts (no personal data)
VENUE_MANAGE = "venue.manage"  # venues, their codes and posters
VISIT_READ = "visit.read"  # who came and went at a venue (personal data, audited)
VENUE_INSPECT = "venue.inspect"  # inspections and closure orders

PERMISSIONS: dict[str, frozenset[str]] = {
    Role.COMMAND: frozenset({PERSON_READ, PERSON_WRITE, PERSON_REVEAL, PERSON_STATUS, PERSON_MERGE, LEAD_INTAKE,
                             LEAD_READ, LEAD_VERIFY, LEAD_DISPATCH, LEAD_FEEDBACK, CHECKPOINT_MANAGE, CHECKPOINT_READ,
                             REFERRAL_READ, TRACE_RUN, CARE_MANAGE, FOLLOWUP_READ, REGISTRATION_READ,
                             VENUE_READ, VENUE_MANAGE, VISIT_READ, VENUE_INSPECT, USER_GRANT}),
    Role.DISTRICT: frozenset({PERSON_READ, PERSON_REVEAL, PERSON_STATUS, LEAD_INTAKE, LEAD_READ, LEAD_VERIFY,
                              LEAD_DISPATCH, CARE_MANAGE, FOLLOWUP_READ,
                              LEAD_FEEDBACK, CHECKPOINT_READ, REFERRAL_READ, REGISTRATION_READ, VENUE_READ,
                              VISIT_READ}),
    Role.STATION: frozenset({PERSON_READ, PERSON_WRITE, PERSON_REVEAL, PERSON_STATUS, PERSON_MERGE, LEAD_READ,
                             LEAD_VERIFY, CARE_MANAGE, FOLLOWUP_READ, FOLLOWUP_RECORD, REGISTRATION_READ,
                             VENUE_READ, VENUE_MANAGE, VISIT_READ, VENUE_INSPECT}),
    Role.HEALTH: frozenset({PERSON_READ, PERSON_REVEAL, PERSON_STATUS, REFERRAL_READ, REFERRAL_ACK, TRACE_RUN,
                            FOLLOWUP_READ, FOLLOWUP_RECORD}),
    Role.CHECKPOINT: frozenset({CHECKPOINT_READ, PASSAGE_WRITE, REFERRAL_READ}),
    # Community cadres verify the community leg of two-leg leads and follow up the persons of their
    # care teams (people.care narrows them to those), not the person files at large. They also keep the
    # entry/exit registration of residential compounds and villages (and only those:
    # registration.venues.visible_venues).
    Role.COMMUNITY: frozenset({LEAD_READ, LEAD_VERIFY, FOLLOWUP_READ, FOLLOWUP_RECORD, VENUE_READ, VISIT_READ}),
    Role.AUDITOR: frozenset({AUDIT_READ}),
    Role.ADMIN: frozenset({UNIT_MANAGE, USER_MANAGE, CHECKPOINT_MANAGE, VENUE_READ, VENUE_MANAGE}),
    Role.SCREEN: frozenset(),  # the command capability grants what the big screen reads
}

# Roles that read person files, leads, passages or health data. Admin (no personal data, by design)
# must not be able to hand one out, or it could make itself a reader (issue 17, finding 3).
PERSONAL_DATA_ROLES = frozenset({Role.COMMAND, Role.DISTRICT, Role.STATION, Role.HEALTH, Role.CHECKPOINT,
                                 Role.COMMUNITY})

M = TypeVar("M")
S = TypeVar("S", bound=Select[*tuple[Any, ...]])  # a select of any columns


def grant(role: str, actions: frozenset[str]) -> None:
    """Add actions a capability declares for a role (core.capability.Platform.grant_permissions)."""
    PERMISSIONS[role] = PERMISSIONS.get(role, frozenset()) | frozenset(actions)


def can(user: User, action: str) -> bool:
    return action in PERMISSIONS.get(user.role, frozenset())


def require(user: User, action: str) -> None:
    """Raise Forbidden unless the user's role grants `action`."""
    if not can(user, action):
        raise Forbidden()


def scope_path(user: User) -> str:
    """Return the unit path prefix of the user's jurisdiction."""
    unit = user.unit
    if unit.kind == UnitKind.AGENCY and unit.parent_id is not None:
        return unit.path.rsplit("/", 2)[0] + "/"
    return unit.path


def visible_unit_ids(user: User) -> Select[int]:
    return select(Unit.id).where(Unit.path.startswith(scope_path(user), autoescape=True))


def restrict(stmt: S, user: User, unit_column: Any) -> S:
    """Limit a query to rows whose `unit_column` lies in the user's jurisdiction."""
    return stmt.where(unit_column.in_(visible_unit_ids(user)))


def in_jurisdiction(user: User, unit: Unit) -> bool:
    return unit.path.startswith(scope_path(user))


def get_visible(session: Session, user: User, model: type[M], object_id: int, action: str) -> M:
    """Return the object if the role may `action` it and it lies in the jurisdiction; else raise."""
    require(user, action)
    stmt = restrict(select(model).where(model.id == object_id), user, model.unit_id)  # type: ignore[attr-defined]
    obj = session.execute(stmt).unique().scalar_one_or_none()
    if obj is None:
        raise NotFound()
    return obj


ROLE_LABELS: dict[str, str] = {  # msgids, translated where shown
    Role.COMMAND: N_("Command centre"),
    Role.DISTRICT: N_("District sub-bureau"),
    Role.STATION: N_("Police station"),
    Role.CHECKPOINT: N_("Checkpoint officer"),
    Role.HEALTH: N_("Health liaison"),
    Role.COMMUNITY: N_("Community cadre / doctor"),
    Role.AUDITOR: N_("Auditor"),
    Role.ADMIN: N_("Administrator"),
    Role.SCREEN: N_("Big screen (read-only)"),
}
