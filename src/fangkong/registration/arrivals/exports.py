"""Registration's Excel export: arrivals with the arrivals page's filters (day, origin, risk)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.access import REGISTRATION_READ
from fangkong.core.clock import local_naive
from fangkong.core.codes import area_name, mask_id_number, mask_phone
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.exports import ExportSpec
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import Unit, User
from fangkong.registration import inputs
from fangkong.registration.arrivals.models import Arrival
from fangkong.registration.arrivals.service import LEVELS, TRANSPORTS, ArrivalFilter, arrival_query


def _filter(params: Mapping[str, str]) -> ArrivalFilter:
    errors: list[FieldError] = []
    day = inputs.clean_date(errors, "day", params.get("day", ""), required=False)
    if errors:
        raise ValidationFailed(errors)
    return ArrivalFilter(day=day, origin=params.get("origin", "")[:6], risk=params.get("risk", "")[:8])


def _count(session: Session, user: User, params: Mapping[str, str]) -> int:
    stmt = arrival_query(user, _filter(params)).order_by(None).with_only_columns(func.count(Arrival.id))
    return int(session.execute(stmt).scalar_one())


def _rows(session: Session, user: User, params: Mapping[str, str], reveal: bool) -> Iterator[list[Any]]:
    found = arrival_query(user, _filter(params)).subquery()
    arrival = found.c
    stmt = (select(arrival.reference, arrival.created_at, arrival.name, arrival.id_number, arrival.doc_number,
                   arrival.phone, arrival.origin_code, arrival.origin_text, arrival.departed_on, arrival.arrived_on,
                   arrival.transport, arrival.transport_number, arrival.destination_address, arrival.risk_level,
                   arrival.temperature_c, Unit.name)
            .join(Unit, Unit.id == arrival.unit_id).order_by(arrival.created_at.desc(), arrival.id.desc()))
    for (reference, created, name, id_number, doc, phone, origin, origin_text, departed, arrived, transport,
         number, destination, risk, temperature, unit) in session.execute(stmt.execution_options(yield_per=2000)):
        ident = id_number or doc or ""
        yield [reference, local_naive(created), name, ident if reveal else mask_id_number(ident) if ident else "",
               phone if reveal else mask_phone(phone), area_name(origin) if origin else "", origin_text or "",
               departed, arrived, gettext(TRANSPORTS[transport]) if transport in TRANSPORTS else transport,
               number or "", destination,
               gettext(LEVELS[risk]) if risk in LEVELS else "", temperature, unit]


ARRIVALS = ExportSpec(
    key="registration.arrivals", title=N_("Arrivals"), permission=REGISTRATION_READ,
    columns=(N_("Reference"), N_("Registered at"), N_("Name"), N_("ID number"), N_("Phone"), N_("Origin"),
             N_("Origin detail"), N_("Departed on"), N_("Arrived on"), N_("Transport"), N_("Train or flight"),
             N_("Destination address"), N_("Risk area"), N_("Temperature (°C)"), N_("Jurisdiction")),
    params=("day", "origin", "risk"), count=_count, rows=_rows, revealable=True)

EXPORTS = (ARRIVALS,)
