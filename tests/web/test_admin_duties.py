"""Issue 17, finding 3: separation of duties in user administration."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from fangkong.core.audit import AuditEntry
from fangkong.core.models import Unit, User


def _ids(db) -> tuple[int, User]:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        station = s.execute(select(Unit.id).where(Unit.code == "620104-01")).scalar_one()
        user = s.execute(select(User).where(User.username == "station")).unique().scalar_one()
    return station, user


def _body(user: User, **change: object) -> dict[str, object]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "unit_id": user.unit_id, "active": True, **change}


def test_admin_cannot_create_a_command_user(personas, db) -> None:
    station, _ = _ids(db)
    body = {"username": "mole", "display_name": "鼹鼠", "role": "command", "unit_id": station,
            "password": "a-long-password"}
    r = personas.browser("admin").post("/api/v1/users", json=body, headers=personas.headers("admin"))
    assert r.status_code == 403 and r.json()["detail"] != r.json()["title"]  # says who may


def test_admin_cannot_turn_an_auditor_into_a_station_officer(personas, db) -> None:
    with db.sessions() as s:
        auditor = s.execute(select(User).where(User.username == "auditor")).unique().scalar_one()
    r = personas.browser("admin").put(f"/api/v1/users/{auditor.id}", json=_body(auditor, role="station"),
                                      headers=personas.headers("admin"))
    assert r.status_code == 403


def test_command_grants_a_personal_data_role(personas, db) -> None:
    station, _ = _ids(db)
    body = {"username": "li.na", "display_name": "李娜", "role": "station", "unit_id": station,
            "password": "a-long-password"}
    r = personas.browser("command").post("/api/v1/users", json=body, headers=personas.headers("command"))
    assert r.status_code == 201, r.text


def test_password_reset_is_audited_and_revokes_api_tokens(personas, db) -> None:
    _, user = _ids(db)
    token = personas.headers("station")
    with TestClient(personas.app) as c:
        assert c.get("/api/v1/persons", headers=token).status_code == 200
        r = personas.browser("admin").put(f"/api/v1/users/{user.id}", json=_body(user, password="another-long-one"),
                                          headers=personas.headers("admin"))
        assert r.status_code == 200, r.text
        assert c.get("/api/v1/persons", headers=token).status_code == 401
    with db.sessions() as s:
        actions = set(s.execute(select(AuditEntry.action).where(AuditEntry.object_type == "users",
                                                                AuditEntry.object_id == str(user.id))).scalars())
    assert "password_reset" in actions


def test_role_change_and_deactivation_are_audited_and_revoke_tokens(personas, db) -> None:
    _, user = _ids(db)
    token = personas.headers("station")
    r = personas.browser("command").put(f"/api/v1/users/{user.id}", json=_body(user, role="district"),
                                        headers=personas.headers("command"))
    assert r.status_code == 200, r.text
    with TestClient(personas.app) as c:
        assert c.get("/api/v1/persons", headers=token).status_code == 401
    r = personas.browser("admin").put(f"/api/v1/users/{user.id}", json=_body(user, role="district", active=False),
                                      headers=personas.headers("admin"))
    assert r.status_code == 200, r.text
    with db.sessions() as s:
        actions = set(s.execute(select(AuditEntry.action).where(AuditEntry.object_id == str(user.id),
                                                                AuditEntry.object_type == "users")).scalars())
    assert {"role_change", "deactivate"} <= actions
