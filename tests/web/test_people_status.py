"""Risk status and observation: who may set what, periods from the protocol profile, release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from fangkong.core.models import User
from fangkong.observation.models import Observation
from fangkong.people.models import Person


def _person(db) -> Person:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        unit_id = s.execute(select(User.unit_id).where(User.username == "station")).scalar_one()
        return s.execute(select(Person).where(Person.unit_id == unit_id).limit(1)).unique().scalar_one()


def _set(personas, role: str, person_id: int, **body):  # type: ignore[no-untyped-def]
    return personas.browser(role).post(f"/api/v1/persons/{person_id}/status", json=body,
                                       headers=personas.headers(role))


def test_close_contact_opens_the_edition_9_observation_from_the_last_exposure(personas, db) -> None:
    person = _person(db)
    exposure = datetime(2022, 7, 1, 10, 0, tzinfo=UTC)
    r = _set(personas, "station", person.id, status="close_contact", reason="流调判定密接",
             evidence="同车厢 G1234", last_exposure=exposure.isoformat(), place="皋兰县隔离酒店")
    assert r.status_code == 200, r.text
    obs = r.json()["observation"]
    assert obs["kind"] == "centralised_quarantine" and obs["profile"] == "edition-9"
    assert datetime.fromisoformat(obs["planned_end"]) == exposure + timedelta(days=7)
    assert datetime.fromisoformat(obs["home_monitoring_until"]) == exposure + timedelta(days=10)
    assert obs["test_days"] == "1,2,3,5,7"


def test_only_health_confirms_and_a_case_is_never_downgraded(personas, db) -> None:
    person = _person(db)
    refused = _set(personas, "station", person.id, status="confirmed", reason="核酸阳性")
    assert refused.status_code == 403
    assert _set(personas, "health", person.id, status="confirmed", reason="核酸阳性").status_code == 200
    down = _set(personas, "command", person.id, status="close_contact", reason="误操作测试")
    assert down.status_code == 422 and down.json()["errors"][0]["field"] == "status"
    history = personas.browser("health").get(f"/api/v1/persons/{person.id}/status",
                                             headers=personas.headers("health")).json()["history"]
    assert [h["status"] for h in history] == ["confirmed"]


def test_release_is_refused_before_the_period_ends_and_allowed_after(personas, db) -> None:
    person = _person(db)
    _set(personas, "station", person.id, status="secondary_contact", reason="密接的密接")
    early = personas.browser("health").post(f"/api/v1/persons/{person.id}/release", json={},
                                            headers=personas.headers("health"))
    assert early.status_code == 422 and "尚未" in early.json()["errors"][0]["message"]
    with db.sessions() as s, s.begin():
        s.execute(update(Observation).where(Observation.person_id == person.id)
                  .values(planned_end=datetime.now(UTC) - timedelta(hours=1)))
    done = personas.browser("health").post(f"/api/v1/persons/{person.id}/release", json={"reason": "期满无症状"},
                                           headers=personas.headers("health"))
    assert done.status_code == 200 and done.json()["current"]["status"] == "released"
    assert done.json()["observation"] is None


def test_a_person_under_a_risk_status_is_flagged_at_the_checkpoint(personas, db) -> None:
    from fangkong.checkpoints.models import Checkpoint

    person = _person(db)
    _set(personas, "station", person.id, status="close_contact", reason="流调判定密接")
    with db.sessions() as s:
        cp = s.execute(select(Checkpoint.id).limit(1)).scalar_one()
    r = personas.browser("checkpoint").post(
        f"/api/v1/checkpoints/{cp}/passages/check", headers=personas.headers("checkpoint"),
        json={"client_id": "x", "people": [{"name": person.name, "id_number": person.id_number,
                                            "temperature_c": 36.5}]})
    assert "watch" in r.json()["people"][0]["flags"]


def test_status_form_on_the_person_page(personas, db) -> None:
    from tests.support import csrf

    person = _person(db)
    c = personas.browser("station")
    r = c.post(f"/people/{person.id}/status", data={"csrf_token": csrf(c), "status": "arrival_high",
                                                   "reason": "武汉来兰", "last_exposure": "2022-07-01"},
               follow_redirects=False)
    assert r.status_code == 303
    page = c.get(f"/people/{person.id}").text
    assert "高风险地区来返" in page and "集中隔离" in page
    bad = c.post(f"/people/{person.id}/status", data={"csrf_token": csrf(c), "status": "close_contact",
                                                     "reason": "", "last_exposure": "2099-01-01"})
    assert bad.status_code == 422


def test_release_list_counts_and_one_action_release(personas, db) -> None:
    from tests.support import csrf

    person = _person(db)
    _set(personas, "station", person.id, status="close_contact", reason="流调判定密接")
    overview = personas.browser("command").get("/people/status").text
    assert "城关分局" in overview and "密切接触者" in overview
    with db.sessions() as s, s.begin():
        past = datetime.now(UTC) - timedelta(minutes=5)
        s.execute(update(Observation).values(planned_end=past, home_monitoring_until=past))
    c = personas.browser("health")
    assert person.name in c.get("/people/status").text
    r = c.post("/people/status/release", data={"csrf_token": csrf(c), "reason": "观察期满无症状"},
               follow_redirects=False)
    assert r.status_code == 303
    current = c.get(f"/api/v1/persons/{person.id}/status", headers=personas.headers("health")).json()["current"]
    assert current["status"] == "released"
