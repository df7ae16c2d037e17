"""Tracing a case from the platform, end to end over HTTP: passages at checkpoints become presence, a trace
finds close and secondary contacts with evidence, health dispatches them as urgent leads to the stations of
their addresses and marks their status; contacts are struck or added by hand; a close contact who turns
positive upgrades its secondary contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from fangkong.checkpoints.models import Checkpoint
from fangkong.core.codes import check_character
from fangkong.leads.models import Lead
from tests.support import Personas, csrf

ADDRESS = "兰州市城关区酒泉路街道庆阳路1号"


def ident(n: int) -> str:
    first = f"62010219850101{n:03d}"
    return first + check_character(first)


@pytest.fixture
def city(db, personas: Personas) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Five person files with addresses, and passages: A with B in one car; C behind them in the queue;
    D through the same checkpoint hours later (no contact); B later in a car with E (E: B's contact)."""
    command = personas.headers("command")
    c = personas.browser("command")
    ids = {}
    for name, n in (("甲", 11), ("乙", 12), ("丙", 13), ("丁", 14), ("戊", 15)):
        r = c.post("/api/v1/persons", headers=command, json={"name": name, "id_number": ident(n),
                                                            "current_address": ADDRESS})
        assert r.status_code in (200, 201), r.text
        ids[name] = r.json()["id"]
    with db.sessions() as s:
        checkpoints = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(2)).scalars().all()
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(hours=6)
    officer, headers = personas.browser("checkpoint"), personas.headers("checkpoint")

    def passage(key: str, checkpoint: int, at: datetime, *people: str) -> None:
        body = {"client_id": key, "plate": "甘A12345", "at": at.isoformat(), "people": [
            {"name": p, "id_number": ident({"甲": 11, "乙": 12, "丙": 13, "丁": 14, "戊": 15}[p]),
             "temperature_c": 36.5, "disposition": "passed", "role": "driver" if i == 0 else "passenger"}
            for i, p in enumerate(people)]}
        r = officer.post(f"/api/v1/checkpoints/{checkpoint}/passages", json=body, headers=headers)
        assert r.status_code in (200, 201), r.text

    passage("t-1", checkpoints[0], t0, "甲", "乙")
    passage("t-2", checkpoints[0], t0 + timedelta(minutes=4), "丙")
    passage("t-3", checkpoints[0], t0 + timedelta(hours=3), "丁")
    passage("t-4", checkpoints[1], t0 + timedelta(hours=4), "乙", "戊")
    return {"ids": ids, "t0": t0}


def _trace(personas: Personas, person: int, onset: datetime, **extra: object):  # type: ignore[no-untyped-def]
    return personas.browser("health").post(f"/api/v1/tracing/cases/{person}/trace",
                                           headers=personas.headers("health"),
                                           json={"onset": onset.isoformat(), **extra})


def test_trace_finds_close_and_secondary_contacts_with_evidence(personas: Personas, city) -> None:  # type: ignore[no-untyped-def]
    ids = city["ids"]
    r = _trace(personas, ids["甲"], city["t0"] - timedelta(hours=1))
    assert r.status_code == 200, r.text
    body = r.json()
    close = {c["person_id"]: c for c in body["close"]}
    assert set(close) == {ids["乙"], ids["丙"]}
    places = {e["place"].split(":")[0] for e in close[ids["乙"]]["exposures"]}
    assert places == {"checkpoint", "passage"}  # the queue and the car
    assert [e["place"].split(":")[0] for e in close[ids["丙"]]["exposures"]] == ["checkpoint"]
    assert [(s["person_id"], s["via"]) for s in body["secondary"]] == [(ids["戊"], [f"p:{ids['乙']}"])]
    assert [s["place"].split(":")[0] for s in body["trajectory"]] == ["checkpoint", "passage"]


def test_trace_again_keeps_one_row_per_contact(personas: Personas, city) -> None:  # type: ignore[no-untyped-def]
    ids = city["ids"]
    _trace(personas, ids["甲"], city["t0"] - timedelta(hours=1))
    again = _trace(personas, ids["甲"], city["t0"] - timedelta(hours=1)).json()
    assert len(again["close"]) == 2 and len(again["secondary"]) == 1


def test_isolation_before_the_trace_window_finds_nobody_and_bad_times_are_refused(personas: Personas, city
                                                                                 ) -> None:  # type: ignore[no-untyped-def]
    ids, t0 = city["ids"], city["t0"]
    isolated_early = _trace(personas, ids["甲"], t0 - timedelta(days=1), isolated=(t0 - timedelta(hours=1)).isoformat())
    assert isolated_early.json()["close"] == []
    bad = _trace(personas, ids["甲"], t0, isolated=(t0 - timedelta(hours=1)).isoformat())
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "isolated"


def test_dispatch_makes_urgent_leads_at_the_address_station_and_marks_status(db, personas: Personas, city
                                                                             ) -> None:  # type: ignore[no-untyped-def]
    ids = city["ids"]
    _trace(personas, ids["甲"], city["t0"] - timedelta(hours=1))
    health = personas.browser("health")
    r = health.post(f"/api/v1/tracing/cases/{ids['甲']}/dispatch", headers=personas.headers("health"))
    assert r.json() == {"dispatched": 3, "statuses_set": 3, "skipped": 0}
    with db.sessions() as s:
        leads = s.execute(select(Lead).where(Lead.person_id.in_([ids["乙"], ids["丙"], ids["戊"]]))).scalars().all()
        assert {lead.priority for lead in leads} == {"urgent"} and len(leads) == 3
        assert {lead.kind for lead in leads} == {"密接", "次密接"}
    station = personas.browser("station")
    queue = station.get("/api/v1/leads", headers=personas.headers("station")).json()
    assert {ids["乙"], ids["丙"], ids["戊"]} <= {lead["person_id"] for lead in queue}
    statuses = {name: health.get(f"/api/v1/persons/{ids[name]}/status", headers=personas.headers("health"))
                .json()["current"]["status"] for name in ("乙", "丙", "戊")}
    assert statuses == {"乙": "close_contact", "丙": "close_contact", "戊": "secondary_contact"}
    again = health.post(f"/api/v1/tracing/cases/{ids['甲']}/dispatch", headers=personas.headers("health")).json()
    assert again["dispatched"] == 0  # nothing new: no second lead


def test_a_close_contact_turning_positive_upgrades_its_secondary_contacts(personas: Personas, city
                                                                          ) -> None:  # type: ignore[no-untyped-def]
    ids = city["ids"]
    health, headers = personas.browser("health"), personas.headers("health")
    _trace(personas, ids["甲"], city["t0"] - timedelta(hours=1))
    health.post(f"/api/v1/tracing/cases/{ids['甲']}/dispatch", headers=headers)
    r = health.post(f"/api/v1/persons/{ids['乙']}/status", headers=headers,
                    json={"status": "confirmed", "reason": "核酸阳性复核"})
    assert r.status_code == 200, r.text
    now = health.get(f"/api/v1/persons/{ids['戊']}/status", headers=headers).json()["current"]
    assert now["status"] == "close_contact"


def test_struck_contact_is_not_dispatched_and_hand_added_contact_is(personas: Personas, city
                                                                    ) -> None:  # type: ignore[no-untyped-def]
    ids = city["ids"]
    health = personas.browser("health")
    traced = _trace(personas, ids["甲"], city["t0"] - timedelta(hours=1)).json()
    c = next(x for x in traced["close"] if x["person_id"] == ids["丙"])
    token = csrf(health)
    short = health.post(f"/tracing/exposures/{c['exposure_id']}/strike", data={"csrf_token": token, "reason": "x"})
    assert short.status_code == 422 and "至少" in short.text
    ok = health.post(f"/tracing/exposures/{c['exposure_id']}/strike",
                     data={"csrf_token": token, "reason": "流调核实：不在同一车道"}, follow_redirects=False)
    assert ok.status_code == 303
    added = health.post(f"/tracing/cases/{ids['甲']}/contacts", follow_redirects=False,
                        data={"csrf_token": token, "contact": ident(14), "reason": "流调访谈：同桌用餐",
                              "place": "某饭店"})
    assert added.status_code == 303
    again = health.post(f"/tracing/cases/{ids['甲']}/contacts",
                        data={"csrf_token": token, "contact": ident(14), "reason": "流调访谈：同桌用餐"})
    assert again.status_code == 422 and "已是" in again.text
    page = health.get(f"/tracing/cases/{ids['甲']}")
    assert "流调核实：不在同一车道" in page.text and "流调访谈：同桌用餐" in page.text
    result = health.post(f"/api/v1/tracing/cases/{ids['甲']}/dispatch", headers=personas.headers("health")).json()
    assert result["dispatched"] == 3  # 乙, 戊 and the hand-added 丁; not the struck 丙


def test_case_page_shows_contacts_by_place_and_the_chain(db, personas: Personas, city) -> None:  # type: ignore[no-untyped-def]
    ids = city["ids"]
    health = personas.browser("health")
    onset = (city["t0"] - timedelta(hours=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    r = health.post(f"/tracing/cases/{ids['甲']}/trace", data={"csrf_token": csrf(health), "onset": onset})
    assert r.status_code == 200 and "密接" in r.text
    assert "乙" in r.text and "丙" in r.text and "戊" in r.text
    assert f'data-src="/tracing/cases/{ids["甲"]}/graph.json?"' in r.text  # the chain is fetched, not inlined
    with db.sessions() as s:
        first = s.execute(select(Checkpoint.name).order_by(Checkpoint.id).limit(1)).scalar_one()
    assert f'<h3 class="group-head">{first} ' in r.text  # grouped under the place, by its name
    listing = health.get("/tracing")
    assert "甲" in listing.text


def test_station_and_district_cannot_trace(personas: Personas, city) -> None:  # type: ignore[no-untyped-def]
    for role in ("station", "district", "checkpoint"):
        r = personas.browser(role).post(f"/api/v1/tracing/cases/{city['ids']['甲']}/trace",
                                        headers=personas.headers(role), json={"onset": city["t0"].isoformat()})
        assert r.status_code == 403, role


def test_check_ins_at_a_venue_are_traced_and_named_by_the_venue(client, db, personas: Personas) -> None:  # type: ignore[no-untyped-def]
    import re

    from fangkong.registration.venues.models import Venue, Visit

    with db.sessions() as s:
        venue = s.execute(select(Venue).where(Venue.kind == "market").order_by(Venue.id).limit(1)).scalar_one()
    for name, phone in (("甲某", "13911110001"), ("乙某", "13911110002"), ("丙某", "13911110003")):
        page = client.get(f"/v/{venue.token}")
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert client.post(f"/v/{venue.token}", data={"nonce": nonce, "name": name, "phone": phone}).status_code == 200
    r = _trace_after_linking(db, personas, "13911110001")
    by_name = {c["person_id"]: c for c in r["close"]}
    with db.sessions() as s:
        names = dict(s.execute(select(Visit.person_id, Visit.name).where(Visit.venue_id == venue.id)).all())
    found = {names[p] for p in by_name}  # the demo city's own visitors of the day may be there too
    assert {"乙某", "丙某"} <= found and "甲某" not in found
    place = next(c for p, c in by_name.items() if names[p] == "乙某")["exposures"][0]
    assert place["place"] == f"venue:{venue.id}" and place["place_name"].startswith(venue.name)


def _trace_after_linking(db, personas: Personas, phone: str) -> dict:  # type: ignore[no-untyped-def]
    from fangkong.registration.venues.models import Visit
    from fangkong.registration.venues.service import link_pending_visits

    with db.unit_of_work() as s:
        while link_pending_visits(s, limit=100):
            pass
        person = s.execute(select(Visit.person_id).where(Visit.phone == phone)).scalar_one()
    r = _trace(personas, person, datetime.now(UTC) - timedelta(minutes=5))
    assert r.status_code == 200, r.text
    return r.json()


def test_contacts_are_read_page_by_page_with_their_total(personas: Personas, city) -> None:  # type: ignore[no-untyped-def]
    ids = city["ids"]
    full = _trace(personas, ids["甲"], city["t0"] - timedelta(hours=1)).json()
    health, headers = personas.browser("health"), personas.headers("health")
    url = f"/api/v1/tracing/cases/{ids['甲']}/contacts"
    pages = [health.get(url, params={"hop": 1, "offset": o, "limit": 1}, headers=headers).json() for o in (0, 1, 2)]
    assert [p["total"] for p in pages] == [2, 2, 2] and [len(p["items"]) for p in pages] == [1, 1, 0]
    assert {i["person_id"] for p in pages for i in p["items"]} == {c["person_id"] for c in full["close"]}
    secondary = health.get(url, headers=headers).json()  # hop 2 by default
    assert [(i["person_id"], i["via"]) for i in secondary["items"]] == [(ids["戊"], [f"p:{ids['乙']}"])]
    too_big = health.get(url, params={"limit": 100_000}, headers=headers)
    assert too_big.status_code == 422 and too_big.headers["content-type"].startswith("application/problem+json")
    station = personas.browser("station").get(url, headers=personas.headers("station"))
    assert station.status_code in (403, 404)
