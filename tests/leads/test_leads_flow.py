"""Leads end to end through the API: intake, matching, dispatch by address, deadlines, verification,
re-dispatch, escalation, two legs, idempotency and feedback."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from fangkong.core.db import utcnow
from fangkong.core.models import Unit, User
from fangkong.core.notify import Notification
from fangkong.leads.models import Lead, LeadEvent, LeadLeg
from fangkong.leads.workflow import on_time_rates
from fangkong.people.models import Person

ADDRESS_JIUQUAN = "甘肃省兰州市城关区酒泉路街道庆阳路18号3栋2单元501室"


def _push(personas, leads: list[dict], source: str = "省指挥部", **extra):  # type: ignore[no-untyped-def]
    body = {"source": source, "reference": "第1批", "leads": leads, **extra}
    return personas.browser("command").post("/api/v1/leads/batches", json=body, headers=personas.headers("command"))


def _unit_id(db, username: str) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(User.unit_id).where(User.username == username)).scalar_one()


def test_pushed_lead_is_matched_and_dispatched_to_the_station_owning_the_street(personas, db) -> None:
    with db.sessions() as s:
        person = s.execute(select(Person).limit(1)).unique().scalar_one()
    r = _push(personas, [{"name": person.name, "id_number": person.id_number.lower(), "phone": "",
                          "current_address": ADDRESS_JIUQUAN, "priority": "urgent", "kind": "密接"}])
    assert r.status_code == 201, r.text
    lead_id = r.json()["lead_ids"][0]
    station = _unit_id(db, "station")
    with db.sessions() as s:
        lead = s.get(Lead, lead_id)
    assert lead.person_id == person.id and lead.person_match == "id_number"
    assert lead.unit_id == station and lead.status == "dispatched"
    assert timedelta(minutes=119) < lead.due_at - lead.received_at <= timedelta(hours=2)
    queue = personas.browser("station").get("/api/v1/leads", headers=personas.headers("station")).json()
    assert lead_id in {item["id"] for item in queue}
    other = personas.browser("station2").get(f"/api/v1/leads/{lead_id}", headers=personas.headers("station2"))
    assert other.status_code == 404


def test_unknown_person_gets_a_new_unconfirmed_file(personas, db) -> None:
    r = _push(personas, [{"name": "新来人员", "phone": "13912345678", "current_address": ADDRESS_JIUQUAN}])
    lead_id = r.json()["lead_ids"][0]
    with db.sessions() as s:
        lead = s.get(Lead, lead_id)
        person = s.get(Person, lead.person_id)
    assert lead.person_match == "new" and person.unconfirmed and person.phone == "13912345678"


def test_repeated_and_re_pushed_leads_create_no_duplicates(personas, db) -> None:
    lead = {"name": "王五", "id_number": "11010519491231002X", "current_address": ADDRESS_JIUQUAN,
            "pushed_at": "2020-02-03T14:30:00+08:00"}
    first = _push(personas, [lead, dict(lead)]).json()
    assert first["new"] == 1 and first["repeated"] == 1 and len(set(first["lead_ids"])) == 1
    again = _push(personas, [lead]).json()
    assert again["new"] == 0 and again["lead_ids"] == first["lead_ids"][:1]


def test_a_bad_field_is_set_aside_and_the_lead_taken_in(personas, db) -> None:
    """Issue 21: a wrong check digit or a bad phone never refuses a lead; the birth date the number still
    carries goes to matching, and the answer names the fields set aside."""
    with db.sessions() as s:
        before = s.query(Lead).count()
    r = _push(personas, [{"name": "甲", "id_number": "11010519491231002X"},
                         {"name": "乙", "id_number": "110105194912310021", "phone": "12345"}])
    assert r.status_code == 201, r.text
    assert r.json()["flagged"] == {"1": ["id_number", "phone"]}
    with db.sessions() as s:
        assert s.query(Lead).count() == before + 2
        second = s.get(Lead, r.json()["lead_ids"][1])
        assert second.flags == "id_number,phone" and second.id_number is None and second.phone is None


def test_invalid_lead_in_a_batch_rejects_the_whole_batch(personas, db) -> None:
    with db.sessions() as s:
        before = s.query(Lead).count()
    r = _push(personas, [{"name": "甲", "id_number": "11010519491231002X"},
                         {"id_number": "110105194912310021", "phone": "12345"}])  # nobody: no name, no valid ID
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"leads.1.id_number"}
    with db.sessions() as s:
        assert s.query(Lead).count() == before


def test_address_outside_the_city_goes_straight_to_feedback(personas, db) -> None:
    r = _push(personas, [{"name": "外地", "phone": "13712345678", "current_address": "湖北省武汉市江汉区解放大道1号"}])
    with db.sessions() as s:
        assert s.get(Lead, r.json()["lead_ids"][0]).status == "outside"


def test_address_without_a_unit_goes_to_the_manual_queue_with_a_hint(personas, db) -> None:
    r = _push(personas, [{"name": "无址", "id_number": "42010619800101001X".replace(
        "X", __import__("fangkong.core.codes", fromlist=["x"]).check_character("42010619800101001")),
        "current_address": "不详"}])
    lead_id = r.json()["lead_ids"][0]
    with db.sessions() as s:
        lead = s.get(Lead, lead_id)
    assert lead.status == "manual" and "湖北省武汉市" in (lead.hint or "")
    station = _unit_id(db, "station")
    assigned = personas.browser("command").post(f"/api/v1/leads/{lead_id}/assign", json={"unit_id": station},
                                                headers=personas.headers("command"))
    assert assigned.status_code == 200 and assigned.json()["status"] == "dispatched"
    again = personas.browser("command").post(f"/api/v1/leads/{lead_id}/assign", json={"unit_id": station},
                                             headers=personas.headers("command"))
    assert again.status_code == 409


def test_verification_closes_the_lead_and_a_second_verification_conflicts(personas, db) -> None:
    lead_id = _push(personas, [{"name": "赵六", "phone": "13612345678", "current_address": ADDRESS_JIUQUAN}]
                    ).json()["lead_ids"][0]
    lead = personas.browser("station").get(f"/api/v1/leads/{lead_id}", headers=personas.headers("station")).json()
    leg = lead["legs"][0]["id"]
    body = {"outcome": "found", "temperature_c": 36.5, "measure": "home_observation"}
    url = f"/api/v1/leads/{lead_id}/legs/{leg}/verify"
    done = personas.browser("station").post(url, json=body, headers=personas.headers("station"))
    assert done.status_code == 200 and done.json()["status"] == "verified"
    twice = personas.browser("station").post(url, json=body, headers=personas.headers("station"))
    assert twice.status_code in (404, 409)


def test_impossible_temperature_is_refused(personas) -> None:
    lead_id = _push(personas, [{"name": "钱七", "phone": "13512345678", "current_address": ADDRESS_JIUQUAN}]
                    ).json()["lead_ids"][0]
    leg = personas.browser("station").get(f"/api/v1/leads/{lead_id}", headers=personas.headers("station")
                                          ).json()["legs"][0]["id"]
    r = personas.browser("station").post(f"/api/v1/leads/{lead_id}/legs/{leg}/verify",
                                         json={"outcome": "found", "temperature_c": 48},
                                         headers=personas.headers("station"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "temperature_c"


def test_lives_elsewhere_redispatches_with_history(personas, db) -> None:
    lead_id = _push(personas, [{"name": "孙八", "phone": "13412345678", "current_address": ADDRESS_JIUQUAN}]
                    ).json()["lead_ids"][0]
    leg = personas.browser("station").get(f"/api/v1/leads/{lead_id}", headers=personas.headers("station")
                                          ).json()["legs"][0]["id"]
    r = personas.browser("station").post(
        f"/api/v1/leads/{lead_id}/legs/{leg}/verify",
        json={"outcome": "elsewhere", "new_address": "兰州市七里河区西园街道建西东路5号"},
        headers=personas.headers("station"))
    assert r.status_code == 200, r.text
    station2 = _unit_id(db, "station2")
    with db.sessions() as s:
        lead = s.get(Lead, lead_id)
    assert lead.unit_id == station2 and lead.status == "dispatched"
    page = personas.browser("station2").get(f"/leads/{lead_id}")
    assert page.status_code == 200 and "重新下发" in page.text


def test_overdue_lead_escalates_and_counts_against_the_unit(personas, db) -> None:
    lead_id = _push(personas, [{"name": "周九", "phone": "13312345678", "current_address": ADDRESS_JIUQUAN}]
                    ).json()["lead_ids"][0]
    with db.sessions() as s, s.begin():
        s.execute(update(LeadLeg).where(LeadLeg.lead_id == lead_id).values(due_at=utcnow() - timedelta(minutes=5)))
    overdue = personas.browser("district").get("/api/v1/leads", params={"state": "overdue"},
                                               headers=personas.headers("district")).json()
    assert lead_id in {item["id"] for item in overdue}
    assert any(leg["overdue"] for item in overdue for leg in item["legs"])
    page = personas.browser("district").get("/leads/rates")
    assert page.status_code == 200 and "酒泉路派出所" in page.text
    with db.sessions() as s:
        district = s.execute(select(User).where(User.username == "district")).unique().scalar_one()
        rate = next(r for r in on_time_rates(s, district) if r.unit_name == "酒泉路派出所")
    assert rate.unit_id == _unit_id(db, "station") and rate.overdue >= 1 and rate.due >= rate.overdue
    with db.sessions() as s:
        leg = s.execute(select(LeadLeg).where(LeadLeg.lead_id == lead_id)).scalar_one()
    assert leg.escalated_at is None  # looking at a list escalates nothing: the scheduler does
    _run_job(personas.app, "leads.escalate")
    with db.sessions() as s:
        leg = s.execute(select(LeadLeg).where(LeadLeg.lead_id == lead_id)).scalar_one()
        event = s.execute(select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.action == "escalated")
                          ).scalar_one()
        station = s.get(Unit, leg.unit_id)
        told = s.execute(select(Notification).where(Notification.kind == "escalation")).scalars().all()
    assert leg.escalated_at is not None and event.username == "system"
    assert [n.unit_id for n in told] == [station.parent_id]
    assert _run_job(personas.app, "leads.escalate") == 0  # once


def _run_job(app, name: str) -> int:  # type: ignore[no-untyped-def]
    from fangkong.core.scheduler import run_jobs

    jobs = [j for j in app.state.platform.jobs if j.name == name]
    run = run_jobs(app.state.db, app.state.settings, jobs, app.state.platform)[0]
    assert run.error is None
    return run.result or 0


def test_two_leg_lead_closes_only_when_both_legs_are_verified(personas, db) -> None:
    lead_id = _push(personas, [{"name": "吴十", "phone": "13212345678", "current_address": ADDRESS_JIUQUAN}],
                    source="市专班", two_legs=True).json()["lead_ids"][0]
    lead = personas.browser("command").get(f"/api/v1/leads/{lead_id}", headers=personas.headers("command")).json()
    legs = {leg["kind"]: leg["id"] for leg in lead["legs"]}
    assert set(legs) == {"police", "community"}
    body = {"outcome": "found", "measure": "none"}
    r = personas.browser("station").post(f"/api/v1/leads/{lead_id}/legs/{legs['police']}/verify", json=body,
                                         headers=personas.headers("station"))
    assert r.json()["status"] == "dispatched"
    refused = personas.browser("station").post(f"/api/v1/leads/{lead_id}/legs/{legs['community']}/verify",
                                               json=body, headers=personas.headers("station"))
    assert refused.status_code == 404
    r = personas.browser("community").post(f"/api/v1/leads/{lead_id}/legs/{legs['community']}/verify", json=body,
                                           headers=personas.headers("community"))
    assert r.status_code == 200 and r.json()["status"] == "verified"


def test_results_feed_back_through_the_api(personas) -> None:
    pushed = _push(personas, [{"name": "郑一", "phone": "13112345678", "current_address": ADDRESS_JIUQUAN}]).json()
    lead_id = pushed["lead_ids"][0]
    leg = personas.browser("station").get(f"/api/v1/leads/{lead_id}", headers=personas.headers("station")
                                          ).json()["legs"][0]["id"]
    personas.browser("station").post(f"/api/v1/leads/{lead_id}/legs/{leg}/verify",
                                     json={"outcome": "found", "temperature_c": 36.6, "measure": "home_observation"},
                                     headers=personas.headers("station"))
    results = personas.browser("command").get(f"/api/v1/leads/batches/{pushed['batch_id']}/results",
                                              headers=personas.headers("command")).json()
    assert results[0]["lead_id"] == lead_id and "已落地核查" in results[0]["result"]
    assert results[0]["measures"] == "居家观察" and results[0]["units"] == "酒泉路派出所"
    lead = personas.browser("command").get(f"/api/v1/leads/{lead_id}", headers=personas.headers("command")).json()
    assert lead["status"] == "fed_back"


def test_normal_priority_is_due_by_local_midnight(personas, db) -> None:
    from fangkong.core.clock import LOCAL_TZ

    lead_id = _push(personas, [{"name": "冯二", "phone": "13012345678", "current_address": ADDRESS_JIUQUAN}]
                    ).json()["lead_ids"][0]
    with db.sessions() as s:
        lead = s.get(Lead, lead_id)
    due = lead.due_at.astimezone(LOCAL_TZ)
    assert (due.hour, due.minute) == (0, 0)
    assert due.date() == (lead.received_at.astimezone(LOCAL_TZ) + timedelta(days=1)).date()


def test_express_deadline_is_configurable_down_to_minutes(client, app, personas, db) -> None:
    from fangkong.leads.deadlines import parse_rules

    app.state.settings.lead_deadlines = "express=5/10,urgent=30/60,normal=midnight/midnight"
    assert parse_rules(app.state.settings.lead_deadlines)["urgent"].verify == timedelta(minutes=30)
    lead_id = _push(personas, [{"name": "陈三", "phone": "13012345670", "current_address": ADDRESS_JIUQUAN,
                                "priority": "express"},
                               {"name": "陈四", "phone": "13012345671", "current_address": ADDRESS_JIUQUAN,
                                "priority": "urgent"}]).json()["lead_ids"]
    with db.sessions() as s:
        express, urgent = (s.get(Lead, i) for i in lead_id)
    assert express.due_at - express.received_at == timedelta(minutes=5)
    assert urgent.due_at - urgent.received_at == timedelta(minutes=30)


def test_bad_deadline_setting_fails_fast() -> None:
    import pytest

    from fangkong.core.settings import load_settings

    with pytest.raises(ValueError, match="FANGKONG_LEAD_DEADLINES"):
        load_settings(lead_deadlines="urgent=soon", secret_key="k" * 40)
