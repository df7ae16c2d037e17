"""Person files (一人一档): one row per person, whatever source first met them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from fangkong.core.db import Base, UTCDateTime, utcnow
from fangkong.core.i18n import N_
from fangkong.core.models import Unit
from fangkong.people.folding import name_key, surname_key


def _key_of(fn):
    """Column default computing a matching key from the row's name, for ORM and Core inserts alike."""
    return lambda context: fn(context.get_current_parameters().get("name"))


class Person(Base):
    __tablename__ = "persons"
    __audited__ = True
    # Personal fields are masked in audit snapshots: the audit log records that they changed, not to what.
    __audit_masked__ = ("name", "id_number", "doc_number", "phone", "birth_date", "current_address",
                        "household_address", "name_key", "surname_key")
    __table_args__ = (UniqueConstraint("doc_type", "doc_number", name="uq_persons_document"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)  # normalised GB 11643 number
    doc_type: Mapped[str | None] = mapped_column(String(32))  # for non-residents (passport, permits …)
    doc_number: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(11), index=True)
    sex: Mapped[str | None] = mapped_column(String(1))  # "M" / "F"
    birth_date: Mapped[date | None] = mapped_column(Date)
    current_address: Mapped[str | None] = mapped_column(String(255))
    household_address: Mapped[str | None] = mapped_column(String(255))
    area_code: Mapped[str | None] = mapped_column(String(6))  # county-level code of the current address
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # jurisdiction
    # Made from a lead or registration and not yet seen by an officer.
    unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    # Blocking keys for record linkage (people.matching), derived from the name on every insert.
    name_key: Mapped[str | None] = mapped_column(String(64), default=_key_of(name_key))
    surname_key: Mapped[str | None] = mapped_column(String(16), default=_key_of(surname_key))

    unit: Mapped[Unit] = relationship(lazy="joined")

    @validates("name")
    def _rekey(self, _key: str, value: str) -> str:
        self.name_key, self.surname_key = name_key(value), surname_key(value)
        return value


# A person file's risk status: what each one is called (observation.status owns the rules that change it).
STATUSES = {
    "confirmed": N_("Confirmed case"), "asymptomatic": N_("Asymptomatic infection"), "suspected": N_("Suspected case"),
    "close_contact": N_("Close contact"), "secondary_contact": N_("Secondary contact"),
    "arrival_high": N_("Arrival from a high-risk area"), "arrival_medium": N_("Arrival from a medium-risk area"),
    "fever_referral": N_("Fever referral"), "released": N_("Released"),
}
CASES = {"confirmed", "asymptomatic"}


class RiskStatus(Base):
    """One period of a person's risk status; the current one has no `ended_at`. History is never rewritten."""

    __tablename__ = "risk_statuses"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    set_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[str | None] = mapped_column(String(500))



# Record linkage blocks (people.linkage): pinyin name with birth date, birth date with surname's pinyin.
Index("ix_persons_name_key_birth_date", Person.name_key, Person.birth_date)
Index("ix_persons_birth_date_surname_key", Person.birth_date, Person.surname_key)


class MatchPair(Base):
    """Two person files that may be one person, for an officer to decide (review queue).

    `left_id` is the older file, `right_id` the newer. Plain ids, not foreign keys: a merge deletes the
    merged file and must not drag these rows along (see people.merging).
    """

    __tablename__ = "person_match_pairs"
    __audited__ = True
    __table_args__ = (UniqueConstraint("left_id", "right_id", name="uq_person_match_pairs_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    left_id: Mapped[int] = mapped_column(Integer, index=True)
    right_id: Mapped[int] = mapped_column(Integer, index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(String(255), default="")  # comma-separated rule names
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending|merged|rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))


class PersonMerge(Base):
    """One merge of a person file into another, with exactly what moved, so that un-merge restores it.

    `merged_row` is the merged file as it was (it is deleted); `survivor_before` the survivor's fields
    the merge filled in; `moves` maps "table.column" to the primary keys of the rows re-pointed.
    """

    __tablename__ = "person_merges"
    __audited__ = True
    __audit_hidden__ = ("merged_row", "survivor_before")  # personal data: the audit log says what, not whose

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(Integer, index=True)
    merged_id: Mapped[int] = mapped_column(Integer, index=True)
    pair_id: Mapped[int | None] = mapped_column(Integer)
    merged_row: Mapped[str] = mapped_column(Text)
    survivor_before: Mapped[str] = mapped_column(Text, default="{}")
    moves: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(String(500))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    merged_by: Mapped[str] = mapped_column(String(100))
    unmerged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unmerged_by: Mapped[str | None] = mapped_column(String(100))
    unmerge_reason: Mapped[str | None] = mapped_column(String(500))
