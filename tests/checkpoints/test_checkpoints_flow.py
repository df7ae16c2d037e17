"""Checkpoints through the API and pages: flags, idempotency, validation, files, referrals, flows."""

from __future__ import annotations

from sqlalchemy import select

from fangkong.checkpoints.models import Checkpoint, Passage
from fangkong.core.audit import AuditEntry
from fangkong.core.codes import check_character
from fangkong.people.models import Person
from tests.support import csrf

WUHAN_ID = "42010619800101001" + check_character("42010619800101001")


def _checkpoint(db) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()


def _post(personas, checkpoint: int, body: dict, path: str = "passages"):  # type: ignore[no-untyped-def]
    return personas.browser("checkpoint").post(f"/api/v1/checkpoints/{checkpoint}/{path}", json=body,
                                               headers=personas.headers("checkpoint"))


def _person(name: str, id_number: str, temperature: float, disposition: str = "passed", role: str = "passenger"):
    return {"name": name, "id_number": id_number, "temperature_c": temperature, "disposition": disposition,
            "role": role, "override_reason": "核实后放行" if disposition == "passed" else ""}


def test_plate_id_and_origin_flags_appear_before_saving(personas, db) -> None:
    cp = _checkpoint(db)
    body = {"client_id": "c-1", "plate": "鄂a12345", "origin": "武汉", "people": [
        _person("司机", WUHAN_ID, 37.5, role="driver"), _person("乘客", "11010519491231002X", 36.5)]}
    r = _post(personas, cp, body, "passages/check")
    assert r.status_code == 200, r.text
    checked = r.json()
    assert checked["plate"] == "鄂A12345" and checked["plate_region"] == "湖北省武汉市"
    assert checked["plate_risk"] == "high" and checked["origin_risk"] == "high"
    driver, passenger = checked["people"]
    assert {"fever", "risk_plate", "risk_id", "risk_origin"} <= set(driver["flags"])
    assert "fever" not in passenger["flags"] and "risk_id" not in passenger["flags"]
    assert driver["birth_date"] == "1980-01-01" and driver["origin_area"].startswith("湖北省武汉市")
    with db.sessions() as s:
        assert s.query(Passage).count() == 0


def test_person_with_an_open_lead_is_on_the_watch_list(personas, db) -> None:
    personas.browser("command").post("/api/v1/leads/batches", headers=personas.headers("command"), json={
        "source": "省指挥部", "leads": [{"name": "被查人", "id_number": WUHAN_ID, "current_address": "不详"}]})
    r = _post(personas, _checkpoint(db), {"client_id": "w-1", "people": [_person("被查人", WUHAN_ID, 36.4)]},
              "passages/check")
    assert "watch" in r.json()["people"][0]["flags"]


def test_a_retried_passage_is_stored_once(personas, db) -> None:
    cp = _checkpoint(db)
    body = {"client_id": "dev-7-000123", "plate": "甘A12345", "people": [_person("张三", "11010519491231002X", 36.5)]}
    first = _post(personas, cp, body)
    again = _post(personas, cp, body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    with db.sessions() as s:
        assert s.query(Passage).filter(Passage.client_id == "dev-7-000123").count() == 1


def test_every_person_checked_gets_a_file_linked_by_id_number(personas, db) -> None:
    cp = _checkpoint(db)
    with db.sessions() as s:
        known = s.execute(select(Person).limit(1)).unique().scalar_one()
    body = {"client_id": "f-1", "plate": "甘A54321", "people": [
        _person(known.name, known.id_number, 36.6, role="driver"),
        {"name": "John Smith", "doc_type": "passport", "doc_number": "e1234567", "temperature_c": 36.2,
         "disposition": "passed", "role": "passenger"}]}
    r = _post(personas, cp, body)
    assert r.status_code == 201, r.text
    people = r.json()["people"]
    assert people[0]["person_id"] == known.id
    with db.sessions() as s:
        foreigner = s.get(Person, people[1]["person_id"])
    assert foreigner.doc_type == "passport" and foreigner.doc_number == "E1234567" and foreigner.unconfirmed


def test_bad_input_names_each_field_and_saves_nothing(personas, db) -> None:
    body = {"client_id": "bad-1", "plate": "XX12345", "people": [
        _person("", "110105194912310021", 45.0), _person("李四", "11010519491231002X", 36.5, disposition="maybe")]}
    r = _post(personas, _checkpoint(db), body)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"plate", "people.0.name", "people.0.id_number", "people.0.temperature_c",
                      "people.1.disposition"}
    with db.sessions() as s:
        assert s.query(Passage).count() == 0


def test_referral_reaches_health_and_the_checkpoint_sees_the_loop_close(personas, db) -> None:
    cp = _checkpoint(db)
    _post(personas, cp, {"client_id": "ref-1", "plate": "甘A11111", "people": [
        _person("发热者", "11010519491231002X", 38.1, disposition="referred", role="driver")]})
    waiting = personas.browser("health").get("/api/v1/referrals", headers=personas.headers("health")).json()
    assert [r["name"] for r in waiting] == ["发热者"] and waiting[0]["acknowledged_at"] is None
    ack = personas.browser("health").post(f"/api/v1/referrals/{waiting[0]['id']}/acknowledge", json={"note": "已接收"},
                                          headers=personas.headers("health"))
    assert ack.status_code == 200 and ack.json()["acknowledged_by"]
    twice = personas.browser("health").post(f"/api/v1/referrals/{waiting[0]['id']}/acknowledge", json={},
                                            headers=personas.headers("health"))
    assert twice.status_code == 409
    seen = personas.browser("checkpoint").get("/api/v1/referrals", params={"open_only": False},
                                              headers=personas.headers("checkpoint")).json()
    assert seen[0]["acknowledged_at"] is not None


def test_flows_count_vehicles_persons_flags_and_dispositions(personas, db) -> None:
    cp = _checkpoint(db)
    _post(personas, cp, {"client_id": "fl-1", "plate": "鄂A12345", "people": [
        _person("甲", WUHAN_ID, 36.5, role="driver"), _person("乙", "11010519491231002X", 36.6, "turned_back")]})
    flows = personas.browser("command").get(f"/api/v1/checkpoints/{cp}/flows", params={"hours": 2},
                                            headers=personas.headers("command")).json()
    now = flows[-1]
    assert (now["vehicles"], now["persons"], now["turned_back"]) == (1, 2, 1)
    assert now["flagged"] == 2  # both came in a vehicle from a city with a high-risk area
    lanes = personas.browser("checkpoint").get(f"/api/v1/checkpoints/{cp}/lanes",
                                               headers=personas.headers("checkpoint")).json()
    assert lanes["recommended"] == 1 and lanes["arrivals_per_hour"] == 1


def test_officer_sees_only_the_checkpoints_posted_to(personas, db) -> None:
    made = personas.browser("admin").post("/api/v1/checkpoints", headers=personas.headers("admin"), json={
        "name": "临时卡点", "kind": "temporary_post", "unit_id": 1, "lanes": 1})
    assert made.status_code == 201, made.text
    listed = personas.browser("checkpoint").get("/api/v1/checkpoints", headers=personas.headers("checkpoint")).json()
    assert made.json()["id"] not in {c["id"] for c in listed}
    refused = _post(personas, made.json()["id"], {"client_id": "x", "people": [_person("甲", WUHAN_ID, 36.5)]})
    assert refused.status_code == 404


def test_the_tablet_form_saves_a_passage_and_corrections_are_audited(personas, db) -> None:
    cp = _checkpoint(db)
    c = personas.browser("checkpoint")
    page = c.get(f"/checkpoints/{cp}")
    assert page.status_code == 200 and "柳沟河检查站" in page.text
    form = {"csrf_token": csrf(c), "client_id": "form-1", "plate": "甘A12345", "origin": "兰州",
            "people.0.name": "王五", "people.0.id_number": "11010519491231002x", "people.0.temperature_c": "36.5",
            "people.0.disposition": "passed", "people.0.role": "driver"}
    fragment = c.post(f"/checkpoints/{cp}/check", data=form)
    assert "甘肃省兰州市" in fragment.text and "1949-12-31" in fragment.text
    saved = c.post(f"/checkpoints/{cp}/passages", data=form, follow_redirects=False)
    assert saved.status_code == 303
    with db.sessions() as s:
        passage = s.execute(select(Passage).where(Passage.client_id == "form-1")).scalar_one()
    assert "王五" in c.get(f"/checkpoints/{cp}").text
    fixed = c.post(f"/passages/{passage.id}", data={**form, "people.0.temperature_c": "37.6",
                                                    "override_reason": "复测体温正常"}, follow_redirects=False)
    assert fixed.status_code == 303
    with db.sessions() as s:
        passage = s.get(Passage, passage.id)
        assert passage.corrected_at is not None and passage.people[0].flags == "fever"
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "correct")).first() is not None
    bad = c.post(f"/checkpoints/{cp}/passages", data={**form, "client_id": "form-2", "people.0.temperature_c": "50"})
    assert bad.status_code == 422 and "体温" in bad.text
    bad_fix = c.post(f"/passages/{passage.id}", data={**form, "people.0.temperature_c": "50"})
    assert bad_fix.status_code == 422 and "体温" in bad_fix.text and "王五" in bad_fix.text


def test_the_person_file_shows_passages_leads_and_household(personas, db) -> None:
    cp = _checkpoint(db)
    with db.sessions() as s:
        known = s.execute(select(Person).where(Person.household_address.is_not(None)).limit(1)).unique().scalar_one()
        others = s.query(Person).filter(Person.household_address == known.household_address,
                                        Person.id != known.id).count()
    _post(personas, cp, {"client_id": "tl-1", "plate": "甘A22222", "people": [
        _person(known.name, known.id_number, 36.7, role="driver")]})
    personas.browser("command").post("/api/v1/leads/batches", headers=personas.headers("command"), json={
        "source": "省指挥部", "leads": [{"name": known.name, "id_number": known.id_number, "kind": "密接",
                                        "current_address": "兰州市城关区酒泉路街道庆阳路1号"}]})
    page = personas.browser("command").get(f"/people/{known.id}").text
    assert "卡口登记" in page and "柳沟河检查站" in page and "甘A22222" in page
    assert "接收线索" in page and "省指挥部" in page
    assert page.count('href="/people/') >= others
