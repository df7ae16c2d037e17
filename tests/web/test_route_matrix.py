"""Every route, every role: who may use it, and what everyone else gets.

The matrix must name every route the app serves; adding a route without deciding who may use it
fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from tests.support import Personas, csrf

ROLES = ("admin", "auditor", "command", "district", "station", "checkpoint", "health", "community")
PUBLIC = "public"
ANY_USER = frozenset(ROLES)
PERSON_READERS = frozenset({"command", "district", "station", "health"})
PERSON_WRITERS = frozenset({"command", "station"})
ADMIN = frozenset({"admin"})
LEAD_READERS = frozenset({"command", "district", "station", "community"})
LEAD_INTAKE = frozenset({"command", "district"})
LEAD_VERIFIERS = frozenset({"command", "district", "station"})  # on a police leg
COMMAND = frozenset({"command"})  # objects held at the city level
CP_LIST = frozenset({"checkpoint", "command", "district", "admin"})
CP_READ = frozenset({"checkpoint", "command", "district"})
CP_WRITE = frozenset({"checkpoint"})
CP_MANAGE = frozenset({"admin", "command"})
REFERRAL_READERS = frozenset({"health", "checkpoint", "command", "district"})
HEALTH = frozenset({"health"})
AUDITOR = frozenset({"auditor"})
VENUE_READERS = frozenset({"admin", "command", "district", "station", "community"})  # community: compounds only
VENUE_MANAGERS = frozenset({"admin", "command", "station"})
VISIT_READERS = frozenset({"command", "district", "station", "community"})
INSPECTORS = frozenset({"command", "station"})

# Roles that hold the permission but not the object (it lies outside their jurisdiction): their request
# body is validated before the use case looks the object up, so 422 is as good as 404 for them.
SCOPE_ONLY = {("POST", "/api/v1/leads/{lead_id}/assign"): {"district"},
              ("POST", "/api/v1/leads/{lead_id}/legs/{leg_id}/verify"): {"community"}}  # a police leg

# (method, path template) -> (concrete path, roles allowed or PUBLIC)
MATRIX: dict[tuple[str, str], tuple[str, frozenset[str] | str]] = {
    ("GET", "/healthz"): ("/healthz", PUBLIC),
    ("GET", "/login"): ("/login", PUBLIC),
    ("POST", "/login"): ("/login", PUBLIC),
    ("POST", "/logout"): ("/logout", PUBLIC),
    ("GET", "/"): ("/", ANY_USER),
    # The public check-in first: later rows disable and rotate the same venue's code.
    ("GET", "/v/{token}"): ("/v/{venue_code}", PUBLIC),
    ("POST", "/v/{token}"): ("/v/{venue_code}", PUBLIC),
    ("POST", "/v/{token}/checkout"): ("/v/{venue_code}/checkout", PUBLIC),
    ("GET", "/api/docs"): ("/api/docs", PUBLIC),
    ("GET", "/api/openapi.json"): ("/api/openapi.json", PUBLIC),
    ("POST", "/api/v1/auth/token"): ("/api/v1/auth/token", PUBLIC),
    ("GET", "/api/v1/me"): ("/api/v1/me", ANY_USER),
    ("GET", "/people"): ("/people", PERSON_READERS),
    ("GET", "/people/new"): ("/people/new", PERSON_WRITERS),
    ("POST", "/people/new"): ("/people/new", PERSON_WRITERS),
    ("GET", "/people/{person_id}"): ("/people/{own_person}", PERSON_READERS),
    ("POST", "/people/{person_id}/reveal"): ("/people/{own_person}/reveal", PERSON_READERS),
    ("POST", "/people/{person_id}/status"): ("/people/{own_person}/status", PERSON_READERS),
    ("GET", "/people/status"): ("/people/status", PERSON_READERS),
    ("POST", "/people/status/release"): ("/people/status/release", HEALTH),
    ("GET", "/api/v1/persons/{person_id}/status"): ("/api/v1/persons/{own_person}/status", PERSON_READERS),
    ("POST", "/api/v1/persons/{person_id}/status"): ("/api/v1/persons/{own_person}/status", PERSON_READERS),
    ("POST", "/api/v1/persons/{person_id}/release"): ("/api/v1/persons/{own_person}/release", HEALTH),
    ("GET", "/api/v1/persons"): ("/api/v1/persons", PERSON_READERS),
    ("POST", "/api/v1/persons"): ("/api/v1/persons", PERSON_WRITERS),
    ("GET", "/api/v1/persons/{person_id}"): ("/api/v1/persons/{own_person}", PERSON_READERS),
    ("POST", "/api/v1/persons/{person_id}/reveal"): ("/api/v1/persons/{own_person}/reveal", PERSON_READERS),
    ("GET", "/admin/units"): ("/admin/units", ADMIN),
    ("GET", "/admin/units/new"): ("/admin/units/new", ADMIN),
    ("POST", "/admin/units/new"): ("/admin/units/new", ADMIN),
    ("GET", "/admin/units/{unit_id}"): ("/admin/units/{station_unit}", ADMIN),
    ("POST", "/admin/units/{unit_id}"): ("/admin/units/{station_unit}", ADMIN),
    ("GET", "/admin/users"): ("/admin/users", ADMIN),
    ("GET", "/admin/users/new"): ("/admin/users/new", ADMIN),
    ("POST", "/admin/users/new"): ("/admin/users/new", ADMIN),
    ("GET", "/admin/users/{user_id}"): ("/admin/users/{station_user}", ADMIN),
    ("POST", "/admin/users/{user_id}"): ("/admin/users/{station_user}", ADMIN),
    ("GET", "/api/v1/units"): ("/api/v1/units", ADMIN),
    ("POST", "/api/v1/units"): ("/api/v1/units", ADMIN),
    ("PUT", "/api/v1/units/{unit_id}"): ("/api/v1/units/{station_unit}", ADMIN),
    ("GET", "/api/v1/users"): ("/api/v1/users", ADMIN),
    ("POST", "/api/v1/users"): ("/api/v1/users", ADMIN),
    ("PUT", "/api/v1/users/{user_id}"): ("/api/v1/users/{station_user}", ADMIN),
    ("GET", "/leads"): ("/leads", LEAD_READERS),
    ("GET", "/leads/import"): ("/leads/import", LEAD_INTAKE),
    ("POST", "/leads/import"): ("/leads/import", LEAD_INTAKE),
    ("POST", "/leads/import/remap"): ("/leads/import/remap", LEAD_INTAKE),
    ("POST", "/leads/import/confirm"): ("/leads/import/confirm", LEAD_INTAKE),
    ("GET", "/leads/batches"): ("/leads/batches", LEAD_INTAKE),
    ("GET", "/leads/batches/{batch_id}"): ("/leads/batches/{batch}", COMMAND),
    ("GET", "/leads/batches/{batch_id}/feedback"): ("/leads/batches/{batch}/feedback", COMMAND),
    ("GET", "/leads/manual"): ("/leads/manual", LEAD_INTAKE),
    ("GET", "/leads/rates"): ("/leads/rates", LEAD_READERS),
    ("GET", "/leads/new"): ("/leads/new", LEAD_INTAKE),
    ("POST", "/leads/new"): ("/leads/new", LEAD_INTAKE),
    ("GET", "/leads/{lead_id}"): ("/leads/{lead}", LEAD_READERS),
    ("POST", "/leads/{lead_id}/legs/{leg_id}/verify"): ("/leads/{lead}/legs/{leg}/verify", LEAD_VERIFIERS),
    ("POST", "/leads/{lead_id}/assign"): ("/leads/{manual_lead}/assign", COMMAND),
    ("POST", "/api/v1/leads/batches"): ("/api/v1/leads/batches", LEAD_INTAKE),
    ("POST", "/api/v1/leads"): ("/api/v1/leads", LEAD_INTAKE),
    ("GET", "/api/v1/leads"): ("/api/v1/leads", LEAD_READERS),
    ("GET", "/api/v1/leads/{lead_id}"): ("/api/v1/leads/{lead}", LEAD_READERS),
    ("POST", "/api/v1/leads/{lead_id}/legs/{leg_id}/verify"): ("/api/v1/leads/{lead}/legs/{leg}/verify",
                                                                LEAD_VERIFIERS),
    ("POST", "/api/v1/leads/{lead_id}/assign"): ("/api/v1/leads/{manual_lead}/assign", COMMAND),
    ("GET", "/api/v1/leads/batches/{batch_id}/results"): ("/api/v1/leads/batches/{batch}/results", COMMAND),
    ("GET", "/checkpoints"): ("/checkpoints", CP_LIST),
    ("GET", "/checkpoints/{checkpoint_id}"): ("/checkpoints/{checkpoint}", CP_READ),
    ("POST", "/checkpoints/{checkpoint_id}/check"): ("/checkpoints/{checkpoint}/check", CP_WRITE),
    ("POST", "/checkpoints/{checkpoint_id}/passages"): ("/checkpoints/{checkpoint}/passages", CP_WRITE),
    ("GET", "/passages/{passage_id}"): ("/passages/{passage}", CP_WRITE),
    ("GET", "/checkpoints/{checkpoint_id}/import"): ("/checkpoints/{checkpoint}/import", CP_WRITE),
    ("POST", "/checkpoints/{checkpoint_id}/import"): ("/checkpoints/{checkpoint}/import", CP_WRITE),
    ("POST", "/checkpoints/{checkpoint_id}/import/confirm"): ("/checkpoints/{checkpoint}/import/confirm", CP_WRITE),
    ("POST", "/passages/{passage_id}"): ("/passages/{passage}", CP_WRITE),
    ("GET", "/checkpoints-admin/new"): ("/checkpoints-admin/new", CP_MANAGE),
    ("POST", "/checkpoints-admin/new"): ("/checkpoints-admin/new", CP_MANAGE),
    ("GET", "/checkpoints-admin/{checkpoint_id}"): ("/checkpoints-admin/{checkpoint}", CP_MANAGE),
    ("POST", "/checkpoints-admin/{checkpoint_id}"): ("/checkpoints-admin/{checkpoint}", CP_MANAGE),
    ("GET", "/risk-areas"): ("/risk-areas", CP_MANAGE),
    ("POST", "/risk-areas"): ("/risk-areas", CP_MANAGE),
    ("POST", "/risk-areas/{area_id}/end"): ("/risk-areas/{risk_area}/end", CP_MANAGE),
    ("GET", "/referrals"): ("/referrals", REFERRAL_READERS),
    ("POST", "/referrals/{referral_id}/acknowledge"): ("/referrals/{referral}/acknowledge", HEALTH),
    ("GET", "/api/v1/checkpoints"): ("/api/v1/checkpoints", CP_LIST),
    ("POST", "/api/v1/checkpoints"): ("/api/v1/checkpoints", CP_MANAGE),
    ("POST", "/api/v1/checkpoints/{checkpoint_id}/passages"): ("/api/v1/checkpoints/{checkpoint}/passages", CP_WRITE),
    ("POST", "/api/v1/checkpoints/{checkpoint_id}/passages/check"): ("/api/v1/checkpoints/{checkpoint}/passages/check",
                                                                     CP_WRITE),
    ("PUT", "/api/v1/passages/{passage_id}"): ("/api/v1/passages/{passage}", CP_WRITE),
    ("GET", "/api/v1/checkpoints/{checkpoint_id}/flows"): ("/api/v1/checkpoints/{checkpoint}/flows", CP_READ),
    ("GET", "/api/v1/checkpoints/{checkpoint_id}/lanes"): ("/api/v1/checkpoints/{checkpoint}/lanes", CP_READ),
    ("GET", "/api/v1/risk-areas"): ("/api/v1/risk-areas", ANY_USER),
    ("POST", "/api/v1/risk-areas"): ("/api/v1/risk-areas", CP_MANAGE),
    ("GET", "/api/v1/referrals"): ("/api/v1/referrals", REFERRAL_READERS),
    ("POST", "/api/v1/referrals/{referral_id}/acknowledge"): ("/api/v1/referrals/{referral}/acknowledge", HEALTH),
    ("GET", "/venues"): ("/venues", VENUE_READERS),
    ("GET", "/venues/new"): ("/venues/new", VENUE_MANAGERS),
    ("POST", "/venues/new"): ("/venues/new", VENUE_MANAGERS),
    ("GET", "/venues/inspections"): ("/venues/inspections", VENUE_READERS),
    ("GET", "/venues/{venue_id}"): ("/venues/{venue}", VENUE_READERS),
    ("GET", "/venues/{venue_id}/edit"): ("/venues/{venue}/edit", VENUE_MANAGERS),
    ("POST", "/venues/{venue_id}/edit"): ("/venues/{venue}/edit", VENUE_MANAGERS),
    ("GET", "/venues/{venue_id}/poster"): ("/venues/{venue}/poster", VENUE_MANAGERS),
    ("GET", "/venues/{venue_id}/visits"): ("/venues/{venue}/visits", VISIT_READERS),
    ("POST", "/venues/{venue_id}/inspections"): ("/venues/{venue}/inspections", INSPECTORS),
    ("POST", "/venue-inspections/{inspection_id}/status"): ("/venue-inspections/{venue_inspection}/status",
                                                            INSPECTORS),
    ("GET", "/api/v1/venues"): ("/api/v1/venues", VENUE_READERS),
    ("POST", "/api/v1/venues"): ("/api/v1/venues", VENUE_MANAGERS),
    ("GET", "/api/v1/venues/{venue_id}"): ("/api/v1/venues/{venue}", VENUE_READERS),
    ("GET", "/api/v1/venues/{venue_id}/visits"): ("/api/v1/venues/{venue}/visits", VISIT_READERS),
    ("GET", "/api/v1/venues/{venue_id}/inspections"): ("/api/v1/venues/{venue}/inspections", VENUE_READERS),
    ("POST", "/api/v1/venues/{venue_id}/inspections"): ("/api/v1/venues/{venue}/inspections", INSPECTORS),
    ("POST", "/api/v1/venue-inspections/{inspection_id}/status"): (
        "/api/v1/venue-inspections/{venue_inspection}/status", INSPECTORS),
    ("GET", "/api/v1/venue-inspections/counts"): ("/api/v1/venue-inspections/counts", VENUE_READERS),
    ("PUT", "/api/v1/venues/{venue_id}"): ("/api/v1/venues/{venue}", VENUE_MANAGERS),
    ("POST", "/venues/{venue_id}/active"): ("/venues/{venue}/active", VENUE_MANAGERS),
    ("POST", "/venues/{venue_id}/rotate"): ("/venues/{venue}/rotate", VENUE_MANAGERS),
    ("POST", "/api/v1/venues/{venue_id}/rotate"): ("/api/v1/venues/{venue}/rotate", VENUE_MANAGERS),
    ("GET", "/audit"): ("/audit", AUDITOR),
    ("GET", "/audit/verify"): ("/audit/verify", AUDITOR),
    ("GET", "/api/v1/audit"): ("/api/v1/audit", AUDITOR),
    ("GET", "/api/v1/audit/verify"): ("/api/v1/audit/verify", AUDITOR),
}


def app_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found: set[tuple[str, str]] = set()

    def walk(routes) -> None:  # type: ignore[no-untyped-def]
        for route in routes:
            if isinstance(route, Mount):
                continue  # static files
            if hasattr(route, "original_router"):  # an included router (FastAPI ≥ 0.160)
                walk(route.original_router.routes)
                continue
            assert isinstance(route, Route | APIRoute), route
            found.update((m, route.path) for m in route.methods or () if m != "HEAD")

    walk(app.routes)
    return found


def test_every_route_is_in_the_matrix(app) -> None:  # type: ignore[no-untyped-def]
    routes = app_routes(app)
    assert routes - MATRIX.keys() == set(), "routes without a decision on who may use them"
    assert MATRIX.keys() - routes == set(), "matrix rows for routes that no longer exist"


def _concrete(path: str, ids: dict[str, int]) -> str:
    return path.format(**ids)


@pytest.fixture
def ids(db, personas: Personas) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Objects inside the `station` persona's jurisdiction, a two-leg lead there, a manual-queue lead."""
    from sqlalchemy import select

    from fangkong.core.models import User
    from fangkong.people.models import Person

    with db.sessions() as s:
        station = s.execute(select(User).where(User.username == "station")).scalar_one()
        person = s.execute(select(Person.id).where(Person.unit_id == station.unit_id).limit(1)).scalar_one()
    leads = [{"name": "矩阵", "phone": "13800000001", "current_address": "兰州市城关区酒泉路街道庆阳路1号"},
             {"name": "矩阵二", "phone": "13800000002", "current_address": "不详"}]
    pushed = personas.browser("command").post(
        "/api/v1/leads/batches", json={"source": "矩阵", "two_legs": True, "leads": leads},
        headers=personas.headers("command")).json()
    lead = personas.browser("command").get(f"/api/v1/leads/{pushed['lead_ids'][0]}",
                                           headers=personas.headers("command")).json()
    police_leg = next(leg["id"] for leg in lead["legs"] if leg["kind"] == "police")
    from fangkong.checkpoints.models import Checkpoint, RiskArea

    with db.sessions() as s:
        checkpoint = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
        risk_area = s.execute(select(RiskArea.id).limit(1)).scalar_one()
    passage = personas.browser("checkpoint").post(
        f"/api/v1/checkpoints/{checkpoint}/passages", headers=personas.headers("checkpoint"),
        json={"client_id": "matrix-1", "plate": "甘A12345", "people": [
            {"name": "发热者", "id_number": "11010519491231002X", "temperature_c": 38.2, "disposition": "referred",
             "role": "driver"}]}).json()
    referral = personas.browser("health").get("/api/v1/referrals", headers=personas.headers("health")).json()[0]["id"]
    from fangkong.registration.models.venues import Inspection, Venue

    with db.sessions() as s:  # a compound in the station's area (community cadres see compounds only)
        venue = s.execute(select(Venue).where(Venue.kind == "residential_compound", Venue.unit_id == station.unit_id)
                          .order_by(Venue.id).limit(1)).scalar_one()
        inspection = s.execute(select(Inspection.id).order_by(Inspection.id).limit(1)).scalar_one()
    return {"own_person": person, "station_unit": station.unit_id, "station_user": station.id,
            "checkpoint": checkpoint, "risk_area": risk_area, "passage": passage["id"], "referral": referral,
            "lead": lead["id"], "leg": police_leg, "manual_lead": pushed["lead_ids"][1],
            "batch": pushed["batch_id"], "venue": venue.id, "venue_code": venue.token,
            "venue_inspection": inspection}


def _call(client, method: str, path: str, api: bool, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    if api:
        return client.request(method, path, headers=headers, json={} if method != "GET" else None,
                              follow_redirects=False)
    data = {"csrf_token": csrf(client)} if method != "GET" else None
    return client.request(method, path, data=data, follow_redirects=False)


@pytest.mark.parametrize("role", ROLES)
def test_role_gets_exactly_what_the_matrix_allows(role: str, app, personas: Personas, ids) -> None:  # type: ignore[no-untyped-def]
    browser = personas.browser(role)
    headers = personas.headers(role)
    for (method, template), (path, allowed) in MATRIX.items():
        if template in ("/logout", "/login", "/api/v1/auth/token"):
            continue  # they change who is logged in; tested in test_shell
        api = path.startswith("/api/")
        r = _call(browser, method, _concrete(path, ids), api, headers)
        where = f"{role} {method} {template}"
        if allowed == PUBLIC or role in allowed:
            assert r.status_code not in (401, 403, 404, 500), f"{where}: {r.status_code} {r.text[:200]}"
        elif role in SCOPE_ONLY.get((method, template), ()):
            assert r.status_code in (404, 422), f"{where}: {r.status_code}"
        else:
            assert r.status_code in (403, 404), f"{where}: {r.status_code}"


def test_anonymous_is_sent_to_login_or_told_401(client, ids) -> None:  # type: ignore[no-untyped-def]
    for (method, template), (path, allowed) in MATRIX.items():
        if allowed == PUBLIC:
            continue
        api = path.startswith("/api/")
        r = _call(client, method, _concrete(path, ids), api, {})
        where = f"anonymous {method} {template}"
        if api:
            assert r.status_code == 401, where
            assert r.headers["content-type"].startswith("application/problem+json"), where
        elif method == "GET":
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), where
        else:
            assert r.status_code == 401, where
