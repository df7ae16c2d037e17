"""CSRF on the API (issue 17, finding 7): a cookie-authenticated state change needs the session's token.

Before, the API accepted the session cookie without any CSRF token (body-less POSTs such as rotating a
venue code, rejecting a review pair, dispatching a trace: SameSite=Lax was the only barrier), and the
forms' token was a cookie value not bound to the session.
"""

from __future__ import annotations

from sqlalchemy import select

from fangkong.demo.build import DEMO_PASSWORD
from tests.support import Personas, csrf, login


def _venue(db) -> int:  # type: ignore[no-untyped-def]
    from fangkong.core.models import User
    from fangkong.registration.venues.models import Venue

    with db.sessions() as s:
        station = s.execute(select(User).where(User.username == "station")).scalar_one()
        return s.execute(select(Venue.id).where(Venue.unit_id == station.unit_id).order_by(Venue.id)
                         .limit(1)).scalar_one()


def _person(db) -> int:  # type: ignore[no-untyped-def]
    from fangkong.people.models import Person

    with db.sessions() as s:
        return s.execute(select(Person.id).order_by(Person.id).limit(1)).scalar_one()


def test_body_less_api_posts_by_cookie_need_the_csrf_header(personas: Personas, db) -> None:
    station, health = personas.browser("station"), personas.browser("health")
    rotate = f"/api/v1/venues/{_venue(db)}/rotate"
    dispatch = f"/api/v1/tracing/cases/{_person(db)}/dispatch"
    assert station.post(rotate).status_code == 403
    assert health.post(dispatch).status_code == 403
    assert station.post("/api/v1/persons/review/1/reject").status_code == 403
    assert station.post(rotate, headers={"X-CSRF-Token": csrf(station)}).status_code == 200


def test_a_bearer_token_needs_no_csrf_token(personas: Personas, db) -> None:
    r = personas.browser("station").post(f"/api/v1/venues/{_venue(db)}/rotate", headers=personas.headers("station"))
    assert r.status_code == 200


def test_the_csrf_token_is_bound_to_the_session(app, personas: Personas, db) -> None:
    """A token from another login (or planted before login) is refused, on forms and on the API."""
    from fastapi.testclient import TestClient

    attacker = personas.browser("station")
    stolen = csrf(attacker)
    victim = TestClient(app, base_url="http://testserver")
    planted = csrf(victim)  # the attacker can know a pre-login token (e.g. set it on a shared device)
    assert login(victim, "station").status_code == 303
    assert csrf(victim) not in (planted, stolen)
    rotate = f"/api/v1/venues/{_venue(db)}/rotate"
    for token in (stolen, planted):
        assert victim.post(rotate, headers={"X-CSRF-Token": token}).status_code == 403
        r = victim.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 403
    assert victim.post(rotate, headers={"X-CSRF-Token": csrf(victim)}).status_code == 200


def test_reads_by_cookie_need_no_csrf_token(personas: Personas) -> None:
    assert personas.browser("station").get("/api/v1/me").status_code == 200


def test_login_still_works_with_the_pre_login_token(app) -> None:
    from fastapi.testclient import TestClient

    c = TestClient(app, base_url="http://testserver")
    r = c.post("/login", data={"username": "station", "password": DEMO_PASSWORD, "csrf_token": csrf(c), "next": "/"},
               follow_redirects=False)
    assert r.status_code == 303 and c.get("/").status_code == 200
