"""Input bounds (issue 17, finding 6): every time accepted is aware and plausible; nothing answers 500.

The rule (core.clock): a time without an offset is Asia/Shanghai time; events lie between
FANGKONG_EARLIEST_EVENT (2019-12-01) and one day ahead of now; anything else is a 422 naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.support import Personas


def _first(db, stmt):  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(stmt.limit(1)).scalar_one()


def _checkpoint(db) -> int:  # type: ignore[no-untyped-def]
    from fangkong.checkpoints.models import Checkpoint

    return _first(db, select(Checkpoint.id).order_by(Checkpoint.id))


def _passage(checkpoint: int, at: str) -> dict[str, object]:
    return {"client_id": f"bounds-{at}", "plate": "甘A12345", "at": at,
            "people": [{"name": "边界", "id_number": "11010519491231002X", "temperature_c": 36.5,
                        "disposition": "passed", "role": "driver"}]}


@pytest.mark.parametrize("at", ["9999-12-31T00:00:00+08:00", "0001-01-01T00:00:00+00:00", "2019-01-01T00:00:00"])
def test_a_passage_dated_outside_the_outbreak_is_refused_with_the_field_named(personas: Personas, db, at) -> None:
    cp = _checkpoint(db)
    r = personas.browser("checkpoint").post(f"/api/v1/checkpoints/{cp}/passages", json=_passage(cp, at),
                                            headers=personas.headers("checkpoint"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["at"]
    assert "2019-12-01" in r.json()["errors"][0]["message"]


def test_a_naive_passage_time_is_local_time(personas: Personas, db) -> None:
    cp = _checkpoint(db)
    r = personas.browser("checkpoint").post(f"/api/v1/checkpoints/{cp}/passages",
                                            json=_passage(cp, "2022-03-01T08:00:00"),
                                            headers=personas.headers("checkpoint"))
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["at"]).astimezone(UTC) == datetime(2022, 3, 1, 0, 0, tzinfo=UTC)


def test_pages_of_a_checkpoint_and_a_person_survive_a_stored_passage_in_9999(personas: Personas, db) -> None:
    """Bad data already stored (before this fix, or written around the API) must not break any page."""
    cp = _checkpoint(db)
    made = personas.browser("checkpoint").post(f"/api/v1/checkpoints/{cp}/passages",
                                               json=_passage(cp, "2022-03-01T08:00:00+08:00"),
                                               headers=personas.headers("checkpoint")).json()
    from fangkong.checkpoints.models import Passage

    with db.engine.begin() as conn:
        conn.execute(Passage.__table__.update().where(Passage.__table__.c.id == made["id"])
                     .values(at=datetime(9999, 12, 31, 23, 0, tzinfo=UTC)))  # local time: year 10000
    person = made["people"][0]["person_id"]
    checkpoint_pages = [f"/checkpoints/{cp}", "/checkpoints", f"/passages/{made['id']}"]
    for path in checkpoint_pages:
        r = personas.browser("checkpoint").get(path)
        assert r.status_code < 500, (path, r.status_code)
    for path in (f"/people/{person}", f"/api/v1/persons/{person}", "/command", f"/tracing/cases/{person}"):
        who = "health" if path.startswith("/tracing") else "command"
        r = personas.browser(who).get(path, headers=personas.headers(who) if path.startswith("/api/") else None)
        assert r.status_code < 500, (path, r.status_code)
    for path in (f"/api/v1/checkpoints/{cp}/flows", f"/api/v1/checkpoints/{cp}/lanes"):
        r = personas.browser("checkpoint").get(path, headers=personas.headers("checkpoint"))
        assert r.status_code < 500, (path, r.status_code)


def test_audit_api_takes_a_naive_since_as_local_time(personas: Personas) -> None:
    r = personas.browser("auditor").get("/api/v1/audit", params={"since": "2020-01-01T00:00:00"},
                                        headers=personas.headers("auditor"))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("since", ["0001-01-01", "9999-12-31"])
def test_audit_page_refuses_an_impossible_day_without_crashing(personas: Personas, since) -> None:
    r = personas.browser("auditor").get("/audit", params={"since": since})
    assert r.status_code == 422


@pytest.mark.parametrize("params", [{"since": "0001-01-01T00:00:00Z"}, {"until": "9999-12-31T23:59:59+08:00"}])
def test_audit_api_refuses_extreme_times(personas: Personas, params) -> None:
    r = personas.browser("auditor").get("/api/v1/audit", params=params, headers=personas.headers("auditor"))
    assert r.status_code == 422, r.text


def _person(db) -> int:  # type: ignore[no-untyped-def]
    from fangkong.people.models import Person

    return _first(db, select(Person.id).order_by(Person.id))


@pytest.mark.parametrize("body", [{"onset": "2022-03-01T08:00:00"},
                                  {"onset": "2022-03-01T08:00:00", "isolated": "2022-03-03T08:00:00"}])
def test_tracing_takes_naive_onset_and_isolated_as_local_time(personas: Personas, db, body) -> None:
    person = _person(db)
    r = personas.browser("health").post(f"/api/v1/tracing/cases/{person}/trace", json=body,
                                        headers=personas.headers("health"))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("body", [{"onset": "9999-12-31T00:00:00+08:00"}, {"onset": "0001-01-01T00:00:00"},
                                  {"onset": "2022-03-01T08:00:00+08:00", "isolated": "9999-01-01T00:00:00Z"}])
def test_tracing_refuses_extreme_times(personas: Personas, db, body) -> None:
    r = personas.browser("health").post(f"/api/v1/tracing/cases/{_person(db)}/trace", json=body,
                                        headers=personas.headers("health"))
    assert r.status_code == 422, r.text


def test_inspection_counts_refuse_until_9999(personas: Personas) -> None:
    r = personas.browser("command").get("/api/v1/venue-inspections/counts", params={"until": "9999-12-31"},
                                        headers=personas.headers("command"))
    assert r.status_code == 422, r.text


def test_visits_of_day_9999_is_a_422_on_page_and_api(personas: Personas, db) -> None:
    from fangkong.registration.venues.models import Venue

    venue = _first(db, select(Venue.id).order_by(Venue.id))
    page = personas.browser("command").get(f"/venues/{venue}/visits", params={"day": "9999-12-31"})
    api = personas.browser("command").get(f"/api/v1/venues/{venue}/visits", params={"day": "9999-12-31"},
                                          headers=personas.headers("command"))
    assert (page.status_code, api.status_code) == (422, 422), (page.text[:300], api.text)


def test_lead_pushed_in_year_one_is_refused(personas: Personas) -> None:
    body = {"name": "边界线索", "phone": "13800000009", "current_address": "兰州市城关区", "source": "边界",
            "pushed_at": "0001-01-01T00:00:00"}
    r = personas.browser("command").post("/api/v1/leads", json=body, headers=personas.headers("command"))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["pushed_at"]
