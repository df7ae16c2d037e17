"""Matching on a generated set with planted near-duplicates: never a wrong automatic link, and the
review queue catches most of what the automatic rules leave (the benchmark prints the full figures)."""

from __future__ import annotations

from bench.matching_data import make_files, plant
from sqlalchemy import select

from fangkong.core.db import insert_returning_ids
from fangkong.core.models import Unit
from fangkong.people.matching import link_persons
from fangkong.people.models import MatchPair, Person


def test_planted_near_duplicates_are_never_linked_to_the_wrong_file(db) -> None:  # type: ignore[no-untyped-def]
    with db.unit_of_work() as s:
        unit_id = s.execute(select(Unit.id).where(Unit.code == "620100")).scalar_one_or_none() or \
            s.execute(select(Unit.id).order_by(Unit.id)).scalars().first()
        files = make_files(3000, unit_id, seed=21)
        ids = insert_returning_ids(s, Person, files)
    planted = plant(files, 1500, unit_id, seed=22)
    with db.unit_of_work() as s:
        links = link_persons(s, [p.record for p in planted])
    wrong = [(p.kind, link.how) for p, link in zip(planted, links, strict=True)
             if link.how != "new" and (p.truth is None or link.person_id != ids[p.truth])]
    assert wrong == []
    with_truth = [(p, link) for p, link in zip(planted, links, strict=True) if p.truth is not None]
    found = sum(1 for p, link in with_truth if link.person_id == ids[p.truth] or ids[p.truth] in link.review)
    assert found / len(with_truth) > 0.9
    fuzzy = [p.kind for p, link in with_truth if link.how == "fuzzy"]
    assert {"traditional_phone", "same_name_birth_address"} <= set(fuzzy)
    with db.sessions() as s:
        queued = {(a, b) for a, b in s.execute(select(MatchPair.left_id, MatchPair.right_id))}
    review = [(min(o, link.person_id), max(o, link.person_id)) for link in links for o in link.review]
    assert review and set(review) <= queued


def test_small_batches_link_as_the_bulk_path_does(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The temporary-table blocks (bulk), the OR-ed query (SQLite, a few records) and the array statement
    (PostgreSQL, up to PG_ARRAY_BATCH records) find the same links."""
    from fangkong.people import linkage
    from fangkong.people.linkage import SMALL_BATCH, match_fuzzy

    with db.unit_of_work() as s:
        unit_id = s.execute(select(Unit.id).order_by(Unit.id)).scalars().first()
        files = make_files(2000, unit_id, seed=31)
        insert_returning_ids(s, Person, files)
    records = [p.record for p in plant(files, 200, unit_id, seed=32)]
    with db.sessions() as s:
        one_by_one = [match_fuzzy(s, [r])[0] for r in records]
        arrays = match_fuzzy(s, records)
        monkeypatch.setattr(linkage, "PG_ARRAY_BATCH", 0)
        bulk = match_fuzzy(s, records)
    assert [r.person_id for r in arrays] == [r.person_id for r in bulk]
    assert [r.review for r in arrays] == [r.review for r in bulk]
    assert len(records) > SMALL_BATCH
    assert [r.person_id for r in bulk] == [r.person_id for r in one_by_one]
    assert sum(r.person_id is not None for r in bulk) > 10
