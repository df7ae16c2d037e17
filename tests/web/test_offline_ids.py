"""The offline queue's resends (issue 20): a follow-up and a lead verification carry the device's client id,
so sending one twice records it once; a verification whose lead was handed elsewhere meanwhile is a 409
problem with a clear message in the user's language, and nothing is recorded."""

from __future__ import annotations

from sqlalchemy import func, select

from fangkong.leads.models import LeadEvent, LeadLeg
from fangkong.observation.models import Referral
from tests.leads.test_leads_flow import ADDRESS_JIUQUAN, _push
from tests.web.test_followups import _free_person, _observe, _record, _today_item


def test_a_follow_up_sent_twice_with_its_client_id_is_recorded_once(personas, db) -> None:  # type: ignore[no-untyped-def]
    person = _free_person(db)
    _observe(personas, person.id)
    item = _today_item(personas, person.id)
    body = {"temperature_c": 38.4, "symptoms": ["cough"], "client_id": "phone-1-0001"}
    first = _record(personas, item["id"], **body)
    again = _record(personas, item["id"], **body)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["done_at"] == again.json()["done_at"]
    with db.sessions() as s:
        assert s.execute(select(func.count(Referral.id)).where(Referral.person_id == person.id)).scalar_one() == 1
    other = _record(personas, item["id"], temperature_c=36.5, client_id="phone-2-0001")
    assert other.status_code == 409 and other.headers["content-type"].startswith("application/problem+json")
    bad = _record(personas, item["id"], temperature_c=36.5, client_id="bad id with spaces")
    assert bad.status_code == 422


def _station_lead(personas, db, phone: str = "13912340001") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    lead_id = _push(personas, [{"name": "离线核查", "phone": phone,
                                "current_address": ADDRESS_JIUQUAN}]).json()["lead_ids"][0]
    lead = personas.browser("station").get(f"/api/v1/leads/{lead_id}", headers=personas.headers("station")).json()
    return lead_id, next(leg["id"] for leg in lead["legs"] if leg["kind"] == "police")


def test_a_verification_sent_twice_is_recorded_once(personas, db) -> None:  # type: ignore[no-untyped-def]
    lead_id, leg_id = _station_lead(personas, db)
    url = f"/api/v1/leads/{lead_id}/legs/{leg_id}/verify"
    body = {"outcome": "found", "temperature_c": 36.6, "measure": "none", "client_id": "tablet-7-0001"}
    station = personas.browser("station")
    first = station.post(url, json=body, headers=personas.headers("station"))
    again = station.post(url, json=body, headers=personas.headers("station"))
    assert first.status_code == again.status_code == 200, again.text
    with db.sessions() as s:
        events = s.execute(select(func.count(LeadEvent.id)).where(LeadEvent.lead_id == lead_id,
                                                                  LeadEvent.action == "verified_police")).scalar_one()
        assert events == 1
        assert s.get(LeadLeg, leg_id).verify_client_id == "tablet-7-0001"


def test_a_queued_verification_of_a_lead_handed_elsewhere_is_a_clear_conflict(personas, db) -> None:  # type: ignore[no-untyped-def]
    lead_id, leg_id = _station_lead(personas, db)
    url = f"/api/v1/leads/{lead_id}/legs/{leg_id}/verify"
    moved = personas.browser("station").post(url, headers=personas.headers("station"), json={
        "outcome": "elsewhere", "new_address": "兰州市七里河区西园街道建西东路5号"})
    assert moved.status_code == 200, moved.text
    queued = {"outcome": "found", "temperature_c": 36.6, "measure": "none", "client_id": "tablet-7-0002"}
    zh = personas.browser("station").post(url, json=queued, headers={**personas.headers("station"),
                                                                        "Accept-Language": "zh-CN"})
    assert zh.status_code == 409 and zh.headers["content-type"].startswith("application/problem+json")
    assert "已转交其他单位" in zh.json()["detail"]
    en = personas.browser("station").post(url, json=queued, headers={**personas.headers("station"),
                                                                        "Accept-Language": "en"})
    assert "handed to another unit" in en.json()["detail"]
    with db.sessions() as s:
        leg = s.get(LeadLeg, leg_id)
        assert leg.status == "open" and leg.verify_client_id is None
    # The station it was handed to (七里河) verifies it in its turn.
    holder = personas.browser("station2").post(url, json={**queued, "client_id": "tablet-9-0001"},
                                               headers=personas.headers("station2"))
    assert holder.status_code == 200, holder.text


def test_one_device_id_for_two_verifications_is_a_conflict(personas, db) -> None:  # type: ignore[no-untyped-def]
    first_lead, first_leg = _station_lead(personas, db)
    second_lead, second_leg = _station_lead(personas, db, "13912340002")
    assert second_leg != first_leg
    body = {"outcome": "found", "measure": "none", "client_id": "tablet-7-0003"}
    station = personas.browser("station")
    ok = station.post(f"/api/v1/leads/{first_lead}/legs/{first_leg}/verify", json=body,
                      headers=personas.headers("station"))
    assert ok.status_code == 200, ok.text
    reused = station.post(f"/api/v1/leads/{second_lead}/legs/{second_leg}/verify", json=body,
                          headers=personas.headers("station"))
    assert reused.status_code == 409
    with db.sessions() as s:
        assert s.get(LeadLeg, second_leg).status == "open"


def test_a_re_dispatch_sent_twice_is_answered_as_the_first_time(personas, db) -> None:  # type: ignore[no-untyped-def]
    lead_id, leg_id = _station_lead(personas, db, "13912340003")
    url = f"/api/v1/leads/{lead_id}/legs/{leg_id}/verify"
    body = {"outcome": "elsewhere", "new_address": "兰州市七里河区西园街道建西东路5号", "client_id": "tablet-7-0004"}
    first = personas.browser("station").post(url, json=body, headers=personas.headers("station"))
    again = personas.browser("station").post(url, json=body, headers=personas.headers("station"))
    assert first.status_code == again.status_code == 200, again.text
    with db.sessions() as s:
        moves = s.execute(select(func.count(LeadEvent.id)).where(LeadEvent.lead_id == lead_id,
                                                                 LeadEvent.action == "redispatched")).scalar_one()
        assert moves == 1
    holder = personas.browser("station2").post(url, json={"outcome": "found", "measure": "none",
                                                          "client_id": "tablet-9-0002"},
                                               headers=personas.headers("station2"))
    assert holder.status_code == 200, holder.text
    late = personas.browser("station").post(url, json=body, headers=personas.headers("station"))
    assert late.status_code == 409  # the lead is verified by its new station: no longer ours
