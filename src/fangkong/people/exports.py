"""The people capability's Excel exports: person files (the search page) and observations (command's
filtered list). Same queries as the pages; ID numbers and phones masked unless revealed on purpose."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.access import FOLLOWUP_READ, PERSON_READ
from fangkong.core.clock import local_naive
from fangkong.core.codes import mask_id_number, mask_phone
from fangkong.core.exports import ExportSpec
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import Unit, User
from fangkong.core.web.params import optional_id
from fangkong.people.models import RiskStatus
from fangkong.people.observations import ObservationFilter, observation_query
from fangkong.people.service import person_query
from fangkong.people.status import OBSERVATION_KINDS, STATUSES

BATCH = 2000


def _count(session: Session, stmt: Any) -> int:
    return int(session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())


def _label(labels: Mapping[str, str], key: str | None) -> str:
    return gettext(labels[key]) if key in labels else (key or "")


def _persons_count(session: Session, user: User, params: Mapping[str, str]) -> int:
    return _count(session, person_query(user, params.get("q", "")))


def _persons_rows(session: Session, user: User, params: Mapping[str, str], reveal: bool) -> Iterator[list[Any]]:
    current = (select(RiskStatus.person_id, RiskStatus.status).where(RiskStatus.ended_at.is_(None))
               .subquery())
    persons = person_query(user, params.get("q", "")).subquery()
    stmt = (select(persons.c.name, persons.c.id_number, persons.c.doc_number, persons.c.phone, persons.c.sex,
                   persons.c.current_address, Unit.name, current.c.status)
            .join(Unit, Unit.id == persons.c.unit_id)
            .outerjoin(current, current.c.person_id == persons.c.id)
            .order_by(persons.c.name, persons.c.id))
    sexes = {"M": N_("Male"), "F": N_("Female")}
    for name, id_number, doc, phone, sex, address, unit, status in session.execute(
            stmt.execution_options(yield_per=BATCH)):
        ident = id_number or doc or ""
        yield [name, ident if reveal else mask_id_number(ident) if ident else "",
               (phone or "") if reveal else mask_phone(phone) if phone else "",
               _label(sexes, sex), address or "", unit, _label(STATUSES, status)]


PERSONS = ExportSpec(
    key="people.persons", title=N_("Person files"), permission=PERSON_READ,
    columns=(N_("Name"), N_("ID number"), N_("Phone"), N_("Sex"), N_("Current address"), N_("Jurisdiction"),
             N_("Risk status")),
    params=("q",), count=_persons_count, rows=_persons_rows, revealable=True)


def _filter(params: Mapping[str, str]) -> ObservationFilter:
    return ObservationFilter(status=params.get("status", "")[:32],
                             district_id=optional_id("district_id", params.get("district_id", "")),
                             kind=params.get("kind", "")[:32], ends=params.get("ends", "")[:16])


def _observations_count(session: Session, user: User, params: Mapping[str, str]) -> int:
    return _count(session, observation_query(user, _filter(params))[1])


def _observations_rows(session: Session, user: User, params: Mapping[str, str],
                       _reveal: bool) -> Iterator[list[Any]]:
    listed = observation_query(user, _filter(params))[1]
    for _pid, name, status, kind, place, start, planned_end, unit in session.execute(
            listed.execution_options(yield_per=BATCH)):
        yield [name, _label(STATUSES, status), _label(OBSERVATION_KINDS, kind), place or "",
               local_naive(start), local_naive(planned_end), unit]


OBSERVATIONS = ExportSpec(
    key="people.observations", title=N_("Persons under observation"), permission=FOLLOWUP_READ,
    columns=(N_("Name"), N_("Risk status"), N_("Observation"), N_("Place"), N_("Start"), N_("Planned end"),
             N_("Jurisdiction")),
    params=("status", "district_id", "kind", "ends"), count=_observations_count, rows=_observations_rows)

EXPORTS = (PERSONS, OBSERVATIONS)
