"""The people capability's Excel export: person files (the search page), same query as the page; ID numbers
and phones masked unless revealed on purpose."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.access import PERSON_READ
from fangkong.core.codes import mask_id_number, mask_phone
from fangkong.core.exports import ExportSpec
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import Unit, User
from fangkong.people.models import STATUSES, RiskStatus
from fangkong.people.service import person_query

BATCH = 2000


def count_rows(session: Session, stmt: Any) -> int:
    return int(session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())


def label(labels: Mapping[str, str], key: str | None) -> str:
    return gettext(labels[key]) if key is not None and key in labels else (key or "")


def _persons_count(session: Session, user: User, params: Mapping[str, str]) -> int:
    return count_rows(session, person_query(user, params.get("q", "")))


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
               label(sexes, sex), address or "", unit, label(STATUSES, status)]


PERSONS = ExportSpec(
    key="people.persons", title=N_("Person files"), permission=PERSON_READ,
    columns=(N_("Name"), N_("ID number"), N_("Phone"), N_("Sex"), N_("Current address"), N_("Jurisdiction"),
             N_("Risk status")),
    params=("q",), count=_persons_count, rows=_persons_rows, revealable=True)


EXPORTS = (PERSONS,)
