"""Login, home pages per role, language, logout, lockout, inactivity, CSRF, headers, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from fangkong.core.db import utcnow
from fangkong.core.models import User, UserSession
from tests.support import csrf, login


def test_health_endpoint_answers(client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_login_page_is_in_chinese_by_default_and_english_on_request(client) -> None:
    assert "登录" in client.get("/login").text
    r = client.get("/login?lang=en")
    assert "Log in" in r.text and "登录" not in r.text
    assert "Log in" in client.get("/login").text, "the choice is remembered in a cookie"


@pytest.mark.parametrize(("username", "expect"), [
    ("command", "人员档案"), ("district", "人员档案"), ("station", "人员档案"), ("health", "人员档案"),
    ("admin", "单位"), ("auditor", "审计日志"), ("checkpoint", "卡口民警"), ("community", "社区干部"),
])
def test_each_role_lands_on_its_home_page(client, username: str, expect: str) -> None:
    r = login(client, username)
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert expect in home.text


def test_admin_home_has_no_person_data(client) -> None:
    login(client, "admin")
    home = client.get("/").text
    assert "/people" not in home


def test_logout_ends_the_session(client) -> None:
    login(client, "station")
    assert client.get("/people").status_code == 200
    r = client.post("/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    r = client.get("/people", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client) -> None:
    bad_user = login(client, "nobody", "whatever-password")
    bad_pass = login(client, "station", "whatever-password")
    assert bad_user.status_code == bad_pass.status_code == 401
    assert "用户名或密码错误" in bad_user.text and "用户名或密码错误" in bad_pass.text


def test_repeated_wrong_passwords_lock_the_username_for_that_address(client, settings, db) -> None:
    for _ in range(settings.login_max_failures):
        assert login(client, "station", "wrong-password-x").status_code == 401
    r = login(client, "station")  # the right password, too late, from the same address
    assert r.status_code == 429
    assert "Retry-After" in r.headers
    api = client.post("/api/v1/auth/token", json={"username": "station", "password": "fangkong-demo"})
    assert api.status_code == 429 and api.json()["status"] == 429
    with db.sessions() as s:  # the account itself is not locked: five requests from afar cannot lock anyone out
        assert s.execute(select(User.locked_until).where(User.username == "station")).scalar() is None


def test_idle_session_is_logged_out(client, settings, db) -> None:
    login(client, "station")
    assert client.get("/people").status_code == 200
    with db.sessions() as s, s.begin():
        s.execute(update(UserSession).values(
            last_seen_at=utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)))
    r = client.get("/people", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_form_without_csrf_token_is_refused(client) -> None:
    login(client, "station")
    r = client.post("/people/new", data={"name": "张三"}, follow_redirects=False)
    assert r.status_code == 403


def test_pages_carry_security_headers(client) -> None:
    r = client.get("/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-request-id"]


def test_unknown_page_is_a_friendly_404_and_unknown_api_route_is_problem_json(client) -> None:
    page = client.get("/no-such-page", headers={"accept": "text/html"})
    assert page.status_code == 404 and "未找到" in page.text and "Traceback" not in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["status"] == 404


def test_login_does_not_redirect_off_site(client) -> None:
    r = client.post("/login", data={"username": "station", "password": "fangkong-demo", "csrf_token": csrf(client),
                                    "next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_openapi_docs_are_served_by_the_app(client) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/persons" in spec["paths"]
    assert "swagger-ui-bundle.js" in client.get("/api/docs").text
