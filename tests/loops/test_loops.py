"""The loops close by themselves (issue 15): a fever at the checkpoint is referred and health's handling
comes back; a verified lead's measure has its consequence; leads are handed on; batch priorities and
the report-back clock hold; the scheduler, not a viewer, escalates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from fangkong.checkpoints.models import Checkpoint, CheckpointPost, Passage, PassagePerson
from fangkong.core.audit import AuditEntry
from fangkong.core.codes import check_character
from fangkong.core.db import utcnow
from fangkong.core.models import Unit, User
from fangkong.core.notify import Notification
from fangkong.core.scheduler import run_jobs
from fangkong.leads.models import Lead, LeadLeg
from fangkong.observation.models import Observation, Referral
from fangkong.people.models import Person, RiskStatus
from tests.support import Personas, csrf

ADDRESS = "甘肃省兰州市城关区酒泉路街道庆阳路18号3栋2单元501室"


def _id(body17: str) -> str:
    return body17 + check_character(body17)


def _checkpoint(db) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        officer = s.execute(select(User.id).where(User.username == "checkpoint")).scalar_one()
        return s.execute(select(Checkpoint.id).join(CheckpointPost, CheckpointPost.checkpoint_id == Checkpoint.id)
                         .where(CheckpointPost.user_id == officer).limit(1)).scalar_one()


def _job(app, name: str, now=None) -> int:  # type: ignore[no-untyped-def]
    jobs = [j for j in app.state.platform.jobs if j.name == name]
    run = run_jobs(app.state.db, app.state.settings, jobs, app.state.platform, now=now)[0]
    assert run.error is None, run.error
    return run.result or 0


def test_fever_at_the_checkpoint_is_referred_and_the_handling_comes_back(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    cp, officer = _checkpoint(db), personas.headers("checkpoint")
    idn = _id("62010219850505123")
    person = {"name": "发热者", "id_number": idn, "temperature_c": 37.8, "role": "driver"}
    body = {"client_id": "fever-1", "plate": "甘A54321", "origin": "西安", "destination": "兰州市城关区",
            "people": [{**person, "disposition": "passed"}]}
    refused = client.post(f"/api/v1/checkpoints/{cp}/passages", json=body, headers=officer)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "people.0.disposition"
    with db.sessions() as s:
        assert s.execute(select(func.count(Passage.id)).where(Passage.client_id == "fever-1")).scalar_one() == 0
    saved = client.post(f"/api/v1/checkpoints/{cp}/passages", headers=officer,
                        json={**body, "people": [{**person, "disposition": "referred"}]})
    assert saved.status_code == 201, saved.text
    waiting = client.get("/api/v1/referrals", headers=personas.headers("health")).json()
    card = next(r for r in waiting if r["name"] == "发热者")
    assert card["plate"] == "甘A54321" and card["destination"] == "兰州市城关区"
    assert card["id_number"] != idn and card["id_number"].endswith(idn[-4:])
    bad = client.post(f"/api/v1/referrals/{card['id']}/acknowledge", headers=personas.headers("health"),
                      json={"handling": "teleport"})
    assert bad.status_code == 422
    ack = client.post(f"/api/v1/referrals/{card['id']}/acknowledge", headers=personas.headers("health"),
                      json={"handling": "transfer_120", "note": "已转运"})
    assert ack.status_code == 200 and ack.json()["handling"] == "transfer_120"
    seen = client.get("/api/v1/referrals?open_only=false", headers=officer).json()
    assert any(r["id"] == card["id"] and r["handling"] == "transfer_120" for r in seen)
    page = personas.browser("checkpoint").get("/referrals?state=all")
    assert "120转运至发热门诊" in page.text


def test_letting_a_flagged_person_pass_needs_a_reason_that_is_audited(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    cp = _checkpoint(db)
    idn = _id("62010219850505124")
    body = {"client_id": "fever-2", "plate": "甘A54322", "people": [
        {"name": "复测者", "id_number": idn, "temperature_c": 37.5, "role": "driver", "disposition": "passed",
         "override_reason": "运动后复测36.8"}]}
    r = client.post(f"/api/v1/checkpoints/{cp}/passages", json=body, headers=personas.headers("checkpoint"))
    assert r.status_code == 201, r.text
    with db.sessions() as s:
        row = s.execute(select(PassagePerson).where(PassagePerson.id_number == idn)).scalar_one()
        assert row.override_reason == "运动后复测36.8" and row.disposition == "passed"
        entry = s.execute(select(AuditEntry).where(AuditEntry.object_type == "passage_people",
                                                   AuditEntry.object_id == str(row.id))).scalar_one()
        assert "运动后复测36.8" in entry.detail
        assert s.execute(select(func.count(Referral.id)).where(Referral.passage_person_id == row.id)).scalar_one() == 0


def test_the_tablet_form_proposes_and_insists(personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    cp = _checkpoint(db)
    c = personas.browser("checkpoint")
    form = {"csrf_token": csrf(c), "client_id": "form-fever", "plate": "甘A11111", "people.0.name": "王五",
            "people.0.id_number": _id("62010219850505125"), "people.0.temperature_c": "38.1",
            "people.0.disposition": "passed", "people.0.role": "driver"}
    r = c.post(f"/checkpoints/{cp}/passages", data=form)
    assert r.status_code == 422 and "建议移交卫健" in r.text
    check = c.post(f"/checkpoints/{cp}/check", data=form)
    assert "建议：移交卫健" in check.text


def _lead(personas: Personas, db, kind: str = "", **extra) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    idn = _id("62010219900101" + extra.pop("seq", "101"))
    r = personas.browser("command").post("/api/v1/leads/batches", headers=personas.headers("command"), json={
        "source": "省指挥部", "leads": [{"name": "核查对象", "id_number": idn, "current_address": ADDRESS,
                                      "kind": kind, **extra}]})
    assert r.status_code == 201, r.text
    lead_id = r.json()["lead_ids"][0]
    with db.sessions() as s:
        leg = s.execute(select(LeadLeg.id).where(LeadLeg.lead_id == lead_id)).scalar_one()
    return lead_id, leg


def _verify(client, personas, lead_id, leg_id, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/leads/{lead_id}/legs/{leg_id}/verify", headers=personas.headers("station"),
                       json={"outcome": "found", "measure": "none", **body})


def test_a_fever_at_verification_refers_and_moves_the_file(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    lead_id, leg_id = _lead(personas, db, seq="201")
    with db.sessions() as s:
        station_unit = s.execute(select(User.unit_id).where(User.username == "station")).scalar_one()
        person_id = s.execute(select(Lead.person_id).where(Lead.id == lead_id)).scalar_one()
        s.execute(update(Person).where(Person.id == person_id).values(unit_id=1))  # a file another unit opened
        s.commit()
    assert personas.browser("station").get(f"/people/{person_id}").status_code == 404
    r = _verify(client, personas, lead_id, leg_id, temperature_c=37.6, measure="referral")
    assert r.status_code == 200, r.text
    with db.sessions() as s:
        person = s.get(Person, person_id)
        referral = s.execute(select(Referral).where(Referral.lead_id == lead_id)).scalar_one()
        status = s.execute(select(RiskStatus.status).where(RiskStatus.person_id == person_id,
                                                           RiskStatus.ended_at.is_(None))).scalar_one()
    assert person.unit_id == station_unit and person.current_address == ADDRESS
    assert referral.source == "lead" and status == "fever_referral"
    assert personas.browser("station").get(f"/people/{person_id}").status_code == 200


@pytest.mark.parametrize(("kind", "measure", "status", "observation"), [
    ("密接", "centralised_quarantine", "close_contact", "centralised_quarantine"),
    ("重点地区来返人员", "home_observation", "arrival_medium", "home_quarantine"),
])
def test_a_quarantine_measure_sets_the_status_and_opens_the_observation(
        client, personas: Personas, db, kind: str, measure: str, status: str, observation: str) -> None:  # type: ignore[no-untyped-def]
    lead_id, leg_id = _lead(personas, db, kind, seq="301")
    assert _verify(client, personas, lead_id, leg_id, measure=measure).status_code == 200
    with db.sessions() as s:
        person_id = s.execute(select(Lead.person_id).where(Lead.id == lead_id)).scalar_one()
        current = s.execute(select(RiskStatus.status).where(RiskStatus.person_id == person_id,
                                                            RiskStatus.ended_at.is_(None))).scalar_one()
        obs = s.execute(select(Observation.kind).where(Observation.person_id == person_id,
                                                       Observation.released_at.is_(None))).scalar_one()
    assert (current, obs) == (status, observation)


def test_not_found_is_escalated_to_the_district(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    lead_id, leg_id = _lead(personas, db, seq="401")
    assert _verify(client, personas, lead_id, leg_id, outcome="not_found").status_code == 200
    with db.sessions() as s:
        district = s.execute(select(User.unit_id).where(User.username == "district")).scalar_one()
        told = s.execute(select(Notification.unit_id).where(Notification.kind == "not_found")).scalars().all()
    assert told == [district]
    bell = personas.browser("district").get("/notifications")
    assert f"线索 #{lead_id}" in bell.text


def test_a_district_hands_a_leg_to_a_station_but_not_outside(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    lead_id, leg_id = _lead(personas, db, seq="501")
    with db.sessions() as s:
        station, district, other = (s.execute(select(User.unit_id).where(User.username == n)).scalar_one()
                                    for n in ("station", "district", "station2"))
        s.execute(update(LeadLeg).where(LeadLeg.id == leg_id).values(unit_id=district))
        s.execute(update(Lead).where(Lead.id == lead_id).values(unit_id=district))
        s.commit()
    h = personas.headers("district")
    outside = client.post(f"/api/v1/leads/{lead_id}/legs/{leg_id}/forward", headers=h,
                          json={"unit_id": other, "note": "不归我"})
    assert outside.status_code == 422
    with db.sessions() as s:
        assert s.get(LeadLeg, leg_id).unit_id == district
    ok = client.post(f"/api/v1/leads/{lead_id}/legs/{leg_id}/forward", headers=h,
                     json={"unit_id": station, "note": "属酒泉路辖区"})
    assert ok.status_code == 200, ok.text
    with db.sessions() as s:
        assert s.get(LeadLeg, leg_id).unit_id == station and s.get(Lead, lead_id).unit_id == station
        assert s.execute(select(Notification.unit_id).where(Notification.kind == "forwarded")).scalar_one() == station
    assert _verify(client, personas, lead_id, leg_id).status_code == 200  # the station can now verify it


def test_a_batch_priority_applies_and_the_report_clock_runs(app, client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    r = personas.browser("command").post("/api/v1/leads/batches", headers=personas.headers("command"), json={
        "source": "县指挥部", "priority": "express", "leads": [
            {"name": "甲", "id_number": _id("62010219900101601"), "current_address": ADDRESS},
            {"name": "乙", "id_number": _id("62010219900101602"), "current_address": ADDRESS, "priority": "normal"}]})
    assert r.status_code == 201, r.text
    first, second = r.json()["lead_ids"]
    with db.sessions() as s:
        a, b = s.get(Lead, first), s.get(Lead, second)
        assert (a.priority, b.priority) == ("express", "normal")
        assert a.report_due_at - a.dispatched_at == timedelta(minutes=10)
        leg = s.execute(select(LeadLeg.id).where(LeadLeg.lead_id == first)).scalar_one()
    assert _verify(client, personas, first, leg).status_code == 200
    assert _job(app, "leads.report_back", now=utcnow() + timedelta(minutes=11)) == 1
    with db.sessions() as s:
        command_unit = s.execute(select(User.unit_id).where(User.username == "command")).scalar_one()
        assert s.execute(select(Notification.unit_id).where(Notification.kind == "report_back")).scalar_one() \
            == command_unit
    assert client.post("/api/v1/leads/batches", headers=personas.headers("command"), json={
        "source": "县指挥部", "priority": "whenever", "leads": [{"name": "丙", "phone": "13800001234"}]}
    ).status_code == 422


def test_an_overdue_referral_tells_health(app, client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    with db.unit_of_work() as s:
        person = s.execute(select(Person.id).limit(1)).scalar_one()
        s.add(Referral(source="follow_up", person_id=person, at=utcnow() - timedelta(hours=2), reason="发热"))
    assert _job(app, "referrals.overdue") >= 1
    with db.sessions() as s:
        health_unit = s.execute(select(User.unit_id).where(User.username == "health")).scalar_one()
        units = set(s.execute(select(Notification.unit_id).where(Notification.kind == "referral_overdue")).scalars())
    assert units == {health_unit}
    home = personas.browser("health").get("/")
    assert "超时未接收的移交" in home.text


def test_home_pages_are_work_lists(personas: Personas) -> None:
    assert "待核查线索" in personas.browser("station").get("/").text
    assert "今日待随访" in personas.browser("community").get("/").text
    assert "登记车辆（24小时）" in personas.browser("checkpoint").get("/").text
    assert "待接收的移交人员" in personas.browser("health").get("/").text
    _ = Unit


def test_a_vehicle_lead_dispatches_every_occupant(client, personas: Personas, db) -> None:  # type: ignore[no-untyped-def]
    cp = _checkpoint(db)
    people = [{"name": "司机甲", "id_number": _id("62010219850505131"), "temperature_c": 36.5, "role": "driver",
               "disposition": "passed"},
              {"name": "乘客乙", "id_number": _id("62010219850505132"), "temperature_c": 36.6, "role": "passenger",
               "disposition": "passed"}]
    for n in range(2):  # the same vehicle twice: each person is one lead
        r = client.post(f"/api/v1/checkpoints/{cp}/passages", headers=personas.headers("checkpoint"),
                        json={"client_id": f"veh-{n}", "plate": "甘A77777", "people": people})
        assert r.status_code == 201, r.text
    page = personas.browser("district").get("/vehicle-leads?plate=甘a77777")
    assert page.status_code == 200 and "司机甲" in page.text and "乘客乙" in page.text
    r = client.post("/api/v1/vehicle-leads", headers=personas.headers("command"),
                    json={"plate": "甘Ａ７７７７７", "priority": "urgent", "note": "省厅推送"})
    assert r.status_code == 201, r.text
    assert r.json()["passages"] == 2 and r.json()["occupants"] == 2 and len(r.json()["lead_ids"]) == 2
    with db.sessions() as s:
        leads = s.execute(select(Lead).where(Lead.id.in_(r.json()["lead_ids"]))).scalars().all()
    assert {lead.plate for lead in leads} == {"甘A77777"} and {lead.kind for lead in leads} == {"涉疫车辆乘员"}
    assert all(lead.priority == "urgent" for lead in leads)
    unknown = client.post("/api/v1/vehicle-leads", headers=personas.headers("command"), json={"plate": "甘A00001"})
    assert unknown.status_code == 422
    bad = client.post("/api/v1/vehicle-leads", headers=personas.headers("command"), json={"plate": "XX"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "plate"
    assert client.post("/api/v1/vehicle-leads", headers=personas.headers("station"),
                       json={"plate": "甘A77777"}).status_code == 403
