"""Checkpoints' Excel export: one local day of passages, one row per person checked, for a checkpoint
or every checkpoint the user sees (the checkpoint page's "export the day")."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from fangkong.checkpoints.flags import FLAG_LABELS
from fangkong.checkpoints.models import Checkpoint, Passage, PassagePerson
from fangkong.checkpoints.service import DISPOSITIONS, ROLES, visible_checkpoints
from fangkong.core.access import CHECKPOINT_READ
from fangkong.core.capability import DayWindow
from fangkong.core.clock import BAD_DATE, local_naive, local_today
from fangkong.core.codes import mask_id_number
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.exports import ExportSpec
from fangkong.core.i18n import N_, gettext
from fangkong.core.models import User
from fangkong.core.web.params import optional_id


def _query(user: User, params: Mapping[str, str]) -> Select[*tuple[Any, ...]]:
    text = params.get("day", "").strip()
    try:
        day = date.fromisoformat(text) if text else local_today()
    except ValueError:
        raise ValidationFailed([FieldError("day", BAD_DATE)]) from None
    window = DayWindow(day)
    seen = visible_checkpoints(user).with_only_columns(Checkpoint.id)
    checkpoint_id = optional_id("checkpoint_id", params.get("checkpoint_id", ""))
    if checkpoint_id is not None:
        seen = seen.where(Checkpoint.id == checkpoint_id)
    return (select(Passage.at, Checkpoint.name, Passage.lane, Passage.plate, Passage.origin, Passage.destination,
                   PassagePerson.role, PassagePerson.name, PassagePerson.id_number, PassagePerson.doc_number,
                   PassagePerson.temperature_c, PassagePerson.disposition, PassagePerson.flags,
                   PassagePerson.override_reason)
            .join(Passage, Passage.id == PassagePerson.passage_id)
            .join(Checkpoint, Checkpoint.id == Passage.checkpoint_id)
            .where(Passage.checkpoint_id.in_(seen.scalar_subquery()), Passage.at >= window.start,
                   Passage.at < window.end))


def _count(session: Session, user: User, params: Mapping[str, str]) -> int:
    return int(session.execute(_query(user, params).with_only_columns(func.count(PassagePerson.id))).scalar_one())


def _flags(text: str) -> str:
    return "、".join(gettext(FLAG_LABELS[f]) if f in FLAG_LABELS else f for f in text.split(",") if f)


def _rows(session: Session, user: User, params: Mapping[str, str], reveal: bool) -> Iterator[list[Any]]:
    stmt = _query(user, params).order_by(Passage.at, Passage.id, PassagePerson.id)
    for (at, checkpoint, lane, plate, origin, destination, role, name, id_number, doc, temperature, disposition,
         flags, override) in session.execute(stmt.execution_options(yield_per=2000)):
        ident = id_number or doc or ""
        yield [local_naive(at), checkpoint, lane, plate or "", origin or "", destination or "",
               gettext(ROLES.get(role, role)), name, ident if reveal else mask_id_number(ident) if ident else "",
               temperature, gettext(DISPOSITIONS.get(disposition, disposition)), _flags(flags), override or ""]


PASSAGES = ExportSpec(
    key="checkpoints.passages", title=N_("Passages"), permission=CHECKPOINT_READ,
    columns=(N_("Time"), N_("Checkpoint"), N_("Lane"), N_("Plate"), N_("Origin"), N_("Destination"), N_("Role"),
             N_("Name"), N_("ID number"), N_("Temperature (°C)"), N_("Disposition"), N_("Flags"),
             N_("Reason for not referring")),
    params=("day", "checkpoint_id"), count=_count, rows=_rows, revealable=True)

EXPORTS = (PASSAGES,)
