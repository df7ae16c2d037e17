"""Checkpoints' daily figures (卡口: vehicles and persons checked, fever, referred, turned back), per unit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import Checkpoint, Passage, PassagePerson
from fangkong.core.capability import DayWindow, Figure, FigureKind
from fangkong.core.i18n import N_
from fangkong.core.protocol import FEVER_C

KINDS = (
    FigureKind("checkpoints.vehicles", N_("Vehicles checked"), N_("vehicles")),
    FigureKind("checkpoints.persons", N_("Persons checked"), N_("persons")),
    FigureKind("checkpoints.fever", N_("Fever at checkpoints"), N_("persons"), incident=True),
    FigureKind("checkpoints.referred", N_("Referred to health at checkpoints"), N_("persons"), incident=True),
    FigureKind("checkpoints.turned_back", N_("Turned back"), N_("persons")),
)


def daily_figures(session: Session, window: DayWindow) -> Iterable[Figure]:
    """Return the day's counts per checkpoint's unit: two grouped queries over the day's passages."""
    in_day = (Passage.at >= window.start, Passage.at < window.end)
    vehicles = session.execute(
        select(Checkpoint.unit_id, func.count(Passage.id)).join(Checkpoint, Checkpoint.id == Passage.checkpoint_id)
        .where(*in_day, Passage.plate.is_not(None)).group_by(Checkpoint.unit_id)).all()
    for unit_id, n in vehicles:
        yield unit_id, "checkpoints.vehicles", n
    people = session.execute(
        select(Checkpoint.unit_id, func.count(PassagePerson.id),
               func.sum(case((PassagePerson.temperature_c >= FEVER_C, 1), else_=0)),
               func.sum(case((PassagePerson.disposition == "referred", 1), else_=0)),
               func.sum(case((PassagePerson.disposition == "turned_back", 1), else_=0)))
        .join(Passage, Passage.id == PassagePerson.passage_id)
        .join(Checkpoint, Checkpoint.id == Passage.checkpoint_id)
        .where(*in_day).group_by(Checkpoint.unit_id)).all()
    for unit_id, persons, fever, referred, turned_back in people:
        yield unit_id, "checkpoints.persons", persons
        yield unit_id, "checkpoints.fever", int(fever or 0)
        yield unit_id, "checkpoints.referred", int(referred or 0)
        yield unit_id, "checkpoints.turned_back", int(turned_back or 0)
