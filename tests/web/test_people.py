"""Person files: search, masking, reveal with audit, jurisdiction, creation with validation."""

from __future__ import annotations

import json

from sqlalchemy import select

from fangkong.core.audit import AuditEntry
from fangkong.core.models import User
from fangkong.people.models import Person
from tests.support import csrf


def _own_person(db, username: str = "station") -> Person:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        unit_id = s.execute(select(User.unit_id).where(User.username == username)).scalar_one()
        return s.execute(select(Person).where(Person.unit_id == unit_id).limit(1)).unique().scalar_one()


def test_search_by_name_id_number_and_phone_finds_the_person_masked(personas, db) -> None:
    person = _own_person(db)
    headers = personas.headers("station")
    for query in (person.name, person.id_number, person.id_number.lower(), person.phone, "+86 " + person.phone):
        r = personas.browser("station").get("/api/v1/persons", params={"q": query}, headers=headers)
        assert r.status_code == 200, query
        hits = {p["id"]: p for p in r.json()["items"]}
        assert person.id in hits, query
        shown = hits[person.id]
        assert shown["id_number"] != person.id_number and "*" in shown["id_number"]
        assert shown["id_number"][-4:] == person.id_number[-4:] and set(shown["id_number"][:-4]) == {"*"}
        assert shown["birth_date"] is None and shown["age_band"]
        assert shown["phone"] != person.phone and shown["revealed"] is False


def test_full_width_id_number_is_found(personas, db) -> None:
    person = _own_person(db)
    wide = "".join(chr(ord(c) + 0xFEE0) for c in person.id_number)
    r = personas.browser("station").get("/api/v1/persons", params={"q": wide}, headers=personas.headers("station"))
    assert person.id in {p["id"] for p in r.json()["items"]}


def test_search_only_returns_persons_of_the_own_jurisdiction(personas, db) -> None:
    headers = personas.headers("station")
    with db.sessions() as s:
        unit_id = s.execute(select(User.unit_id).where(User.username == "station")).scalar_one()
        total_own = s.query(Person).filter(Person.unit_id == unit_id).count()
    r = personas.browser("station").get("/api/v1/persons", params={"q": ""}, headers=headers)
    assert r.json()["total"] == total_own
    assert {p["unit_id"] for p in r.json()["items"]} == {unit_id}


def test_other_jurisdiction_person_is_not_found_not_forbidden(personas, db) -> None:
    person = _own_person(db, "station")
    r = personas.browser("station2").get(f"/api/v1/persons/{person.id}", headers=personas.headers("station2"))
    assert r.status_code == 404
    page = personas.browser("station2").get(f"/people/{person.id}")
    assert page.status_code == 404 and person.name not in page.text


def test_district_and_command_see_persons_of_their_stations(personas, db) -> None:
    person = _own_person(db, "station")
    for role in ("district", "command", "health"):
        r = personas.browser(role).get(f"/api/v1/persons/{person.id}", headers=personas.headers(role))
        assert r.status_code == 200, role


def test_reveal_needs_a_purpose_and_is_audited(personas, db) -> None:
    person = _own_person(db)
    c, headers = personas.browser("station"), personas.headers("station")
    refused = c.post(f"/api/v1/persons/{person.id}/reveal", json={"purpose": ""}, headers=headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "purpose"
    r = c.post(f"/api/v1/persons/{person.id}/reveal", json={"purpose": "核查线索 2020-031"}, headers=headers)
    assert r.status_code == 200
    assert r.json()["id_number"] == person.id_number and r.json()["phone"] == person.phone
    with db.sessions() as s:
        row = s.execute(select(AuditEntry).where(AuditEntry.action == "reveal")).scalars().one()
    assert row.object_id == str(person.id) and row.username == "station" and "核查线索" in row.detail


def test_reading_a_person_file_is_audited_without_personal_data_in_the_log(personas, db) -> None:
    person = _own_person(db)
    personas.browser("station").get(f"/people/{person.id}")
    personas.browser("station").get("/people", params={"q": person.id_number})
    with db.sessions() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.action.in_(["read", "search"]))).scalars().all()
    assert {r.action for r in rows} >= {"read", "search"}
    assert all(person.id_number not in r.detail for r in rows)


def test_reveal_page_shows_full_number_only_after_purpose(personas, db) -> None:
    person = _own_person(db)
    c = personas.browser("station")
    page = c.get(f"/people/{person.id}").text
    assert person.id_number not in page
    r = c.post(f"/people/{person.id}/reveal", data={"purpose": "", "csrf_token": csrf(c)})
    assert r.status_code == 422 and person.id_number not in r.text
    r = c.post(f"/people/{person.id}/reveal", data={"purpose": "入户核查", "csrf_token": csrf(c)})
    assert r.status_code == 200 and person.id_number in r.text


def test_create_person_derives_birth_date_and_sex_from_the_id_number(personas) -> None:
    body = {"name": "测试人员", "id_number": "11010519491231002x", "phone": "+86 138-0013-8000",
            "current_address": "甘肃省兰州市城关区酒泉路街道庆阳路1号"}
    r = personas.browser("station").post("/api/v1/persons", json=body, headers=personas.headers("station"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["birth_date"] is None and made["age_band"].endswith("9") and made["sex"] == "F"
    assert made["id_number"] == "**************002X"  # area and birth date hidden together (issue 17)


def test_wrong_check_digit_is_a_field_error_in_chinese_and_nothing_is_written(personas, db) -> None:
    with db.sessions() as s:
        before = s.query(Person).count()
    body = {"name": "测试", "id_number": "110105194912310021", "phone": "12345"}
    r = personas.browser("station").post("/api/v1/persons", json=body, headers=personas.headers("station"))
    assert r.status_code == 422
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(fields) == {"id_number", "phone"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in fields.values()), fields
    with db.sessions() as s:
        assert s.query(Person).count() == before


def test_problem_json_speaks_english_when_asked(personas) -> None:
    body = {"name": "", "id_number": "110105194912310021"}
    headers = {**personas.headers("station"), "Accept-Language": "en-US,en;q=0.9"}
    r = personas.browser("station").post("/api/v1/persons", json=body, headers=headers)
    messages = [e["message"] for e in r.json()["errors"]]
    assert all(m.isascii() for m in messages), messages


def test_duplicate_id_number_is_a_conflict(personas, db) -> None:
    person = _own_person(db)
    body = {"name": "重复", "id_number": person.id_number}
    r = personas.browser("station").post("/api/v1/persons", json=body, headers=personas.headers("station"))
    assert r.status_code == 409


def test_unknown_unit_is_a_field_error(personas) -> None:
    body = {"name": "测试", "id_number": "11010519491231002X", "unit_id": 999999}
    r = personas.browser("station").post("/api/v1/persons", json=body, headers=personas.headers("station"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_id"


def test_create_person_page_shows_errors_beside_fields(personas) -> None:
    c = personas.browser("station")
    r = c.post("/people/new", data={"name": "张三", "id_number": "110105194912310021", "doc_type": "resident_id",
                                    "csrf_token": csrf(c)})
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text and "张三" in r.text


def test_non_resident_document_is_accepted(personas) -> None:
    body = {"name": "John Smith", "doc_type": "passport", "doc_number": "e12345678"}
    r = personas.browser("command").post("/api/v1/persons", json=body, headers=personas.headers("command"))
    assert r.status_code == 201, r.text
    assert r.json()["doc_type"] == "passport"


def test_audit_detail_masks_personal_fields_of_created_person(personas, db) -> None:
    body = {"name": "审计测试", "id_number": "11010519491231002X"}
    personas.browser("station").post("/api/v1/persons", json=body, headers=personas.headers("station"))
    with db.sessions() as s:
        row = s.execute(select(AuditEntry).where(AuditEntry.action == "create",
                                                 AuditEntry.object_type == "persons")).scalars().one()
    detail = json.loads(row.detail)
    assert detail["fields"]["id_number"] == "***" and "11010519491231002X" not in row.detail
