"""The review queue: pairs of files that may be one person, side by side (masked), for an officer to
accept (merge) or reject (never asked again). A pair is visible when both files are in the jurisdiction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from fangkong.core import audit
from fangkong.core.access import PERSON_MERGE, require, visible_unit_ids
from fangkong.core.db import rowcount, utcnow
from fangkong.core.errors import Conflict, NotFound
from fangkong.core.i18n import N_
from fangkong.core.models import User
from fangkong.core.paging import Page, paginate
from fangkong.people.merging import merge_persons
from fangkong.people.models import MatchPair, Person, PersonMerge
from fangkong.people.service import PersonView

DECIDED = N_("This pair has been decided already.")
REASON_LABELS = {  # msgids, translated where shown
    "name_exact": N_("same name"),
    "name_pinyin": N_("same name in pinyin"),
    "name_close": N_("similar name"),
    "birth_exact": N_("same birth date"),
    "birth_near": N_("birth date one digit off"),
    "address_same": N_("same address"),
    "address_close": N_("similar address"),
    "address_other": N_("different address"),
    "phone_same": N_("same phone"),
    "phone_near": N_("phone one digit off"),
    "phone_other": N_("different phone"),
    "unmerged": N_("merge undone"),
}


@dataclass(frozen=True)
class PairView:
    id: int
    score: float
    reasons: list[str]
    status: str
    created_at: datetime
    left: PersonView  # the older file: it survives an accepted merge
    right: PersonView


def _pending_visible(user: User):
    left, right = aliased(Person), aliased(Person)
    units = visible_unit_ids(user)
    return (select(MatchPair).join(left, left.id == MatchPair.left_id).join(right, right.id == MatchPair.right_id)
            .where(MatchPair.status == "pending", left.unit_id.in_(units), right.unit_id.in_(units)))


def review_queue(session: Session, user: User, page: int = 1, page_size: int = 50) -> Page[PairView]:
    """Return pending pairs within the jurisdiction, most alike first (numbers masked); the read is audited."""
    require(user, PERSON_MERGE)
    found = paginate(session, _pending_visible(user).order_by(MatchPair.score.desc(), MatchPair.id), page, page_size)
    ids = {pid for pair in found.rows for pid in (pair.left_id, pair.right_id)}
    persons = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(ids))).unique().scalars()}
    views = [_view(pair, persons[pair.left_id], persons[pair.right_id]) for pair in found.rows]
    audit.record(session, "list", "person_match_pairs", None, page=found.page, shown=len(views),
                 persons=sorted(ids))
    return Page(views, found.total, found.page, found.page_size)


def _view(pair: MatchPair, left: Person, right: Person) -> PairView:
    return PairView(pair.id, pair.score, [r for r in pair.reasons.split(",") if r], pair.status, pair.created_at,
                    PersonView.of(left), PersonView.of(right))


def _visible_pair(session: Session, user: User, pair_id: int) -> MatchPair:
    require(user, PERSON_MERGE)
    pair = session.execute(_pending_visible(user).where(MatchPair.id == pair_id).execution_options(
        populate_existing=True)).scalar_one_or_none()
    if pair is not None:
        return pair
    exists = session.get(MatchPair, pair_id)
    if exists is not None and exists.status != "pending" and _both_visible(session, user, exists):
        raise Conflict(DECIDED)
    raise NotFound()


def _both_visible(session: Session, user: User, pair: MatchPair) -> bool:
    units = visible_unit_ids(user)
    found = session.execute(select(Person.id).where(Person.id.in_((pair.left_id, pair.right_id)),
                                                    Person.unit_id.in_(units))).all()
    return len(found) == 2


def _decide(session: Session, user: User, pair: MatchPair, status: str) -> None:
    changed = rowcount(session.execute(update(MatchPair).where(MatchPair.id == pair.id, MatchPair.status == "pending")
                                       .values(status=status, decided_at=utcnow(), decided_by=user.display_name)))
    if changed != 1:
        raise Conflict(DECIDED)


def accept_pair(session: Session, user: User, pair_id: int, reason: str) -> PersonMerge:
    """Merge the newer file of the pair into the older one."""
    pair = _visible_pair(session, user, pair_id)
    left, right = pair.left_id, pair.right_id
    _decide(session, user, pair, "merged")
    return merge_persons(session, user, left, right, reason, pair_id=pair_id)


def reject_pair(session: Session, user: User, pair_id: int) -> None:
    """Record that the two files are different people; the pair is never proposed again."""
    pair = _visible_pair(session, user, pair_id)
    _decide(session, user, pair, "rejected")
    audit.record(session, "reject_pair", "person_match_pairs", pair.id, left_id=pair.left_id,
                 right_id=pair.right_id)
