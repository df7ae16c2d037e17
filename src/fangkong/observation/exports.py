"""Observation's Excel export: persons under observation, command's filtered list (the same query as the page)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from fangkong.core.access import FOLLOWUP_READ
from fangkong.core.clock import local_naive
from fangkong.core.exports import ExportSpec
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.core.web.params import optional_id
from fangkong.observation.observations import ObservationFilter, observation_query
from fangkong.observation.status import OBSERVATION_KINDS
from fangkong.people.exports import BATCH, count_rows, label
from fangkong.people.models import STATUSES


def _filter(params: Mapping[str, str]) -> ObservationFilter:
    return ObservationFilter(status=params.get("status", "")[:32],
                             district_id=optional_id("district_id", params.get("district_id", "")),
                             kind=params.get("kind", "")[:32], ends=params.get("ends", "")[:16])


def _observations_count(session: Session, user: User, params: Mapping[str, str]) -> int:
    return count_rows(session, observation_query(user, _filter(params))[1])


def _observations_rows(session: Session, user: User, params: Mapping[str, str],
                       _reveal: bool) -> Iterator[list[Any]]:
    listed = observation_query(user, _filter(params))[1]
    for _pid, name, status, kind, place, start, planned_end, unit in session.execute(
            listed.execution_options(yield_per=BATCH)):
        yield [name, label(STATUSES, status), label(OBSERVATION_KINDS, kind), place or "",
               local_naive(start), local_naive(planned_end), unit]


OBSERVATIONS = ExportSpec(
    key="observation.observations", title=N_("Persons under observation"), permission=FOLLOWUP_READ,
    columns=(N_("Name"), N_("Risk status"), N_("Observation"), N_("Place"), N_("Start"), N_("Planned end"),
             N_("Jurisdiction")),
    params=("status", "district_id", "kind", "ends"), count=_observations_count, rows=_observations_rows)

EXPORTS = (OBSERVATIONS,)
