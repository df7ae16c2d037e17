"""Administration: the unit tree with owned areas, and user accounts."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from fangkong.core.models import Unit, User
from tests.support import csrf, login


def _unit(db, code: str) -> Unit:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return s.execute(select(Unit).where(Unit.code == code)).scalar_one()


def test_admin_creates_a_station_with_its_streets(personas, db) -> None:
    district = _unit(db, "620103")
    body = {"name": "西湖派出所", "code": "620103-99", "kind": "station", "parent_id": district.id,
            "areas": ["西湖社区", "小西湖社区"]}
    r = personas.browser("admin").post("/api/v1/units", json=body, headers=personas.headers("admin"))
    assert r.status_code == 201, r.text
    made = _unit(db, "620103-99")
    assert made.path == f"{district.path}{made.id}/"
    assert sorted(r.json()["areas"]) == sorted(["西湖社区", "小西湖社区"])


def test_an_area_cannot_be_owned_twice(personas, db) -> None:
    district = _unit(db, "620102")
    body = {"name": "重复派出所", "code": "620102-98", "kind": "station", "parent_id": district.id,
            "areas": ["酒泉路街道"]}
    r = personas.browser("admin").post("/api/v1/units", json=body, headers=personas.headers("admin"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "areas"
    with db.sessions() as s:
        assert s.execute(select(Unit).where(Unit.code == "620102-98")).first() is None


def test_bad_area_code_and_unknown_parent_are_field_errors(personas) -> None:
    body = {"name": "X", "code": "X-1", "kind": "district", "parent_id": 987654, "area_code": "999999"}
    r = personas.browser("admin").post("/api/v1/units", json=body, headers=personas.headers("admin"))
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"parent_id", "area_code"}


def test_moving_a_unit_moves_its_subtree(personas, db) -> None:
    station = _unit(db, "620102-01")
    target = _unit(db, "620103")
    body = {"name": station.name, "code": station.code, "kind": station.kind, "parent_id": target.id,
            "areas": []}
    r = personas.browser("admin").put(f"/api/v1/units/{station.id}", json=body, headers=personas.headers("admin"))
    assert r.status_code == 200, r.text
    assert _unit(db, "620102-01").path == f"{target.path}{station.id}/"


def test_a_unit_cannot_move_under_itself(personas, db) -> None:
    district = _unit(db, "620102")
    child = _unit(db, "620102-01")
    body = {"name": district.name, "code": district.code, "kind": "district", "parent_id": child.id,
            "area_code": "620102"}
    r = personas.browser("admin").put(f"/api/v1/units/{district.id}", json=body, headers=personas.headers("admin"))
    assert r.status_code == 422


def test_command_creates_a_user_who_can_log_in(personas, db) -> None:
    station = _unit(db, "620104-01")  # a personal-data role: command grants it, not admin (issue 17)
    body = {"username": "chen.ping", "display_name": "陈平", "role": "station", "unit_id": station.id,
            "password": "a-long-password"}
    r = personas.browser("command").post("/api/v1/users", json=body, headers=personas.headers("command"))
    assert r.status_code == 201, r.text
    with TestClient(personas.app) as fresh:
        assert login(fresh, "chen.ping", "a-long-password").status_code == 303
        assert "陈平" in fresh.get("/").text


def test_short_password_and_unknown_role_are_refused(personas, db) -> None:
    station = _unit(db, "620104-01")
    body = {"username": "x1", "display_name": "X", "role": "sheriff", "unit_id": station.id, "password": "short"}
    r = personas.browser("admin").post("/api/v1/users", json=body, headers=personas.headers("admin"))
    assert r.status_code == 422
    assert "role" in {e["field"] for e in r.json()["errors"]}


def test_disabling_a_user_ends_their_sessions(personas, db) -> None:
    station_browser = personas.browser("station")
    assert station_browser.get("/people").status_code == 200
    with db.sessions() as s:
        user = s.execute(select(User).where(User.username == "station")).unique().scalar_one()
    body = {"username": "station", "display_name": user.display_name, "role": "station", "unit_id": user.unit_id,
            "active": False}
    r = personas.browser("admin").put(f"/api/v1/users/{user.id}", json=body, headers=personas.headers("admin"))
    assert r.status_code == 200
    assert station_browser.get("/people", follow_redirects=False).status_code == 303


def test_admin_pages_create_a_unit(personas, db) -> None:
    c = personas.browser("admin")
    district = _unit(db, "620105")
    assert "安宁分局" in c.get("/admin/units").text
    r = c.post("/admin/units/new", data={"name": "银滩派出所", "code": "620105-77", "kind": "station",
                                          "parent_id": str(district.id), "areas": "银滩社区\n", "csrf_token": csrf(c)},
               follow_redirects=False)
    assert r.status_code == 303
    assert "银滩社区" in c.get("/admin/units").text
    bad = c.post("/admin/units/new", data={"name": "", "code": "", "kind": "station", "parent_id": str(district.id),
                                            "csrf_token": csrf(c)})
    assert bad.status_code == 422 and "请填写名称" in bad.text
