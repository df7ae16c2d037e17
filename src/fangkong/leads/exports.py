"""Leads' Excel export: the on-time board (per unit: legs due, on time, late, overdue, open, rate)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core.access import LEAD_READ
from fangkong.core.exports import ExportSpec
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.leads.workflow import on_time_rates


def _count(session: Session, user: User, _params: Mapping[str, str]) -> int:
    return len(on_time_rates(session, user))


def _rows(session: Session, user: User, _params: Mapping[str, str], _reveal: bool) -> Iterator[list[Any]]:
    for r in on_time_rates(session, user):
        yield [r.unit_name, r.due, r.on_time, r.late, r.overdue, r.open, r.due_soon,
               round(r.rate, 4) if r.rate is not None else None]


RATES = ExportSpec(
    key="leads.rates", title=N_("On-time rates"), permission=LEAD_READ,
    columns=(N_("Unit"), N_("Due so far"), N_("On time"), N_("Late"), N_("Overdue"), N_("Open"),
             N_("Due within the hour"), N_("On-time rate")),
    params=(), count=_count, rows=_rows, personal=False)

EXPORTS = (RATES,)
