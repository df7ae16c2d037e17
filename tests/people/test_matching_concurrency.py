"""Two transactions linking the same new person at once open one file, not two (PostgreSQL; SQLite
serialises writers with BEGIN IMMEDIATE)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from fangkong.core.models import Unit
from fangkong.people.matching import IncomingRecord, Link, link_persons
from fangkong.people.models import Person

RECORDS = {
    "phone_name": IncomingRecord(name="司马相如", id_number=None, phone="13912345678", address=None, unit_id=0),
    "id_number": IncomingRecord(name="司马相如", id_number="11010519491231002X", phone=None, address=None, unit_id=0),
    "document": IncomingRecord(name="JOHN SMITH", id_number=None, phone=None, address=None, unit_id=0,
                               doc_type="passport", doc_number="E12345678"),
}


@pytest.mark.parametrize("how", sorted(RECORDS))
def test_a_second_transaction_waits_and_links_the_file_the_first_opened(db, backend, how) -> None:  # type: ignore[no-untyped-def]
    if backend.name != "postgresql":
        pytest.skip("SQLite serialises writers: there is no concurrent transaction to race")
    with db.sessions() as s:
        unit_id = s.execute(select(Unit.id).order_by(Unit.id)).scalars().first()
    record = IncomingRecord(**{**RECORDS[how].__dict__, "unit_id": unit_id})
    first_linked, release = threading.Event(), threading.Event()
    results: dict[str, Link] = {}

    def first() -> None:
        with db.unit_of_work() as s:
            results["first"] = link_persons(s, [record])[0]
            first_linked.set()
            release.wait(10)

    def second() -> None:
        with db.unit_of_work() as s:
            results["second"] = link_persons(s, [record])[0]

    a = threading.Thread(target=first)
    a.start()
    assert first_linked.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)
    assert b.is_alive(), "the second transaction must wait for the first's new file"
    release.set()
    a.join(10)
    b.join(10)
    assert results["first"].how == "new"
    assert results["second"] == Link(results["first"].person_id, how)
    with db.sessions() as s:
        count = s.execute(select(func.count()).select_from(Person).where(Person.name == record.name)).scalar_one()
    assert count == 1


def test_a_big_batch_of_new_people_fits_the_lock_table(db, backend) -> None:  # type: ignore[no-untyped-def]
    """A sheet of 40,000 strangers took a lock per identity and ran PostgreSQL out of shared memory
    (max_locks_per_transaction); identities now share a bounded number of locks."""
    if backend.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    from sqlalchemy import select

    from fangkong.core.models import Unit
    from fangkong.people.matching import IncomingRecord, link_persons

    with db.sessions() as s:
        unit = s.execute(select(Unit.id).where(Unit.kind == "station").limit(1)).scalar_one()
    records = [IncomingRecord(name=f"新人{i}", id_number=None, phone=f"166{i:08d}", address=None, unit_id=unit)
               for i in range(40_000)]
    with db.unit_of_work() as s:
        links = link_persons(s, records)
    assert len({link.person_id for link in links}) == 40_000 and {link.how for link in links} == {"new"}
