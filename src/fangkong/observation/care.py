"""Care teams (N包1, PROTOCOL.md "Care teams"): one team per person under observation, one member per
team role; the roles and which user roles may fill them are a setting (FANGKONG_CARE_TEAM_ROLES).

Community cadres and doctors see the persons of their own teams only ("my persons"); police units
and health see every observation in their jurisdiction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.access import CARE_MANAGE, FOLLOWUP_READ, in_jurisdiction, require, restrict
from fangkong.core.db import utcnow
from fangkong.core.errors import NotFound, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, Unit, User
from fangkong.core.rules import TeamRoles
from fangkong.core.rules import parse_team_roles as parse_team_roles
from fangkong.observation.models import CareTeam, CareTeamMember, Observation
from fangkong.people.models import Person, RiskStatus

TEAM_ROLE_LABELS = {"officer": N_("Officer"), "cadre": N_("Community cadre"), "doctor": N_("Doctor"),
                    "grid": N_("Grid worker"), "volunteer": N_("Volunteer")}
UNKNOWN_TEAM_ROLE = N_("Choose one of the team's roles.")
NOT_ELIGIBLE = N_("This user cannot fill this role: choose one of the listed users.")


def team_role_label(name: str) -> str:
    """Return the msgid naming a team role (a configured role without a label shows as its name)."""
    return TEAM_ROLE_LABELS.get(name, name)


def my_observations(user: User) -> Select[int]:
    """Return the ids of the observations whose care team includes the user."""
    return (select(CareTeam.observation_id).join(CareTeamMember, CareTeamMember.team_id == CareTeam.id)
            .where(CareTeamMember.user_id == user.id))


def scoped(stmt: Any, user: User, observation_id: Any, only_mine: bool = False) -> Any:
    """Limit a query joined to Person to the jurisdiction; community users (or `only_mine`) to their teams."""
    stmt = restrict(stmt, user, Person.unit_id)
    if only_mine or user.role == Role.COMMUNITY:
        stmt = stmt.where(observation_id.in_(my_observations(user)))
    return stmt


def open_observation(session: Session, user: User, observation_id: int, action: str = FOLLOWUP_READ
                     ) -> tuple[Observation, Person]:
    """Return an open observation and its person if the user may see it; else NotFound."""
    require(user, action)
    stmt = scoped(select(Observation, Person).join(Person, Person.id == Observation.person_id)
                  .where(Observation.id == observation_id, Observation.released_at.is_(None)),
                  user, Observation.id)
    row = session.execute(stmt).unique().first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


@dataclass(frozen=True)
class Member:
    team_role: str
    user_id: int
    display_name: str
    unit_name: str


@dataclass(frozen=True)
class TeamView:
    observation: Observation
    person_id: int
    person_name: str
    status: str | None
    unit_name: str
    members: dict[str, Member]  # team role -> member
    roles: list[str]  # configured team roles, in order

    @property
    def missing(self) -> list[str]:
        return [r for r in self.roles if r not in self.members]


def _members(session: Session, observation_ids: list[int]) -> dict[int, dict[str, Member]]:
    out: dict[int, dict[str, Member]] = {oid: {} for oid in observation_ids}
    if not observation_ids:
        return out
    rows = session.execute(select(CareTeam.observation_id, CareTeamMember.team_role, User.id, User.display_name,
                                  Unit.name)
                           .join(CareTeamMember, CareTeamMember.team_id == CareTeam.id)
                           .join(User, User.id == CareTeamMember.user_id).join(Unit, Unit.id == User.unit_id)
                           .where(CareTeam.observation_id.in_(observation_ids))).all()
    for oid, role, uid, name, unit in rows:
        out[oid][role] = Member(role, uid, name, unit)
    return out


def team_of(session: Session, user: User, observation_id: int, roles: TeamRoles) -> TeamView:
    """Return the care team of an open observation (members by role, roles still to fill)."""
    obs, person = open_observation(session, user, observation_id)
    status = session.execute(select(RiskStatus.status).where(RiskStatus.id == obs.risk_status_id)).scalar()
    audit.record(session, "read", "care_teams", obs.id, person=person.id)
    return TeamView(obs, person.id, person.name, status, person.unit.name, _members(session, [obs.id])[obs.id],
                    list(roles))


def candidates(session: Session, user: User, observation_id: int, roles: TeamRoles) -> dict[str, list[Member]]:
    """Return per team role the active users who may fill it: the right role, the person in their jurisdiction."""
    _obs, person = open_observation(session, user, observation_id, CARE_MANAGE)
    wanted = set().union(*roles.values())
    users = session.execute(select(User).where(User.active.is_(True), User.role.in_(wanted))
                            .order_by(User.display_name)).unique().scalars()
    eligible = [u for u in users if in_jurisdiction(u, person.unit)]
    return {role: [Member(role, u.id, u.display_name, u.unit.name) for u in eligible if u.role in allowed]
            for role, allowed in roles.items()}


def assign_member(session: Session, user: User, observation_id: int, team_role: str, member_id: int | None,
                  roles: TeamRoles) -> TeamView:
    """Put a user into one role of the person's care team (replacing whoever held it)."""
    obs, person = open_observation(session, user, observation_id, CARE_MANAGE)
    if team_role not in roles:
        raise ValidationFailed.one("team_role", UNKNOWN_TEAM_ROLE)
    allowed = {m.user_id for m in candidates(session, user, observation_id, roles)[team_role]}
    if member_id is None or member_id not in allowed:
        raise ValidationFailed.one("user_id", NOT_ELIGIBLE)
    team = session.execute(select(CareTeam).where(CareTeam.observation_id == obs.id)).scalar_one_or_none()
    if team is None:
        team = CareTeam(observation_id=obs.id, person_id=person.id)
        session.add(team)
        session.flush()
    current = next((m for m in team.members if m.team_role == team_role), None)
    if current is None:
        team.members.append(CareTeamMember(team_role=team_role, user_id=member_id, assigned_at=utcnow(),
                                           assigned_by=user.display_name))
    elif current.user_id != member_id:
        current.user_id, current.assigned_at, current.assigned_by = member_id, utcnow(), user.display_name
    session.flush()
    return team_of(session, user, observation_id, roles)


@dataclass(frozen=True)
class TeamRow:
    observation_id: int
    person_id: int
    person_name: str
    unit_name: str
    kind: str
    planned_end: datetime
    members: dict[str, Member]


@dataclass(frozen=True)
class TeamList:
    rows: list[TeamRow]
    total: int
    incomplete: int  # observations whose team lacks a role


def team_list(session: Session, user: User, roles: TeamRoles, only_mine: bool = False,
              limit: int = 500) -> TeamList:
    """Return the open observations in scope with their teams (community users and `only_mine`: their own)."""
    require(user, FOLLOWUP_READ)
    base = scoped(select(Observation.id, Person.id, Person.name, Unit.name, Observation.kind,
                         Observation.planned_end)
                  .join(Person, Person.id == Observation.person_id).join(Unit, Unit.id == Person.unit_id)
                  .where(Observation.released_at.is_(None)), user, Observation.id, only_mine)
    rows = session.execute(base.order_by(Observation.planned_end, Observation.id).limit(limit)).all()
    audit.record(session, "list", "care_teams", None, mine=only_mine, results=len(rows))
    members = _members(session, [r[0] for r in rows])
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    full = (select(CareTeam.observation_id).join(CareTeamMember, CareTeamMember.team_id == CareTeam.id)
            .where(CareTeamMember.team_role.in_(list(roles))).group_by(CareTeam.observation_id)
            .having(func.count(CareTeamMember.id) == len(roles)))
    incomplete = session.execute(select(func.count()).select_from(
        base.where(Observation.id.not_in(full)).subquery())).scalar_one()
    teams = [TeamRow(oid, pid, name, unit, kind, end, members[oid]) for oid, pid, name, unit, kind, end in rows]
    return TeamList(teams, total, incomplete)
