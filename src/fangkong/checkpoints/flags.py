"""What the checkpoint form flags before saving: fever, coming from or through a risk area (by plate,
by ID area, by declared origin), and the watch list (an open lead on the person).

The risk areas themselves (table, index, the process's copy) are `core.riskareas`: registration reads
them too.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, select, union
from sqlalchemy.orm import Session

from fangkong.core.codes import lookup_area, provinces
from fangkong.core.codes.areas import children
from fangkong.core.i18n import N_
from fangkong.core.protocol import FEVER_C
from fangkong.core.riskareas import RiskIndex
from fangkong.leads.models import Lead, LeadStatus
from fangkong.observation.status import active_risk_query
from fangkong.people.models import Person

FLAG_LABELS = {
    "fever": N_("Fever"), "risk_plate": N_("Vehicle from a city with a risk area"),
    "risk_id": N_("ID issued in a risk area"), "risk_origin": N_("Coming from a risk area"),
    "watch": N_("On the watch list (open lead or risk status)"),
}


@functools.cache
def _prefecture_codes() -> dict[str, str]:
    """Return full prefecture (or municipality) names → area code, to read a plate's region."""
    out = {}
    for province in provinces():
        out[province.full_name] = province.code
        for area in children(province.code):
            out[area.full_name] = area.code
    return out


def region_code(region: str | None) -> str | None:
    return _prefecture_codes().get(region or "")


def warm_up() -> None:
    """Build the code tables the flags read (areas, plate regions) before the first passage needs them."""
    lookup_area("110000")
    _prefecture_codes()


OPEN_LEAD = (LeadStatus.DISPATCHED, LeadStatus.MANUAL)


def _watch_list(person_ids: Any) -> Any:
    """Return a query of the persons among these (ids, or a query of ids) with an open lead or a risk status."""
    return union(select(Lead.person_id).where(Lead.person_id.in_(person_ids), Lead.status.in_(OPEN_LEAD)),
                 active_risk_query(person_ids))


def watched(session: Session, id_numbers: set[str]) -> set[str]:
    """Return the ID numbers among these on the watch list: an open lead, or a risk status in the files."""
    if not id_numbers:
        return set()
    known = select(Person.id).where(Person.id_number.in_(sorted(id_numbers)))
    found = session.execute(select(Person.id_number).where(Person.id.in_(_watch_list(known)))).scalars()
    return {number for number in found if number is not None}  # all are: `known` matched them by number


@functools.cache
def _watch_list_of_ids() -> Any:
    return _watch_list(bindparam("ids", expanding=True))  # built once: the passage path runs it every time


def watched_persons(session: Session, person_ids: set[int]) -> set[int]:
    """Return the person files among these on the watch list, in one query."""
    if not person_ids:
        return set()
    return set(session.connection().execute(_watch_list_of_ids(), {"ids": sorted(person_ids)}).scalars())


def person_flags(temperature_c: float | None, id_number: str | None, risk: RiskIndex, on_watch: set[str],
                 origin_level: str | None, plate_level: str | None) -> list[str]:
    flags = []
    if temperature_c is not None and temperature_c >= FEVER_C:
        flags.append("fever")
    if plate_level:
        flags.append("risk_plate")
    if id_number and risk.level_for_code(id_number[:6]):
        flags.append("risk_id")
    if origin_level:
        flags.append("risk_origin")
    if id_number and id_number in on_watch:
        flags.append("watch")
    return flags
