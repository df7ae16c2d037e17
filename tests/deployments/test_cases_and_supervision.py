"""Offence cases and supervision over HTTP: a case goes from registration to its outcome and its counts reach
the figures hook; a seizure needs its unit of measure; a stale status change loses (compare-and-swap); a
supervision finding is rectified once; the registers export to Excel with data never taken as a formula."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from fangkong.capabilities import platform
from fangkong.core.capability import DayWindow
from fangkong.deployments.rules import local_today
from fangkong.people.models import Person
from tests.deployments.helpers import user
from tests.support import Personas, csrf

KEYS = ("deployments.cases_registered", "deployments.cases_solved", "deployments.persons_dealt")


def _case_figures(db, unit_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        rows = platform().figures(s, DayWindow(local_today()))
    return {key: sum(v for u, k, v in rows if u == unit_id and k == key) for key in KEYS}


def _errors(response, status: int = 422) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return [e["field"] for e in response.json().get("errors", [])]


def test_a_case_goes_from_registration_to_outcome_and_counts_in_the_figures(client, db, personas: Personas) -> None:
    station = user(db, "station")
    headers = personas.headers("station")
    before = _case_figures(db, station.unit_id)
    with db.sessions() as s:
        known = s.execute(select(Person).where(Person.unit_id == station.unit_id, Person.id_number.is_not(None))
                          .order_by(Person.id).limit(1)).unique().scalar_one()
    r = client.post("/api/v1/cases", headers=headers, json={"title": "销售“三无”口罩案", "category": "counterfeit"})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "received" and case["unit_id"] == station.unit_id
    r = client.post(f"/api/v1/cases/{case['id']}/persons", headers=headers, json={"id_number": known.id_number})
    assert r.status_code == 201 and r.json()["persons"][0]["person_id"] == known.id
    assert r.json()["persons"][0]["name"] == known.name  # taken from the person file
    assert _errors(client.post(f"/api/v1/cases/{case['id']}/seizures", headers=headers,
                               json={"item": "口罩", "quantity": 104, "unit_of_measure": ""})) == ["unit_of_measure"]
    assert _errors(client.post(f"/api/v1/cases/{case['id']}/seizures", headers=headers,
                               json={"item": "口罩", "quantity": 0, "unit_of_measure": "箱"})) == ["quantity"]
    r = client.post(f"/api/v1/cases/{case['id']}/seizures", headers=headers,
                    json={"item": "“三无”口罩", "quantity": 104, "unit_of_measure": "箱"})
    assert r.status_code == 201 and r.json()["seizures"][0]["unit_of_measure"] == "箱"

    assert _errors(client.post(f"/api/v1/cases/{case['id']}/status", headers=headers,
                               json={"status": "solved", "outcome": ""})) == ["outcome"]
    r = client.post(f"/api/v1/cases/{case['id']}/status", headers=headers, json={"status": "filed",
                                                                                 "expected": "received"})
    assert r.status_code == 200 and r.json()["status"] == "filed"
    stale = client.post(f"/api/v1/cases/{case['id']}/status", headers=headers,
                        json={"status": "filed", "expected": "received"})
    assert stale.status_code == 409  # someone moved it first: compare-and-swap
    browser = personas.browser("station")
    r = browser.post(f"/cases/{case['id']}/status", data={"csrf_token": csrf(browser), "status": "solved",
                                                           "outcome": "prosecution", "expected": "filed"},
                     follow_redirects=False)
    assert r.status_code == 303
    solved = client.get(f"/api/v1/cases/{case['id']}", headers=headers).json()
    assert solved["status"] == "solved" and solved["outcome"] == "prosecution" and solved["solved_at"]

    after = _case_figures(db, station.unit_id)
    assert {k: after[k] - before[k] for k in KEYS} == dict.fromkeys(KEYS, 1)
    counts = client.get("/api/v1/cases/counts?by=category&days=1", headers=headers).json()
    assert next(c for c in counts if c["key"] == "counterfeit")["solved"] >= 1
    page = browser.get("/cases")
    assert page.status_code == 200 and "破获" in page.text and "处理" in page.text
    assert "移送起诉" in browser.get(f"/cases/{case['id']}").text


def test_cases_stay_in_their_jurisdiction(client, db, personas: Personas) -> None:
    station = user(db, "station")
    case = client.post("/api/v1/cases", headers=personas.headers("station"),
                       json={"title": "编造疫情谣言案", "category": "rumour"}).json()
    assert client.get(f"/api/v1/cases/{case['id']}", headers=personas.headers("station2")).status_code == 404
    assert client.get(f"/api/v1/cases/{case['id']}", headers=personas.headers("health")).status_code == 403
    assert client.get(f"/api/v1/cases/{case['id']}", headers=personas.headers("district")).status_code == 200
    with db.sessions() as s:  # a person file of another district cannot be linked
        outside = s.execute(select(Person.id).where(Person.unit_id == user(db, "station2").unit_id).limit(1)) \
            .scalar_one()
    r = client.post(f"/api/v1/cases/{case['id']}/persons", headers=personas.headers("station"),
                    json={"name": "张某", "person_id": outside})
    assert _errors(r) == ["person_id"]
    assert station.unit_id == case["unit_id"]


def test_a_supervision_finding_is_rectified(client, db, personas: Personas) -> None:
    station = user(db, "station")
    today = local_today()
    r = client.post("/api/v1/supervision/visits", headers=personas.headers("command"), json={
        "unit_id": station.unit_id, "visited_on": (today - timedelta(days=3)).isoformat(), "leader": "市局副局长",
        "findings": "夜班测温登记不全", "items": [
            {"description": "补齐测温登记", "due_on": (today - timedelta(days=1)).isoformat()},
            {"description": "增设夜间照明", "due_on": (today + timedelta(days=5)).isoformat()}]})
    assert r.status_code == 201, r.text
    visit = r.json()
    overdue, later = visit["items"]
    assert overdue["overdue"] and not later["overdue"]
    browser = personas.browser("station")
    assert "逾期" in browser.get("/supervision").text
    assert "逾期未整改事项" in browser.get("/").text
    assert _errors(client.post(f"/api/v1/supervision/items/{overdue['id']}/rectify",
                               headers=personas.headers("station"), json={"note": " "})) == ["note"]
    assert client.post(f"/api/v1/supervision/items/{overdue['id']}/rectify", headers=personas.headers("health"),
                       json={"note": "x"}).status_code == 403
    assert client.post(f"/api/v1/supervision/items/{overdue['id']}/rectify", headers=personas.headers("station2"),
                       json={"note": "x"}).status_code == 404
    r = client.post(f"/api/v1/supervision/items/{overdue['id']}/rectify", headers=personas.headers("station"),
                    json={"note": "已补齐近七日登记"})
    assert r.status_code == 200 and r.json()["status"] == "rectified"
    again = client.post(f"/api/v1/supervision/items/{overdue['id']}/rectify", headers=personas.headers("station"),
                        json={"note": "再次"})
    assert again.status_code == 409
    items = client.get(f"/api/v1/supervision/visits/{visit['id']}", headers=personas.headers("station")).json()["items"]
    assert [i["status"] for i in items] == ["rectified", "open"]
    assert _errors(client.post("/api/v1/supervision/visits", headers=personas.headers("station"), json={
        "unit_id": station.unit_id, "visited_on": today.isoformat(), "leader": "所长"}), 403) == []
    r = client.post("/api/v1/supervision/visits", headers=personas.headers("command"), json={
        "unit_id": station.unit_id, "visited_on": today.isoformat(), "leader": "市局",
        "items": [{"description": "整改", "due_on": (today - timedelta(days=2)).isoformat()}]})
    assert _errors(r) == ["items.0.due_on"]


def test_registers_export_to_excel_with_data_written_as_text(client, db, personas: Personas) -> None:
    headers = personas.headers("station")
    client.post("/api/v1/cases", headers=headers, json={"title": "=HYPERLINK(\"http://x\")", "category": "fraud"})
    browser = personas.browser("station")
    r = browser.get("/cases.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=HYPERLINK(\"http://x\")"]
    assert cells and all(c.data_type == "s" for c in cells)
    for path in ("/deployments/posts.xlsx", "/deployments/log.xlsx", "/supervision.xlsx"):
        r = browser.get(path)
        assert r.status_code == 200, path
        assert load_workbook(io.BytesIO(r.content)).active.max_row >= 2, path  # the demo city's data
