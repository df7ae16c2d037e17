"""Referrals to health (移交卫健): observation's table, written by checkpoints, lead verification and
follow-ups; health closes the loop by acknowledging with a handling."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.core.db import Base, UTCDateTime
from fangkong.core.i18n import N_

# What health did with a referred person: the checkpoint and the person file show it.
HANDLINGS = {"transfer_120": N_("Taken to a fever clinic by 120"), "fever_clinic": N_("Sent to a fever clinic"),
             "centralised_quarantine": N_("Centralised quarantine"), "home_observation": N_("Home observation"),
             "released_after_test": N_("Released after a negative test"), "other": N_("Other (see note)")}

if TYPE_CHECKING:
    from fangkong.checkpoints.models import PassagePerson


class Referral(Base):
    """A person handed over to health (移交卫健): at a checkpoint, or from a follow-up that found fever or
    symptoms (source "follow_up", no passage or checkpoint); the loop closes when health acknowledges."""

    __tablename__ = "referrals"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="checkpoint", server_default="checkpoint")
    passage_person_id: Mapped[int | None] = mapped_column(ForeignKey("passage_people.id", ondelete="CASCADE"),
                                                          unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reason: Mapped[str] = mapped_column(String(255))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    handling: Mapped[str | None] = mapped_column(String(32))  # what health did: see HANDLINGS
    lead_id: Mapped[int | None] = mapped_column(Integer)  # the lead whose verification referred the person

    passage_person: Mapped[PassagePerson | None] = relationship("PassagePerson")
