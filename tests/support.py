"""Helpers shared by tests: log in as a demo persona, by browser session or API token."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fangkong.demo.build import DEMO_PASSWORD


class Personas:
    """Log in as a demo user, by browser session (cookies) or by API token."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self._tokens: dict[str, str] = {}

    def browser(self, username: str) -> TestClient:
        c = TestClient(self.app, base_url="http://testserver")
        login(c, username)
        return c

    def headers(self, username: str) -> dict[str, str]:
        if username not in self._tokens:
            with TestClient(self.app) as c:
                r = c.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
                assert r.status_code == 200, r.text
                self._tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}


def csrf(c: TestClient) -> str:
    """Return the client's CSRF cookie, fetching a page first if it has none."""
    if "fk_csrf" not in c.cookies:
        c.get("/login")
    return c.cookies["fk_csrf"]


def login(c: TestClient, username: str, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": csrf(c), "next": "/"},
               follow_redirects=False)
    return r
